import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as api from '@/api/client'
import type { Message } from '@/api/types'
import { alice, bob, msg } from '@/test/chatFixtures'
import { useMessagesStore } from './messages'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, listMessages: vi.fn() }
})

const seqs = (id = 'lobby') => useMessagesStore().view(id).items.map((m) => m.seq)

function page(messages: Message[], has_more = false) {
  return { messages, has_more }
}

beforeEach(() => {
  vi.clearAllMocks()
  setActivePinia(createPinia())
})

describe('merging by seq', () => {
  it('keeps messages in seq order whatever order they come in, each once', () => {
    const s = useMessagesStore()
    expect(s.merge('lobby', [msg(3), msg(1)])).toBe(2)
    expect(s.merge('lobby', [msg(2), msg(3), msg(1), msg(5)])).toBe(2)
    expect(s.merge('lobby', [msg(4), msg(4)])).toBe(1)
    expect(seqs()).toEqual([1, 2, 3, 4, 5])
  })

  it('drops a second copy by id even under another seq, and anything for another conversation', () => {
    const s = useMessagesStore()
    s.merge('lobby', [msg(1)])
    s.merge('lobby', [{ ...msg(1), seq: 9 }, msg(2, { conversation_id: 'dm-x' }), { ...msg(3), seq: 0 }])
    expect(seqs()).toEqual([1])
  })

  it('contiguousSeq is where the first hole starts', () => {
    const s = useMessagesStore()
    expect(s.contiguousSeq('lobby')).toBe(0)
    s.merge('lobby', [msg(4), msg(5), msg(7), msg(8)])
    expect(s.contiguousSeq('lobby')).toBe(5)
    s.merge('lobby', [msg(6)])
    expect(s.contiguousSeq('lobby')).toBe(8)
    expect(s.lastSeq('lobby')).toBe(8)
  })

  it('a stored message of ours replaces the pending bubble with its client_id', () => {
    const s = useMessagesStore()
    s.addPending({ client_id: 'c1', conversation_id: 'lobby', kind: 'text', text: 'hi', created_at: '2026-03-01T12:00:00.000Z' })
    s.addPending({ client_id: 'c2', conversation_id: 'lobby', kind: 'text', text: 'yo', created_at: '2026-03-01T12:00:01.000Z' })
    // Someone else's message with the same client_id does not touch ours.
    s.merge('lobby', [msg(1, { sender: bob, client_id: 'c1' })], alice.id)
    expect(s.view('lobby').pending.map((p) => p.client_id)).toEqual(['c1', 'c2'])
    s.merge('lobby', [msg(2, { sender: alice, client_id: 'c1' })], alice.id)
    expect(s.view('lobby').pending.map((p) => p.client_id)).toEqual(['c2'])
  })

  it('ack replaces the pending message and keeps one copy when the message also came another way', () => {
    const s = useMessagesStore()
    s.conv('lobby').loaded = true
    s.addPending({ client_id: 'c1', conversation_id: 'lobby', kind: 'text', text: 'hi', created_at: '' })
    const stored = msg(1, { sender: alice, client_id: 'c1' })
    s.merge('lobby', [stored], alice.id)
    s.ack('c1', stored, alice.id)
    expect(s.view('lobby').pending).toEqual([])
    expect(seqs()).toEqual([1])
  })

  it('outbox lists what still has to go out, oldest first; failed ones wait for a retry', () => {
    const s = useMessagesStore()
    s.addPending({ client_id: 'b', conversation_id: 'dm', kind: 'text', text: '2', created_at: '2026-03-01T12:00:02.000Z' })
    s.addPending({ client_id: 'a', conversation_id: 'lobby', kind: 'text', text: '1', created_at: '2026-03-01T12:00:01.000Z' })
    s.addPending({ client_id: 'c', conversation_id: 'lobby', kind: 'text', text: '3', created_at: '2026-03-01T12:00:03.000Z' })
    s.setStatus('c', 'failed', 'rate_limited')
    expect(s.outbox().map((p) => p.client_id)).toEqual(['a', 'b'])
    expect(s.findPending('c')).toMatchObject({ status: 'failed', error: 'rate_limited' })
    s.setStatus('c', 'queued')
    expect(s.findPending('c')?.error).toBeUndefined()
  })
})

