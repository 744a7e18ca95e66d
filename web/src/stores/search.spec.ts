import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as api from '@/api/client'
import type { SearchPage, SearchResult } from '@/api/types'
import { bob, lobby, msg } from '@/test/chatFixtures'
import { usePeopleStore } from './people'
import { SEARCH_DEBOUNCE_MS, useSearchStore } from './search'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, searchMessages: vi.fn() }
})

function hit(seq: number, text = `会议 ${seq}`): SearchResult {
  return { message: msg(seq, { text }), conversation: lobby(), highlights: [[0, 2]] }
}

function page(seqs: number[], next_cursor = ''): SearchPage {
  return { results: seqs.map((s) => hit(s)), next_cursor }
}

/** A reply the test hands out when it wants. */
function deferred() {
  let resolve!: (p: SearchPage) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<SearchPage>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

const seqs = () => useSearchStore().results.map((r) => r.message.seq)

beforeEach(() => {
  vi.clearAllMocks()
  vi.useFakeTimers()
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.useRealTimers()
})

describe('typing', () => {
  it('waits for a pause: fast typing makes one request, for the last words', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue(page([3, 2, 1]))
    const s = useSearchStore()
    s.update({ q: '会' })
    vi.advanceTimersByTime(100)
    s.update({ q: '会议' })
    vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS - 1)
    expect(api.searchMessages).not.toHaveBeenCalled()
    expect(s.scheduled).toBe(true)
    vi.advanceTimersByTime(1)
    expect(api.searchMessages).toHaveBeenCalledTimes(1)
    expect(api.searchMessages).toHaveBeenCalledWith({ q: '会议', limit: 20 })
    expect(s.loading).toBe(true)
    await flush()
    expect(s.loading).toBe(false)
    expect(seqs()).toEqual([3, 2, 1])
    expect(s.searchedFor?.q).toBe('会议')
  })

  it('asks nothing for no words and no filter, and clears what was shown', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue(page([1]))
    const s = useSearchStore()
    s.update({ q: 'hello' }, { now: true })
    await flush()
    expect(seqs()).toEqual([1])
    s.update({ q: '   ' })
    vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS)
    expect(api.searchMessages).toHaveBeenCalledTimes(1)
    expect(s.results).toEqual([])
    expect(s.searchedFor).toBeNull()
    s.update({ conversationId: 'lobby' }, { now: true }) // the scope alone lists nothing
    expect(api.searchMessages).toHaveBeenCalledTimes(1)
  })

  it('a filter alone searches (pictures have no words), at once', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue(page([]))
    const s = useSearchStore()
    s.update({ kind: 'image', conversationId: 'lobby' }, { now: true })
    expect(api.searchMessages).toHaveBeenCalledWith({ kind: 'image', conversation_id: 'lobby', limit: 20 })
    await flush()
    expect(s.searchedFor).not.toBeNull()
    expect(s.results).toEqual([])
  })

  it('run sends a waiting search at once (Enter before the pause)', () => {
    vi.mocked(api.searchMessages).mockResolvedValue(page([]))
    const s = useSearchStore()
    s.update({ q: 'kubernetes' })
    s.run()
    expect(api.searchMessages).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS * 2)
    expect(api.searchMessages).toHaveBeenCalledTimes(1)
    expect(s.scheduled).toBe(false)
  })
})

describe('stale answers', () => {
  it('an answer to older words that arrives last is dropped', async () => {
    const slow = deferred()
    const fast = deferred()
    vi.mocked(api.searchMessages).mockReturnValueOnce(slow.promise).mockReturnValueOnce(fast.promise)
    const s = useSearchStore()
    s.update({ q: '会' }, { now: true })
    s.update({ q: '会议' }, { now: true })
    fast.resolve(page([9]))
    await flush()
    expect(seqs()).toEqual([9])
    slow.resolve(page([1, 2, 3]))
    await flush()
    expect(seqs()).toEqual([9])
    expect(s.searchedFor?.q).toBe('会议')
    expect(s.loading).toBe(false)
  })

  it('a failure of an older request does not show over newer results', async () => {
    const slow = deferred()
    vi.mocked(api.searchMessages).mockReturnValueOnce(slow.promise).mockResolvedValueOnce(page([5]))
    const s = useSearchStore()
    s.update({ q: 'a' }, { now: true })
    s.update({ q: 'ab' }, { now: true })
    await flush()
    slow.reject(new api.ApiError(500, 'internal', 'boom'))
    await flush()
    expect(s.error).toBeNull()
    expect(seqs()).toEqual([5])
  })

  it('a next page that arrives after the words changed is dropped', async () => {
    const more = deferred()
    vi.mocked(api.searchMessages)
      .mockResolvedValueOnce(page([10, 9], 'c1'))
      .mockReturnValueOnce(more.promise)
      .mockResolvedValueOnce(page([4]))
    const s = useSearchStore()
    s.update({ q: 'old' }, { now: true })
    await flush()
    const loading = s.loadMore()
    expect(s.loadingMore).toBe(true)
    s.update({ q: 'new' }, { now: true })
    await flush()
    more.resolve(page([8, 7]))
    await loading
    expect(seqs()).toEqual([4])
    expect(s.loadingMore).toBe(false)
  })
})

