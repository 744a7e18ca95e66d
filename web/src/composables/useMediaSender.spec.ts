import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as api from '@/api/client'
import type { Media } from '@/api/types'
import { useAuthStore } from '@/stores/auth'
import { useMessagesStore } from '@/stores/messages'
import { useUiStore } from '@/stores/ui'
import { FakeSocket, alice, lobby, msg } from '@/test/chatFixtures'
import { createChatSocket, type ChatSocket } from './useChatSocket'
import { createMediaSender, type MediaSender } from './useMediaSender'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return {
    ...real,
    listConversations: vi.fn(),
    listMessages: vi.fn(),
    markRead: vi.fn(),
    getPresence: vi.fn(),
    getUser: vi.fn(),
  }
})

/** An upload the test finishes by hand. */
interface Upload {
  input: api.UploadInput
  progress: (f: number) => void
  signal: AbortSignal
  resolve: (m: Media) => void
  reject: (e: unknown) => void
}

let uploads: Upload[]
let chat: ChatSocket
let sender: MediaSender
let ids: number

const image = (id = 'img1'): Media => ({ id, url: `/api/media/${id}`, thumbnail_url: `/api/media/${id}/thumbnail`, mime: 'image/png', size: 10, width: 640, height: 480 })

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

beforeEach(async () => {
  vi.useFakeTimers()
  setActivePinia(createPinia())
  FakeSocket.reset()
  uploads = []
  ids = 0
  useAuthStore().user = alice
  useUiStore().visible = true
  vi.mocked(api.listConversations).mockResolvedValue([lobby()])
  vi.mocked(api.getPresence).mockResolvedValue({ online_count: 1, users: [] })
  vi.mocked(api.listMessages).mockResolvedValue({ messages: [msg(1)], has_more: false })
  chat = createChatSocket({
    url: () => 'ws://test/ws',
    createSocket: (u) => new FakeSocket(u),
    newClientId: () => `text-${++ids}`,
    onHiddenMessage: () => undefined,
    events: new EventTarget(),
    isOnline: () => true,
  })
  chat.start()
  FakeSocket.last.ready()
  await flush()
  sender = createMediaSender({
    chat,
    newClientId: () => `cid-${++ids}`,
    upload: (input, opts = {}) =>
      new Promise<Media>((resolve, reject) => {
        const signal = opts.signal ?? new AbortController().signal
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
        uploads.push({ input, progress: (f) => opts.onProgress?.(f), signal, resolve, reject })
      }),
  })
})

afterEach(() => {
  chat.stop()
  vi.useRealTimers()
})

const photo = () => ({ file: new File(['png'], 'cat.png', { type: 'image/png' }), width: 640, height: 480 })