describe('live messages', () => {
  it('reports a gap when a message skips seqs', () => {
    const s = useMessagesStore()
    s.conv('lobby').loaded = true
    s.merge('lobby', [msg(1), msg(2)])
    expect(s.receive(msg(3))).toEqual({ added: true, gap: false })
    expect(s.receive(msg(3))).toEqual({ added: false, gap: false })
    expect(s.receive(msg(6))).toEqual({ added: true, gap: true })
    expect(s.contiguousSeq('lobby')).toBe(3)
  })

  it('a conversation never opened keeps nothing (its first page will have it)', () => {
    const s = useMessagesStore()
    expect(s.receive(msg(7))).toEqual({ added: false, gap: false })
    expect(s.view('lobby').items).toEqual([])
  })
})

describe('loading', () => {
  it('loadLatest loads the newest page and places the marker at the first unread', async () => {
    vi.mocked(api.listMessages).mockResolvedValue(page([msg(8), msg(9), msg(10)], true))
    const s = useMessagesStore()
    await s.loadLatest('lobby', { unread: 2, latestSeq: 10 })
    expect(api.listMessages).toHaveBeenCalledWith('lobby', { limit: 50 })
    expect(seqs()).toEqual([8, 9, 10])
    expect(s.view('lobby').hasMore).toBe(true)
    expect(s.view('lobby').firstUnreadSeq).toBe(9)
  })

  it('asks for a page big enough for many unread messages (up to 200)', async () => {
    vi.mocked(api.listMessages).mockResolvedValue(page([]))
    const s = useMessagesStore()
    await s.loadLatest('lobby', { unread: 120 })
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { limit: 130 })
    await s.loadLatest('dm', { unread: 5000 })
    expect(api.listMessages).toHaveBeenLastCalledWith('dm', { limit: 200 })
  })

  it('keeps a live message that arrives while the first page loads', async () => {
    let answer!: (p: ReturnType<typeof page>) => void
    vi.mocked(api.listMessages).mockReturnValueOnce(new Promise((r) => (answer = r)))
    const s = useMessagesStore()
    const loading = s.loadLatest('lobby')
    s.receive(msg(4)) // stored after the server answered the page
    answer(page([msg(1), msg(2), msg(3)]))
    await loading
    expect(seqs()).toEqual([1, 2, 3, 4])
  })

  it('fills a hole between the first page and a live message', async () => {
    let answer!: (p: ReturnType<typeof page>) => void
    vi.mocked(api.listMessages)
      .mockReturnValueOnce(new Promise((r) => (answer = r)))
      .mockResolvedValueOnce(page([msg(3), msg(4), msg(5)]))
    const s = useMessagesStore()
    const loading = s.loadLatest('lobby')
    s.receive(msg(5))
    answer(page([msg(1), msg(2)]))
    await loading
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { after: 2, limit: 200 })
    expect(seqs()).toEqual([1, 2, 3, 4, 5])
  })

  it('loadOlder fetches before the oldest held', async () => {
    vi.mocked(api.listMessages)
      .mockResolvedValueOnce(page([msg(51), msg(52)], true))
      .mockResolvedValueOnce(page([msg(49), msg(50)], false))
    const s = useMessagesStore()
    await s.loadLatest('lobby')
    await s.loadOlder('lobby')
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { before: 51, limit: 50 })
    expect(seqs()).toEqual([49, 50, 51, 52])
    expect(s.view('lobby').hasMore).toBe(false)
    await s.loadOlder('lobby') // nothing more: no request
    expect(api.listMessages).toHaveBeenCalledTimes(2)
  })

  it('catchUp pages after= until has_more is false, one run at a time', async () => {
    const s = useMessagesStore()
    s.conv('lobby').loaded = true
    s.merge('lobby', [msg(1)])
    vi.mocked(api.listMessages)
      .mockResolvedValueOnce(page([msg(2), msg(3)], true))
      .mockResolvedValueOnce(page([msg(4)], false))
      .mockResolvedValueOnce(page([], false))
    // The second call joins the running one, which then goes once more (not two runs at once).
    await Promise.all([s.catchUp('lobby'), s.catchUp('lobby')])
    expect(vi.mocked(api.listMessages).mock.calls.map(([, q]) => q?.after)).toEqual([1, 3, 4])
    expect(seqs()).toEqual([1, 2, 3, 4])
  })

  it('open loads once for concurrent calls and records a failure for a retry', async () => {
    vi.mocked(api.listMessages).mockRejectedValueOnce(new api.ApiError(404, 'not_found', 'no'))
    const s = useMessagesStore()
    await Promise.all([s.open('dm-x'), s.open('dm-x')])
    expect(api.listMessages).toHaveBeenCalledOnce()
    expect(s.view('dm-x').error).toMatchObject({ code: 'not_found' })
    vi.mocked(api.listMessages).mockResolvedValueOnce(page([msg(1, { conversation_id: 'dm-x' })]))
    await s.open('dm-x')
    expect(s.view('dm-x').error).toBeNull()
    expect(seqs('dm-x')).toEqual([1])
  })
})

