import { ref } from 'vue'
import { defineStore } from 'pinia'
import * as api from '@/api/client'
import type { User } from '@/api/types'

/** How many directory entries one page holds. */
export const DIRECTORY_PAGE = 50

/**
 * People: the searchable directory (GET /api/users) and every user seen anywhere
 * (senders, presence, peers), so a name can be shown for an id.
 */
export const usePeopleStore = defineStore('people', () => {
  const known = ref<Record<string, User>>({})
  const directory = ref<User[]>([])
  const query = ref('')
  const nextCursor = ref('')
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<unknown>(null)
  let requestSeq = 0
  const fetching = new Map<string, Promise<User | null>>()

  /** Remembers users seen anywhere (latest wins: nickname or avatar may change). */
  function remember(...users: (User | undefined | null)[]): void {
    for (const u of users) {
      if (!u?.id) continue
      const { id, username, nickname, avatar_url, created_at } = u
      known.value[id] = { id, username, nickname, avatar_url, created_at }
    }
  }

  function get(id: string): User | undefined {
    return known.value[id]
  }

  /** A user by id, from memory or the server (null when unknown to both). */
  function fetchUser(id: string): Promise<User | null> {
    const have = known.value[id]
    if (have) return Promise.resolve(have)
    let p = fetching.get(id)
    if (!p) {
      p = api
        .getUser(id)
        .then((u) => {
          remember(u)
          return u
        })
        .catch(() => null)
        .finally(() => fetching.delete(id))
      fetching.set(id, p)
    }
    return p
  }

  /** Someone the directory listing may not have yet (registered since it loaded). */
  function list(u: User): void {
    remember(u)
    if (!loaded.value || query.value.trim() !== '') return
    if (!directory.value.some((x) => x.id === u.id)) directory.value.push(known.value[u.id]!)
  }

  /** Starts a new directory listing for `q` (empty: everyone). */
  async function search(q: string): Promise<void> {
    query.value = q
    directory.value = []
    nextCursor.value = ''
    loaded.value = false
    await fetchPage()
  }

  /** Appends the next page of the current listing. */
  async function loadMore(): Promise<void> {
    if (!nextCursor.value || loading.value) return
    await fetchPage()
  }

  async function fetchPage(): Promise<void> {
    const mine = ++requestSeq
    loading.value = true
    error.value = null
    try {
      const page = await api.listUsers({
        q: query.value.trim() || undefined,
        limit: DIRECTORY_PAGE,
        cursor: nextCursor.value || undefined,
      })
      if (mine !== requestSeq) return // a newer search replaced this one
      const users = page.users ?? []
      remember(...users)
      const have = new Set(directory.value.map((u) => u.id))
      directory.value.push(...users.filter((u) => !have.has(u.id)))
      nextCursor.value = page.next_cursor ?? ''
      loaded.value = true
    } catch (err) {
      if (mine === requestSeq) error.value = err
    } finally {
      if (mine === requestSeq) loading.value = false
    }
  }

  /** Forgets everything (logout). */
  function reset(): void {
    known.value = {}
    directory.value = []
    query.value = ''
    nextCursor.value = ''
    loaded.value = false
    loading.value = false
    error.value = null
    requestSeq++
  }

  return { known, directory, query, nextCursor, loading, loaded, error, remember, list, get, fetchUser, search, loadMore, reset }
})
