import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import * as api from '@/api/client'
import type { SearchResult } from '@/api/types'
import { emptyCriteria, searchable, toQuery, type SearchCriteria } from '@/api/searchRules'
import { usePeopleStore } from './people'

/** How long typing must pause before a search goes out. */
export const SEARCH_DEBOUNCE_MS = 250

/**
 * The message search: whether its panel is open, the words and filters, and the results
 * for them, newest first, page by page. A change of words or filters waits for a pause
 * (SEARCH_DEBOUNCE_MS) and then replaces the results; an answer to an older request than
 * the latest one is dropped, so a slow reply never overwrites what was asked for since.
 */
export const useSearchStore = defineStore('search', () => {
  const people = usePeopleStore()
  const isOpen = ref(false)
  const criteria = ref<SearchCriteria>(emptyCriteria())
  const results = ref<SearchResult[]>([])
  const nextCursor = ref('')
  /** The first page for the current criteria is on its way. */
  const loading = ref(false)
  /** A further page is on its way. */
  const loadingMore = ref(false)
  /** Why the last request failed, else null. */
  const error = ref<unknown>(null)
  /** The results shown answer these criteria (null: nothing searched yet). */
  const searchedFor = ref<SearchCriteria | null>(null)
  /** The highlighted result (keyboard), -1 for none. */
  const active = ref(-1)
  /** Changes with every request to open the panel, also when it is open already (the box takes the focus again). */
  const focusToken = ref(0)

  let timer: ReturnType<typeof setTimeout> | null = null
  let requestSeq = 0

  /** Senders and peers of the hits become people the app knows (the "from" filter lists them). */
  function rememberPeople(page: readonly SearchResult[]): void {
    for (const r of page) people.remember(r.message.sender, r.conversation.peer)
  }

  /** A search is waiting for the typing to pause. */
  const scheduled = ref(false)
  const canSearch = computed(() => searchable(criteria.value))
  const hasMore = computed(() => nextCursor.value !== '')

  function cancelTimer(): void {
    if (timer !== null) clearTimeout(timer)
    timer = null
    scheduled.value = false
  }

  /** Changes words or filters; the search follows after a pause (or at once with `now`). */
  function update(patch: Partial<SearchCriteria>, { now = false } = {}): void {
    criteria.value = { ...criteria.value, ...patch }
    if (now) run()
    else schedule()
  }

  /** Searches after the typing pauses. */
  function schedule(): void {
    cancelTimer()
    scheduled.value = true
    timer = setTimeout(() => {
      timer = null
      scheduled.value = false
      run()
    }, SEARCH_DEBOUNCE_MS)
  }

  /** Searches now for the current criteria (a waiting search goes at once). */
  function run(): void {
    cancelTimer()
    const c = { ...criteria.value }
    const mine = ++requestSeq
    active.value = -1
    if (!searchable(c)) {
      clearResults()
      return
    }
    loading.value = true
    loadingMore.value = false
    error.value = null
    void api.searchMessages(toQuery(c)).then(
      (page) => {
        if (mine !== requestSeq) return // the words changed meanwhile
        rememberPeople(page.results)
        results.value = page.results
        nextCursor.value = page.next_cursor
        searchedFor.value = c
        loading.value = false
      },
      (err: unknown) => {
        if (mine !== requestSeq) return
        error.value = err
        results.value = []
        nextCursor.value = ''
        searchedFor.value = c
        loading.value = false
      },
    )
  }

  /** Appends the next page of the current results ("more on scroll"). */
  async function loadMore(): Promise<void> {
    const c = searchedFor.value
    if (!c || !nextCursor.value || loading.value || loadingMore.value || error.value) return
    const mine = requestSeq
    loadingMore.value = true
    try {
      const page = await api.searchMessages({ ...toQuery(c), cursor: nextCursor.value })
      if (mine !== requestSeq) return // a new search replaced these results
      rememberPeople(page.results)
      const have = new Set(results.value.map((r) => r.message.id))
      results.value.push(...page.results.filter((r) => !have.has(r.message.id)))
      nextCursor.value = page.next_cursor
    } catch (err) {
      if (mine === requestSeq) error.value = err
    } finally {
      if (mine === requestSeq) loadingMore.value = false
    }
  }

  /** Tries the failed request again: the next page when results are shown, else the first. */
  function retry(): void {
    if (results.value.length > 0 && nextCursor.value) {
      error.value = null
      void loadMore()
    } else {
      run()
    }
  }

  /** Moves the highlighted result by `step` (wrapping), for ↑/↓. */
  function move(step: number): void {
    const n = results.value.length
    if (n === 0) {
      active.value = -1
      return
    }
    if (active.value < 0) active.value = step > 0 ? 0 : n - 1
    else active.value = (active.value + step + n) % n
  }

  function openPanel(): void {
    isOpen.value = true
    focusToken.value++
  }

  function closePanel(): void {
    isOpen.value = false
  }

  /** Back to no words and no filters (the panel stays as it is). */
  function clear(): void {
    criteria.value = emptyCriteria()
    run()
  }

  /** Forgets everything (logout). */
  function reset(): void {
    cancelTimer()
    requestSeq++
    isOpen.value = false
    criteria.value = emptyCriteria()
    clearResults()
    active.value = -1
  }

  /** No results, nothing loading, no error: nothing searched yet. */
  function clearResults(): void {
    results.value = []
    nextCursor.value = ''
    loading.value = false
    loadingMore.value = false
    error.value = null
    searchedFor.value = null
  }

  return {
    isOpen,
    criteria,
    results,
    nextCursor,
    loading,
    loadingMore,
    error,
    searchedFor,
    active,
    focusToken,
    scheduled,
    canSearch,
    hasMore,
    update,
    schedule,
    run,
    loadMore,
    retry,
    move,
    openPanel,
    closePanel,
    clear,
    reset,
  }
})
