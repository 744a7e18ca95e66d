import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, FILE_TOO_LARGE, NETWORK_ERROR, uploadMedia } from './client'
import type { Media } from './types'

/** An XMLHttpRequest the test plays the server for. */
class FakeXhr {
  static last: FakeXhr
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: FormData | null = null
  status = 0
  statusText = ''
  responseText = ''
  aborted = false
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = {
    onprogress: null,
  }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null

  constructor() {
    FakeXhr.last = this
  }
  open(method: string, url: string): void {
    this.method = method
    this.url = url
  }
  setRequestHeader(k: string, v: string): void {
    this.headers[k] = v
  }
  send(body: FormData): void {
    this.body = body
  }
  abort(): void {
    this.aborted = true
    this.onabort?.()
  }
  progress(loaded: number, total: number): void {
    this.upload.onprogress?.({ lengthComputable: true, loaded, total })
  }
  respond(status: number, body: unknown, statusText = ''): void {
    this.status = status
    this.statusText = statusText
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body)
    this.onload?.()
  }
}

const media: Media = { id: 'm1', url: '/api/media/m1', mime: 'audio/webm', size: 3, duration_ms: 3000, waveform: [1, 2] }

beforeEach(() => vi.stubGlobal('XMLHttpRequest', FakeXhr))
afterEach(() => vi.unstubAllGlobals())

describe('uploadMedia', () => {
  it('posts the file and its fields as multipart, reports progress and returns the media', async () => {
    const progress: number[] = []
    const blob = new Blob(['abc'], { type: 'audio/webm' })
    const p = uploadMedia(
      { file: blob, filename: 'voice.webm', conversationId: 'lobby', kind: 'voice', durationMs: 3000.4, waveform: [1, 2] },
      { onProgress: (f) => progress.push(f) },
    )
    const xhr = FakeXhr.last
    expect([xhr.method, xhr.url]).toEqual(['POST', '/api/media'])
    const form = xhr.body!
    expect(form.get('conversation_id')).toBe('lobby')
    expect(form.get('kind')).toBe('voice')
    expect(form.get('duration_ms')).toBe('3000')
    expect(form.get('waveform')).toBe('[1,2]')
    expect((form.get('file') as File).name).toBe('voice.webm')
    expect([...form.keys()].at(-1)).toBe('file')
    xhr.progress(1, 4)
    xhr.progress(3, 4)
    xhr.respond(201, { media })
    await expect(p).resolves.toEqual(media)
    expect(progress).toEqual([0.25, 0.75, 1])
  })

  it('sends no duration or waveform for a picture', async () => {
    const p = uploadMedia({ file: new Blob(['x']), filename: 'a.png', conversationId: 'dm1', kind: 'image' })
    const form = FakeXhr.last.body!
    expect(form.has('duration_ms')).toBe(false)
    expect(form.has('waveform')).toBe(false)
    FakeXhr.last.respond(201, { media: { ...media, id: 'img' } })
    await expect(p).resolves.toMatchObject({ id: 'img' })
  })

  it("rejects with the server's error code", async () => {
    const p = uploadMedia({ file: new Blob(['x']), filename: 'a.png', conversationId: 'lobby', kind: 'image' })
    FakeXhr.last.respond(415, { error: { code: 'image_unsupported', message: 'Only JPEG…', field: 'file' } })
    const err = await p.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 415, code: 'image_unsupported', field: 'file' })
  })

  it('names a bare 413 (a proxy refused the body) and a network failure', async () => {
    const p1 = uploadMedia({ file: new Blob(['x']), filename: 'a.png', conversationId: 'lobby', kind: 'image' })
    FakeXhr.last.respond(413, '<html>Request Entity Too Large</html>', 'Request Entity Too Large')
    await expect(p1).rejects.toMatchObject({ code: FILE_TOO_LARGE })
    const p2 = uploadMedia({ file: new Blob(['x']), filename: 'a.png', conversationId: 'lobby', kind: 'image' })
    FakeXhr.last.onerror?.()
    await expect(p2).rejects.toMatchObject({ code: NETWORK_ERROR })
  })

  it('aborts with the signal', async () => {
    const abort = new AbortController()
    const p = uploadMedia({ file: new Blob(['x']), filename: 'a.png', conversationId: 'lobby', kind: 'image' }, { signal: abort.signal })
    abort.abort()
    expect(FakeXhr.last.aborted).toBe(true)
    await expect(p).rejects.toMatchObject({ name: 'AbortError' })
  })
})