/** A server holding seqs 1..n of the lobby, answering every kind of page like the real one. */
function serve(n: number, id = 'lobby') {
  const all = Array.from({ length: n }, (_, i) => msg(i + 1, { conversation_id: id }))
  vi.mocked(api.listMessages).mockImplementation(async (_id, q = {}) => {
    const limit = q.limit ?? 50
    let sel: Message[]
    let more: boolean
    if (q.around !== undefined) {
      const before = all.filter((m) => m.seq < q.around!).slice(-Math.floor(limit / 2))
      const from = all.filter((m) => m.seq >= q.around!).slice(0, limit - before.length)
      sel = [...before, ...from]
      more = (sel[0]?.seq ?? 1) > 1 || (sel[sel.length - 1]?.seq ?? n) < all.length
    } else if (q.after !== undefined) {
      sel = all.filter((m) => m.seq > q.after!).slice(0, limit)
      more = all.some((m) => m.seq > (sel[sel.length - 1]?.seq ?? Infinity))
    } else if (q.before !== undefined) {
      sel = all.filter((m) => m.seq < q.before!).slice(-limit)
      more = all.some((m) => m.seq < (sel[0]?.seq ?? 0))
    } else {
      sel = all.slice(-limit)
      more = all.length > sel.length
    }
    return { messages: sel.map((m) => ({ ...m })), has_more: more }
  })
  /** The server stores one more message (and returns it, as the socket would deliver it). */
  return function store(): Message {
    const m = msg(all.length + 1, { conversation_id: id })
    all.push(m)
    return m
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i)

describe('a window around a message (jump to a search hit)', () => {
  it('loads the page around the message, focuses it, and knows more lies both ways', async () => {
    serve(1000)
    const s = useMessagesStore()
    await s.openAround('lobby', 500, { latestSeq: 1000 })
    expect(api.listMessages).toHaveBeenCalledWith('lobby', { around: 500, limit: 50 })
    expect(seqs()).toEqual(range(475, 524))
    const v = s.view('lobby')
    expect(v).toMatchObject({ loaded: true, hasMore: true, hasNewer: true, focusSeq: 500 })
    expect(v.focusToken).toBe(1)
  })

  it('grows both ways: before= upwards, after= downwards until the newest, then it is live again', async () => {
    const store = serve(160)
    const s = useMessagesStore()
    await s.openAround('lobby', 60, { latestSeq: 160 })
    expect(seqs()).toEqual(range(35, 84))
    await s.loadOlder('lobby')
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { before: 35, limit: 50 })
    expect(seqs()).toEqual(range(1, 84))
    expect(s.view('lobby').hasMore).toBe(false)

    await s.loadNewer('lobby')
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { after: 84, limit: 50 })
    expect(s.view('lobby').hasNewer).toBe(true)
    // Meanwhile a live message: not appended after 134 (that would leave a hole), just noted.
    const live = store()
    expect(s.receive(live)).toEqual({ added: false, gap: false })
    expect(s.lastSeq('lobby')).toBe(134)
    expect(s.view('lobby').liveSeq).toBe(161)

    await s.loadNewer('lobby')
    expect(api.listMessages).toHaveBeenLastCalledWith('lobby', { after: 134, limit: 50 })
    expect(s.view('lobby').hasNewer).toBe(false)
    expect(seqs()).toEqual(range(1, 161))
    // Attached again: the next live message is simply appended.
    const next = store()
    expect(s.receive(next)).toEqual({ added: true, gap: false })
    expect(seqs()).toEqual(range(1, 162))
    await s.loadNewer('lobby') // nothing more: no request
    expect(vi.mocked(api.listMessages).mock.calls.filter(([, q]) => q?.after === 162)).toEqual([])
  })

  it('fetches a live message that arrived during the last page down', async () => {
    const store = serve(100)
    const s = useMessagesStore()
    await s.openAround('lobby', 40, { latestSeq: 100 })
    let answer!: () => void
    const real = vi.mocked(api.listMessages).getMockImplementation()!
    vi.mocked(api.listMessages).mockImplementationOnce(
      (id, q) => new Promise((resolve) => (answer = () => void real(id, q).then(resolve))),
    )
    const loading = s.loadNewer('lobby')
    answer() // the server answers with 65..100 …
    s.receive(store()) // … then stores 101, which arrives live before the page does
    await loading
    expect(s.view('lobby').hasNewer).toBe(false)
    expect(s.lastSeq('lobby')).toBe(101)
    expect(seqs()).toEqual(range(15, 101))
  })

  it('near the newest message the window is live at once', async () => {
    serve(30)
    const s = useMessagesStore()
    await s.openAround('lobby', 28, { latestSeq: 30 })
    expect(seqs()).toEqual(range(3, 30))
    expect(s.view('lobby')).toMatchObject({ hasMore: true, hasNewer: false })
    s.receive(msg(31))
    expect(s.lastSeq('lobby')).toBe(31)
  })

  it('at the very beginning there is nothing older, only newer', async () => {
    serve(200)
    const s = useMessagesStore()
    await s.openAround('lobby', 3)
    expect(seqs()).toEqual(range(1, 50))
    expect(s.view('lobby')).toMatchObject({ hasMore: false, hasNewer: true })
  })

  it('without the newest seq known, a page further down tells', async () => {
    serve(60)
    const s = useMessagesStore()
    await s.openAround('lobby', 40)
    expect(s.view('lobby').hasNewer).toBe(true)
    await s.loadNewer('lobby')
    expect(seqs()).toEqual(range(15, 60))
    expect(s.view('lobby').hasNewer).toBe(false)
  })

  it('a message already held is focused without a request', async () => {
    serve(100)
    const s = useMessagesStore()
    await s.loadLatest('lobby')
    vi.mocked(api.listMessages).mockClear()
    await s.openAround('lobby', 80, { latestSeq: 100 })
    expect(api.listMessages).not.toHaveBeenCalled()
    expect(s.view('lobby')).toMatchObject({ focusSeq: 80, focusToken: 1, hasNewer: false })
    await s.openAround('lobby', 80, { latestSeq: 100 })
    expect(s.view('lobby').focusToken).toBe(2) // a second jump highlights it again
  })

  it('catch-up (a reconnect) leaves a window further up alone', async () => {
    serve(1000)
    const s = useMessagesStore()
    await s.openAround('lobby', 500, { latestSeq: 1000 })
    vi.mocked(api.listMessages).mockClear()
    await s.catchUp('lobby')
    expect(api.listMessages).not.toHaveBeenCalled()
    expect(seqs()).toEqual(range(475, 524))
  })

  it('an ack while further up drops the pending bubble and keeps the window whole', async () => {
    serve(1000)
    const s = useMessagesStore()
    await s.openAround('lobby', 500, { latestSeq: 1000 })
    s.addPending({ client_id: 'c9', conversation_id: 'lobby', kind: 'text', text: 'hi', created_at: '' })
    s.ack('c9', msg(1001, { sender: alice, client_id: 'c9' }), alice.id)
    expect(s.view('lobby').pending).toEqual([])
    expect(s.lastSeq('lobby')).toBe(524)
    expect(s.view('lobby').liveSeq).toBe(1001)
  })

  it('jumpToLatest (or opening the conversation again) goes back to the newest page', async () => {
    serve(1000)
    const s = useMessagesStore()
    await s.openAround('lobby', 500, { latestSeq: 1000 })
    const before = s.view('lobby').generation
    await s.jumpToLatest('lobby')
    expect(seqs()).toEqual(range(951, 1000))
    expect(s.view('lobby')).toMatchObject({ hasNewer: false, hasMore: true, focusSeq: null })
    expect(s.view('lobby').generation).toBeGreaterThan(before)

    await s.openAround('lobby', 200, { latestSeq: 1000 })
    await s.open('lobby')
    expect(seqs()).toEqual(range(951, 1000))
    expect(s.view('lobby').hasNewer).toBe(false)
  })

  it('a page asked for before a jump is not mixed into the new window', async () => {
    serve(1000)
    const s = useMessagesStore()
    await s.loadLatest('lobby')
    let answer!: () => void
    const real = vi.mocked(api.listMessages).getMockImplementation()!
    vi.mocked(api.listMessages).mockImplementationOnce(
      (id, q) => new Promise((resolve) => (answer = () => void real(id, q).then(resolve))),
    )
    const older = s.loadOlder('lobby') // before=951, slow
    await s.openAround('lobby', 300, { latestSeq: 1000 })
    answer()
    await older
    expect(seqs()).toEqual(range(275, 324))
  })

  it('of two jumps, the last one asked for wins', async () => {
    serve(1000)
    const s = useMessagesStore()
    let answer!: () => void
    const real = vi.mocked(api.listMessages).getMockImplementation()!
    vi.mocked(api.listMessages).mockImplementationOnce(
      (id, q) => new Promise((resolve) => (answer = () => void real(id, q).then(resolve))),
    )
    const first = s.openAround('lobby', 100, { latestSeq: 1000 })
    await s.openAround('lobby', 700, { latestSeq: 1000 })
    answer()
    await first
    expect(seqs()).toEqual(range(675, 724))
    expect(s.view('lobby').focusSeq).toBe(700)
  })

  it('places the "new messages" marker only where the window holds it', async () => {
    serve(1000)
    const s = useMessagesStore()
    await s.openAround('lobby', 500, { latestSeq: 1000, unread: 510 }) // first unread: 491
    expect(s.view('lobby').firstUnreadSeq).toBe(491)
    await s.openAround('lobby', 100, { latestSeq: 1000, unread: 510 })
    expect(s.view('lobby').firstUnreadSeq).toBe(491) // below the window: shown when reached
    await s.openAround('lobby', 900, { latestSeq: 1000, unread: 510 })
    expect(s.view('lobby').firstUnreadSeq).toBeNull() // above: the whole window is unread
  })

  it('a failed jump says so and keeps what was shown', async () => {
    serve(100)
    const s = useMessagesStore()
    await s.loadLatest('lobby')
    vi.mocked(api.listMessages).mockRejectedValueOnce(new api.ApiError(0, 'network_error', 'offline'))
    await s.openAround('lobby', 10, { latestSeq: 100 })
    expect(s.view('lobby').error).toMatchObject({ code: 'network_error' })
    expect(seqs()).toEqual(range(51, 100))
  })
})
