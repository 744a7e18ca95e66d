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