describe('pages', () => {
  it('more on scroll: follows next_cursor with the same criteria until it is empty', async () => {
    vi.mocked(api.searchMessages)
      .mockResolvedValueOnce(page([30, 29], 'c1'))
      .mockResolvedValueOnce(page([29, 28, 27], 'c2'))
      .mockResolvedValueOnce(page([26], ''))
    const s = useSearchStore()
    s.update({ q: '会议', senderId: bob.id }, { now: true })
    await flush()
    expect(s.hasMore).toBe(true)
    // Typing something else without waiting for the pause does not change what the next page is of.
    s.criteria.q = 'changed but not searched'
    await s.loadMore()
    await s.loadMore()
    expect(vi.mocked(api.searchMessages).mock.calls.map(([q]) => q)).toEqual([
      { q: '会议', sender_id: bob.id, limit: 20 },
      { q: '会议', sender_id: bob.id, limit: 20, cursor: 'c1' },
      { q: '会议', sender_id: bob.id, limit: 20, cursor: 'c2' },
    ])
    expect(seqs()).toEqual([30, 29, 28, 27, 26]) // a hit sent twice shows once
    expect(s.hasMore).toBe(false)
    await s.loadMore()
    expect(api.searchMessages).toHaveBeenCalledTimes(3)
  })

  it('one page at a time', async () => {
    const more = deferred()
    vi.mocked(api.searchMessages).mockResolvedValueOnce(page([2], 'c1')).mockReturnValueOnce(more.promise)
    const s = useSearchStore()
    s.update({ q: 'x' }, { now: true })
    await flush()
    void s.loadMore()
    void s.loadMore()
    expect(api.searchMessages).toHaveBeenCalledTimes(2)
    more.resolve(page([1]))
    await flush()
    expect(seqs()).toEqual([2, 1])
  })

  it('a failed page keeps the results and is retried', async () => {
    vi.mocked(api.searchMessages)
      .mockResolvedValueOnce(page([2], 'c1'))
      .mockRejectedValueOnce(new api.ApiError(0, 'network_error', 'offline'))
      .mockResolvedValueOnce(page([1]))
    const s = useSearchStore()
    s.update({ q: 'x' }, { now: true })
    await flush()
    await s.loadMore()
    expect(s.error).toMatchObject({ code: 'network_error' })
    expect(seqs()).toEqual([2])
    await s.loadMore() // not while the error is shown
    expect(api.searchMessages).toHaveBeenCalledTimes(2)
    s.retry()
    await flush()
    expect(s.error).toBeNull()
    expect(seqs()).toEqual([2, 1])
    expect(vi.mocked(api.searchMessages).mock.calls[2]?.[0]).toMatchObject({ cursor: 'c1' })
  })

  it('a failed first page shows the error; retry searches again', async () => {
    vi.mocked(api.searchMessages).mockRejectedValueOnce(new api.ApiError(400, 'invalid_input', 'bad')).mockResolvedValueOnce(page([1]))
    const s = useSearchStore()
    s.update({ q: 'x' }, { now: true })
    await flush()
    expect(s.error).toMatchObject({ code: 'invalid_input' })
    s.retry()
    await flush()
    expect(s.error).toBeNull()
    expect(seqs()).toEqual([1])
  })

  it('remembers senders, so the person filter can offer them', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue(page([1]))
    const s = useSearchStore()
    s.update({ q: 'x' }, { now: true })
    await flush()
    expect(usePeopleStore().get(bob.id)?.nickname).toBe('Bob')
  })
})

describe('keyboard and panel', () => {
  it('↑/↓ move through the results and wrap; a new search starts with none', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue(page([3, 2, 1]))
    const s = useSearchStore()
    s.update({ q: 'x' }, { now: true })
    await flush()
    expect(s.active).toBe(-1)
    s.move(1)
    expect(s.active).toBe(0)
    s.move(-1)
    expect(s.active).toBe(2)
    s.move(1)
    expect(s.active).toBe(0)
    s.update({ q: 'y' }, { now: true })
    expect(s.active).toBe(-1)
  })

  it('reset forgets everything and drops answers still on their way', async () => {
    const slow = deferred()
    vi.mocked(api.searchMessages).mockReturnValueOnce(slow.promise)
    const s = useSearchStore()
    s.openPanel()
    s.update({ q: 'secret' }, { now: true })
    s.reset()
    slow.resolve(page([1]))
    await flush()
    expect(s.isOpen).toBe(false)
    expect(s.results).toEqual([])
    expect(s.criteria.q).toBe('')
  })
})
