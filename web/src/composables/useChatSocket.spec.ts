import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as api from '@/api/client'
import type { Message } from '@/api/types'
import { useAuthStore } from '@/stores/auth'
import { useConversationsStore } from '@/stores/conversations'
import { useMessagesStore } from '@/stores/messages'
import { RESYNC_JITTER_MS, RESYNC_QUIET_MS, usePresenceStore } from '@/stores/presence'
import { useTypingStore } from '@/stores/typing'
import { useUiStore } from '@/stores/ui'
import { FakeSocket, alice, bob, direct, lobby, msg, user } from '@/test/chatFixtures'
import { CLOSE_SESSION_ENDED, createChatSocket, type ChatSocket, type ChatSocketOptions } from './useChatSocket'

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

const BACKOFF = { initialMs: 500, maxMs: 10_000, stableMs: 10_000 }

/** A server holding `history` per conversation, answering listMessages like the real one. */
function serveHistory(history: Record<string, Message[]>, pageLimit = 200) {
  vi.mocked(api.listMessages).mockImplementation(async (id, q = {}) => {
    const all = history[id] ?? []
    const limit = Math.min(q.limit ?? 50, pageLimit)
    let sel: Message[]
    if (q.after !== undefined) sel = all.filter((m) => m.seq > q.after!).slice(0, limit)
    else if (q.before !== undefined) sel = all.filter((m) => m.seq < q.before!).slice(-limit)
    else sel = all.slice(-limit)
    const has_more =
      q.after !== undefined
        ? all.some((m) => m.seq > (sel[sel.length - 1]?.seq ?? q.after!))
        : all.some((m) => m.seq < (sel[0]?.seq ?? Infinity))
    return { messages: sel.map((m) => ({ ...m })), has_more }
  })
}

let ids = 0
let online = true
let sockets: ChatSocket[] = []
const events = new EventTarget()

function make(opts: ChatSocketOptions = {}): ChatSocket {
  const s = createChatSocket({
    url: () => 'ws://test/ws',
    createSocket: (url) => new FakeSocket(url),
    backoff: BACKOFF,
    random: () => 1, // no jitter: the delay is the full backoff step
    newClientId: () => `cid-${++ids}`,
    isOnline: () => online,
    events,
    onHiddenMessage: () => undefined,
    ...opts,
  })
  sockets.push(s)
  return s
}