describe('sending pictures and voice', () => {
  it('shows the picture at once, uploads it with progress, then sends its media id', async () => {
    const store = useMessagesStore()
    const picked = photo()
    const id = sender.sendImage('lobby', picked)
    const pending = store.view('lobby').pending[0]!
    expect(pending).toMatchObject({ client_id: id, kind: 'image', status: 'uploading' })
    expect(pending.attachment).toMatchObject({ file: picked.file, width: 640, height: 480, progress: 0 })
    expect(uploads[0]!.input).toMatchObject({ conversationId: 'lobby', kind: 'image', filename: 'cat.png', file: picked.file })
    expect(FakeSocket.last.sentOfType('send')).toEqual([]) // nothing goes out before the upload is done

    uploads[0]!.progress(0.4)
    expect(store.view('lobby').pending[0]!.attachment!.progress).toBe(0.4)
    uploads[0]!.resolve(image())
    await flush()
    expect(FakeSocket.last.sentOfType('send')).toEqual([
      { type: 'send', client_id: id, conversation_id: 'lobby', kind: 'image', media_id: 'img1' },
    ])
    expect(store.view('lobby').pending[0]!.status).toBe('sending')

    const stored = msg(2, { sender: alice, client_id: id, kind: 'image', text: '', media: image() })
    FakeSocket.last.receive({ type: 'ack', client_id: id, message: stored })
    expect(store.view('lobby').pending).toEqual([])
    expect(store.view('lobby').items.at(-1)?.media?.id).toBe('img1')
  })

  it('sends a voice message with its duration and waveform', async () => {
    const blob = new Blob(['ogg'], { type: 'audio/ogg;codecs=opus' })
    const id = sender.sendVoice('lobby', { blob, mime: blob.type, durationMs: 3012, waveform: [0, 128, 255], capped: false })
    expect(uploads[0]!.input).toEqual({
      file: blob,
      filename: 'voice.ogg',
      conversationId: 'lobby',
      kind: 'voice',
      durationMs: 3012,
      waveform: [0, 128, 255],
    })
    uploads[0]!.resolve({ id: 'v1', url: '/api/media/v1', mime: 'audio/ogg', size: 3, duration_ms: 3012, waveform: [0, 128, 255] })
    await flush()
    expect(FakeSocket.last.sentOfType('send')).toEqual([
      { type: 'send', client_id: id, conversation_id: 'lobby', kind: 'voice', media_id: 'v1' },
    ])
  })

  it('a failed upload keeps the file: Retry uploads the same bytes again, no re-pick', async () => {
    const store = useMessagesStore()
    const picked = photo()
    const id = sender.sendImage('lobby', picked)
    uploads[0]!.progress(0.7)
    uploads[0]!.reject(new api.ApiError(0, api.NETWORK_ERROR, 'network error'))
    await flush()
    expect(store.view('lobby').pending[0]).toMatchObject({ status: 'failed', error: 'network_error' })
    expect(chat.state.value).toBe('open')

    sender.retry(id)
    expect(uploads).toHaveLength(2)
    expect(uploads[1]!.input.file).toBe(picked.file)
    expect(store.view('lobby').pending[0]).toMatchObject({ status: 'uploading', error: undefined })
    expect(store.view('lobby').pending[0]!.attachment!.progress).toBe(0)
    uploads[1]!.resolve(image('img2'))
    await flush()
    expect(FakeSocket.last.sentOfType('send').map((f) => f.media_id)).toEqual(['img2'])
  })

  it('a refused upload says why in its own words', async () => {
    sender.sendImage('lobby', photo())
    uploads[0]!.reject(new api.ApiError(415, 'image_unsupported', 'Only JPEG…'))
    await flush()
    expect(useMessagesStore().view('lobby').pending[0]).toMatchObject({ status: 'failed', error: 'image_unsupported' })
  })

  it('a send refused after the upload is retried with the same media; a lost media is uploaded again', async () => {
    const id = sender.sendImage('lobby', photo())
    uploads[0]!.resolve(image('img1'))
    await flush()
    FakeSocket.last.receive({ type: 'error', client_id: id, code: 'rate_limited', message: 'slow' })
    sender.retry(id)
    expect(uploads).toHaveLength(1)
    expect(FakeSocket.last.sentOfType('send').map((f) => [f.client_id, f.media_id])).toEqual([
      [id, 'img1'],
      [id, 'img1'],
    ])
    FakeSocket.last.receive({ type: 'error', client_id: id, code: 'media_not_found', message: 'gone' })
    sender.retry(id)
    expect(uploads).toHaveLength(2)
  })

  it('while offline the uploaded picture waits and goes out on reconnect; an upload under way is not sent early', async () => {
    const a = sender.sendImage('lobby', photo())
    const b = sender.sendImage('lobby', photo())
    FakeSocket.last.serverClose(1006)
    uploads[0]!.resolve(image('img1'))
    await flush()
    expect(useMessagesStore().findPending(a)?.status).toBe('queued')
    await vi.advanceTimersByTimeAsync(1000)
    FakeSocket.last.ready()
    const frames = FakeSocket.last.sentOfType('send')
    expect(frames.map((f) => f.client_id)).toEqual([a])
    expect(useMessagesStore().findPending(b)?.status).toBe('uploading')
  })

  it('Cancel stops the upload and drops the message', async () => {
    const id = sender.sendImage('lobby', photo())
    sender.cancel(id)
    expect(uploads[0]!.signal.aborted).toBe(true)
    await flush()
    expect(useMessagesStore().view('lobby').pending).toEqual([])
    expect(FakeSocket.last.sentOfType('send')).toEqual([])
  })
})