/** Lets mocked requests resolve and their continuations run (fake timers do not block promises). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

beforeEach(() => {
  vi.clearAllMocks()
  vi.useFakeTimers()
  setActivePinia(createPinia())
  FakeSocket.reset()
  ids = 0
  online = true
  sockets = []
  sessionStorage.clear()
  useAuthStore().user = alice
  const ui = useUiStore()
  ui.visible = true
  ui.wide = true
  vi.mocked(api.listConversations).mockResolvedValue([lobby()])
  vi.mocked(api.getPresence).mockResolvedValue({ online_count: 1, users: [] })
  vi.mocked(api.markRead).mockResolvedValue()
  vi.mocked(api.getUser).mockImplementation(async (id) => user(id))
  serveHistory({})
})

afterEach(() => {
  for (const s of sockets) s.stop()
  vi.useRealTimers()
})

describe('connecting', () => {
  it('opens one socket to /ws and is open after the ready frame', async () => {
    const s = make()
    s.start()
    expect(FakeSocket.all).toHaveLength(1)
    expect(FakeSocket.last.url).toBe('ws://test/ws')
    expect(s.state.value).toBe('connecting')
    FakeSocket.last.ready(alice, 3)
    expect(s.state.value).toBe('open')
    expect(usePresenceStore().onlineCount).toBe(3)
    s.start() // a second start does nothing
    expect(FakeSocket.all).toHaveLength(1)
  })

  it('after ready loads the conversation list and presence and opens the lobby', async () => {
    serveHistory({ lobby: [msg(1), msg(2)] })
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    expect(api.listConversations).toHaveBeenCalledOnce()
    expect(api.getPresence).toHaveBeenCalledOnce()
    expect(useConversationsStore().activeId).toBe('lobby')
    expect(useMessagesStore().view('lobby').items.map((m) => m.seq)).toEqual([1, 2])
  })
})

describe('connecting in a presence burst', () => {
  it('takes the count at once and fetches the online list once the burst is over', async () => {
    const s = make()
    s.start()
    FakeSocket.last.receive({ type: 'ready', user: alice, online_count: 9000, presence_burst: true })
    await flush()
    expect(s.state.value).toBe('open')
    expect(usePresenceStore().onlineCount).toBe(9000)
    expect(api.listConversations).toHaveBeenCalledOnce() // the rest of the sync goes on
    expect(api.getPresence).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(RESYNC_QUIET_MS + RESYNC_JITTER_MS)
    expect(api.getPresence).toHaveBeenCalledOnce()
  })
})

describe('reconnecting', () => {
  it('backs off exponentially up to the cap', async () => {
    const s = make()
    s.start()
    const expected = [500, 1000, 2000, 4000, 8000, 10_000, 10_000]
    for (const delay of expected) {
      const before = FakeSocket.all.length
      FakeSocket.last.serverClose(1006)
      expect(s.state.value).toBe('reconnecting')
      vi.advanceTimersByTime(delay - 1)
      expect(FakeSocket.all.length, `no attempt before ${delay} ms`).toBe(before)
      vi.advanceTimersByTime(1)
      expect(FakeSocket.all.length, `an attempt after ${delay} ms`).toBe(before + 1)
    }
  })

  it('adds jitter: the delay lies between half and all of the step', () => {
    const s = make({ random: () => 0 })
    s.start()
    FakeSocket.last.serverClose(1006)
    vi.advanceTimersByTime(249)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(2)
    void s
  })

  it('starts from the first step again after a stable connection', () => {
    const s = make()
    s.start()
    for (let i = 0; i < 4; i++) {
      FakeSocket.last.serverClose(1006)
      vi.advanceTimersByTime(10_000)
    }
    expect(s.attempts.value).toBe(4)
    FakeSocket.last.ready()
    vi.advanceTimersByTime(BACKOFF.stableMs)
    expect(s.attempts.value).toBe(0)
    const before = FakeSocket.all.length
    FakeSocket.last.serverClose(1001)
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all).toHaveLength(before + 1)
  })

  it.each([1001, 1006, 1011, 4008, 1009])('reconnects after close code %i', (code) => {
    const s = make()
    s.start()
    FakeSocket.last.ready()
    FakeSocket.last.serverClose(code)
    expect(s.state.value).toBe('reconnecting')
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('4001 (session ended) logs out and never reconnects', () => {
    const s = make()
    s.start()
    FakeSocket.last.ready()
    FakeSocket.last.serverClose(CLOSE_SESSION_ENDED)
    expect(s.state.value).toBe('ended')
    const auth = useAuthStore()
    expect(auth.user).toBeNull()
    expect(auth.sessionEnded).toBe(true)
    vi.advanceTimersByTime(60_000)
    window.dispatchEvent(new Event('online'))
    events.dispatchEvent(new Event('online'))
    expect(FakeSocket.all).toHaveLength(1)
  })

  it('drops the socket when the browser goes offline and reconnects at once when it is back', () => {
    const s = make()
    s.start()
    FakeSocket.last.ready()
    online = false
    events.dispatchEvent(new Event('offline'))
    expect(s.state.value).toBe('reconnecting')
    expect(FakeSocket.last.closedWith).not.toBeNull()
    vi.advanceTimersByTime(30_000)
    expect(FakeSocket.all, 'no attempts while the browser says offline').toHaveLength(1)
    online = true
    events.dispatchEvent(new Event('online'))
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('gives up on an attempt that never gets ready', () => {
    const s = make({ handshakeTimeoutMs: 5000 })
    s.start()
    vi.advanceTimersByTime(5000)
    expect(s.state.value).toBe('reconnecting')
    expect(FakeSocket.all[0]!.closedWith).not.toBeNull()
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('stop closes the socket and makes no more attempts', () => {
    const s = make()
    s.start()
    FakeSocket.last.ready()
    s.stop()
    expect(FakeSocket.last.closedWith).toBe(1000)
    expect(s.state.value).toBe('idle')
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })
})

describe('catching up by seq', () => {
  it('after a reconnect fetches after= the last seq, page by page, and refreshes the list', async () => {
    const history = { lobby: [msg(1), msg(2), msg(3)] }
    serveHistory(history, 2)
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    const store = useMessagesStore()
    expect(store.view('lobby').items.map((m) => m.seq)).toEqual([2, 3])

    FakeSocket.last.serverClose(1006)
    history.lobby.push(msg(4), msg(5), msg(6), msg(7), msg(8))
    vi.mocked(api.listConversations).mockClear()
    vi.mocked(api.listMessages).mockClear()
    vi.advanceTimersByTime(500)
    FakeSocket.last.ready()
    await flush()
    expect(api.listConversations).toHaveBeenCalledOnce()
    const calls = vi.mocked(api.listMessages).mock.calls.map(([id, q]) => [id, q?.after])
    expect(calls).toEqual([
      ['lobby', 3],
      ['lobby', 5],
      ['lobby', 7],
    ])
    expect(store.view('lobby').items.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7, 8])
  })

  it('a message that skips seqs fetches the missing ones; a doubled one shows once', async () => {
    const history = { lobby: [msg(1), msg(2)] }
    serveHistory(history)
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    vi.mocked(api.listMessages).mockClear()
    history.lobby.push(msg(3), msg(4), msg(5))
    FakeSocket.last.receive({ type: 'message', message: msg(5) })
    await flush()
    expect(vi.mocked(api.listMessages).mock.calls.map(([, q]) => q?.after)).toEqual([2])
    FakeSocket.last.receive({ type: 'message', message: msg(4) }) // late duplicate
    FakeSocket.last.receive({ type: 'message', message: msg(5) })
    expect(useMessagesStore().view('lobby').items.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5])
  })

  it('the next message in line needs no request', async () => {
    serveHistory({ lobby: [msg(1)] })
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    vi.mocked(api.listMessages).mockClear()
    FakeSocket.last.receive({ type: 'message', message: msg(2) })
    await flush()
    expect(api.listMessages).not.toHaveBeenCalled()
    expect(useMessagesStore().view('lobby').items.map((m) => m.seq)).toEqual([1, 2])
  })
})

describe('sending', () => {
  async function openLobby(history: Message[] = []) {
    serveHistory({ lobby: history })
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    return s
  }

  it('shows a pending message, sends it with a client_id and replaces it by the ack', async () => {
    const s = await openLobby([msg(1)])
    const store = useMessagesStore()
    const id = s.sendText('lobby', '你好')
    expect(id).toBe('cid-1')
    expect(store.view('lobby').pending).toMatchObject([{ client_id: 'cid-1', text: '你好', status: 'sending' }])
    expect(FakeSocket.last.sentOfType('send')).toEqual([
      { type: 'send', client_id: 'cid-1', conversation_id: 'lobby', kind: 'text', text: '你好' },
    ])
    const stored = msg(2, { sender: alice, client_id: 'cid-1', text: '你好' })
    FakeSocket.last.receive({ type: 'ack', client_id: 'cid-1', message: stored })
    expect(store.view('lobby').pending).toEqual([])
    expect(store.view('lobby').items.map((m) => m.seq)).toEqual([1, 2])
    expect(useConversationsStore().find('lobby')?.last_message?.id).toBe(stored.id)
    expect(useConversationsStore().find('lobby')?.unread).toBe(0)
  })

  it('an error for a client_id marks it failed; retry resends the same client_id', async () => {
    const s = await openLobby()
    const store = useMessagesStore()
    s.sendText('lobby', 'too fast')
    FakeSocket.last.receive({ type: 'error', client_id: 'cid-1', code: 'rate_limited', message: 'slow down' })
    expect(store.view('lobby').pending[0]).toMatchObject({ status: 'failed', error: 'rate_limited' })
    s.retry('cid-1')
    const sends = FakeSocket.last.sentOfType('send')
    expect(sends.map((f) => f.client_id)).toEqual(['cid-1', 'cid-1'])
    expect(store.view('lobby').pending[0]).toMatchObject({ status: 'sending', error: undefined })
  })

  it('while offline a message stays pending and goes out on reconnect with its client_id', async () => {
    const s = await openLobby()
    const store = useMessagesStore()
    FakeSocket.last.serverClose(1006)
    s.sendText('lobby', 'typed offline')
    expect(store.view('lobby').pending[0]).toMatchObject({ status: 'queued' })
    vi.advanceTimersByTime(500)
    const next = FakeSocket.last
    expect(next.sent).toEqual([])
    next.ready()
    expect(next.sentOfType('send')).toEqual([
      { type: 'send', client_id: 'cid-1', conversation_id: 'lobby', kind: 'text', text: 'typed offline' },
    ])
    expect(store.view('lobby').pending[0]).toMatchObject({ status: 'sending' })
  })

  it('a message written to a socket that died is sent again with the same client_id', async () => {
    const s = await openLobby()
    s.sendText('lobby', 'maybe lost')
    const first = FakeSocket.last
    first.serverClose(1006)
    expect(useMessagesStore().view('lobby').pending[0]).toMatchObject({ status: 'queued' })
    vi.advanceTimersByTime(500)
    FakeSocket.last.ready()
    expect(FakeSocket.last.sentOfType('send').map((f) => f.client_id)).toEqual(['cid-1'])
  })

  it('an ack that arrives after catch-up already brought the message leaves one copy', async () => {
    const history = { lobby: [msg(1)] }
    const s = await openLobby(history.lobby)
    serveHistory(history)
    s.sendText('lobby', 'hi')
    const stored = msg(2, { sender: alice, client_id: 'cid-1', text: 'hi' })
    history.lobby.push(stored)
    FakeSocket.last.serverClose(1006)
    vi.advanceTimersByTime(500)
    FakeSocket.last.ready()
    await flush()
    const store = useMessagesStore()
    expect(store.view('lobby').pending).toEqual([]) // catch-up delivered it: the bubble is replaced
    FakeSocket.last.receive({ type: 'ack', client_id: 'cid-1', message: stored })
    expect(store.view('lobby').items.map((m) => m.id)).toEqual([msg(1).id, stored.id])
  })

  it('typing frames go out at most every 3 s per conversation', async () => {
    const s = await openLobby()
    s.sendTyping('lobby')
    s.sendTyping('lobby')
    vi.advanceTimersByTime(2999)
    s.sendTyping('lobby')
    vi.advanceTimersByTime(1)
    s.sendTyping('lobby')
    expect(FakeSocket.last.sentOfType('typing')).toEqual([
      { type: 'typing', conversation_id: 'lobby' },
      { type: 'typing', conversation_id: 'lobby' },
    ])
  })
})

describe('frames from the server', () => {
  async function started() {
    vi.mocked(api.listConversations).mockResolvedValue([lobby(), direct(bob, { last_message: msg(3, { conversation_id: 'dm-bob' }) })])
    serveHistory({ lobby: [msg(1)] })
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    return s
  }

  it('a message in the open conversation is marked read; elsewhere it counts as unread', async () => {
    await started()
    FakeSocket.last.receive({ type: 'message', message: msg(2) })
    expect(FakeSocket.last.sentOfType('read')).toContainEqual({ type: 'read', conversation_id: 'lobby', seq: 2 })
    const conversations = useConversationsStore()
    expect(conversations.find('lobby')?.unread).toBe(0)
    FakeSocket.last.receive({ type: 'message', message: msg(4, { conversation_id: 'dm-bob' }) })
    expect(conversations.find('dm-bob')?.unread).toBe(1)
    expect(conversations.find('dm-bob')?.last_message?.seq).toBe(4)
    expect(conversations.list[1]?.id).toBe('dm-bob')
  })

  it('while the page is hidden the open conversation counts unread and sets the marker', async () => {
    const onHidden = vi.fn()
    vi.mocked(api.listConversations).mockResolvedValue([lobby()])
    serveHistory({ lobby: [msg(1)] })
    const s = make({ onHiddenMessage: onHidden })
    s.start()
    FakeSocket.last.ready()
    await flush()
    useUiStore().visible = false
    FakeSocket.last.receive({ type: 'message', message: msg(2) })
    expect(useConversationsStore().find('lobby')?.unread).toBe(1)
    expect(useMessagesStore().view('lobby').firstUnreadSeq).toBe(2)
    expect(FakeSocket.last.sentOfType('read').map((f) => f.seq)).toEqual([1]) // only what was seen on opening
    expect(onHidden).toHaveBeenCalledOnce()
  })

  it('opening a search hit further up: live messages count as unread and are not marked read', async () => {
    const history = Array.from({ length: 300 }, (_, i) => msg(i + 1))
    vi.mocked(api.listConversations).mockResolvedValue([lobby({ last_message: history[299] })])
    serveHistory({ lobby: history })
    const s = make()
    s.start()
    FakeSocket.last.ready()
    await flush()
    expect(FakeSocket.last.sentOfType('read').map((f) => f.seq)).toEqual([300])
    vi.mocked(api.listMessages).mockResolvedValueOnce({ messages: history.slice(74, 124), has_more: true })
    await s.openAt('lobby', 100)
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { around: 100, limit: 50 })
    const v = useMessagesStore().view('lobby')
    expect(v).toMatchObject({ hasNewer: true, focusSeq: 100 })
    FakeSocket.last.receive({ type: 'message', message: msg(301) })
    expect(useConversationsStore().find('lobby')?.unread).toBe(1)
    expect(useMessagesStore().view('lobby').firstUnreadSeq).toBe(301)
    expect(FakeSocket.last.sentOfType('read').map((f) => f.seq)).toEqual([300]) // nothing new was read
    expect(useMessagesStore().lastSeq('lobby')).toBe(124)
  })

  it('opening a search hit in a conversation not in the list adds it', async () => {
    await started()
    const dm = direct(user('carol'), { id: 'dm-carol' })
    vi.mocked(api.listMessages).mockResolvedValueOnce({ messages: [msg(1, { conversation_id: 'dm-carol' })], has_more: false })
    await sockets[0]!.openAt('dm-carol', 1, dm)
    const conversations = useConversationsStore()
    expect(conversations.activeId).toBe('dm-carol')
    expect(conversations.find('dm-carol')?.peer?.id).toBe('carol')
    expect(useUiStore().pane).toBe('messages')
  })

  it('a message in a conversation not in the list refreshes the list', async () => {
    await started()
    vi.mocked(api.listConversations).mockClear()
    FakeSocket.last.receive({ type: 'message', message: msg(1, { conversation_id: 'dm-new' }) })
    expect(api.listConversations).toHaveBeenCalledOnce()
  })

  it('presence deltas update the online list and count', async () => {
    await started()
    const presence = usePresenceStore()
    FakeSocket.last.receive({ type: 'presence', user: bob, online: true, online_count: 2 })
    expect(presence.onlineCount).toBe(2)
    expect(presence.isOnline('bob')).toBe(true)
    FakeSocket.last.receive({ type: 'presence', user: bob, online: false, online_count: 1 })
    expect(presence.isOnline('bob')).toBe(false)
    expect(presence.onlineCount).toBe(1)
  })

  it('a presence_sync takes the count at once and fetches the online list once the burst is over', async () => {
    await started()
    const presence = usePresenceStore()
    vi.mocked(api.getPresence).mockClear()
    vi.mocked(api.getPresence).mockResolvedValue({ online_count: 250, users: [{ ...bob, online_since: '2026-03-01T10:00:00.000Z' }] })
    FakeSocket.last.receive({ type: 'presence_sync', online_count: 250 })
    expect(presence.onlineCount).toBe(250)
    expect(api.getPresence).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(RESYNC_QUIET_MS + RESYNC_JITTER_MS)
    expect(api.getPresence).toHaveBeenCalledOnce()
    expect(presence.isOnline('bob')).toBe(true)
  })

  it('typing from others shows for a while; our own is ignored; their message ends it', async () => {
    await started()
    const typing = useTypingStore()
    FakeSocket.last.receive({ type: 'typing', conversation_id: 'lobby', user_id: 'bob' })
    FakeSocket.last.receive({ type: 'typing', conversation_id: 'lobby', user_id: 'alice' })
    expect(typing.typing('lobby')).toEqual(['bob'])
    FakeSocket.last.receive({ type: 'message', message: msg(2) })
    expect(typing.typing('lobby')).toEqual([])
    FakeSocket.last.receive({ type: 'typing', conversation_id: 'lobby', user_id: 'bob' })
    vi.advanceTimersByTime(5000)
    expect(typing.typing('lobby')).toEqual([])
  })

  it('a read frame from another tab clears the badge', async () => {
    await started()
    const conversations = useConversationsStore()
    FakeSocket.last.receive({ type: 'message', message: msg(4, { conversation_id: 'dm-bob' }) })
    FakeSocket.last.receive({ type: 'message', message: msg(5, { conversation_id: 'dm-bob' }) })
    expect(conversations.find('dm-bob')?.unread).toBe(2)
    FakeSocket.last.receive({ type: 'read', conversation_id: 'dm-bob', seq: 4 })
    expect(conversations.find('dm-bob')?.unread).toBe(1)
    FakeSocket.last.receive({ type: 'read', conversation_id: 'dm-bob', seq: 5 })
    expect(conversations.find('dm-bob')?.unread).toBe(0)
  })

  it('ignores frames it cannot read', async () => {
    const s = await started()
    for (const raw of ['not json', '42', '{"type":"message","message":{"id":1}}', '{"type":"nope"}']) {
      FakeSocket.last.onmessage?.({ data: raw } as MessageEvent)
    }
    expect(s.state.value).toBe('open')
  })
})
