import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import * as api from '@/api/client'
import type { OnlineUser, User } from '@/api/types'

/** A presence change from the socket: one user came or went, and the new count. */
export interface PresenceDelta {
  user: User & { online_since?: string }
  online: boolean
  online_count: number
}

/**
 * After a presence_sync (changes came too fast to name one by one; they arrive every second
 * while a burst lasts) the list is fetched again once the syncs stop, RESYNC_QUIET_MS plus up
 * to RESYNC_JITTER_MS later so that thousands of clients do not ask at the same moment; a
 * burst that goes on still refreshes it within RESYNC_MAX_MS (plus the jitter) of its start.
 */
export const RESYNC_QUIET_MS = 2000
export const RESYNC_JITTER_MS = 3000
export const RESYNC_MAX_MS = 30000

/**
 * Who is online: a snapshot from GET /api/presence, then kept current by the socket's
 * deltas. Deltas that arrive while a snapshot is loading are applied after it, so neither
 * wins by accident.
 */
export const usePresenceStore = defineStore('presence', () => {
  const onlineCount = ref(0)
  /** Most recently online first. */
  const users = ref<OnlineUser[]>([])
  const loaded = ref(false)
  let loadSeq = 0
  let loading = false
  let buffered: PresenceDelta[] = []
  let resyncTimer: ReturnType<typeof setTimeout> | undefined
  let resyncDeadline: number | null = null

  const onlineIds = computed(() => new Set(users.value.map((u) => u.id)))

  function isOnline(id: string): boolean {
    return onlineIds.value.has(id)
  }

  function since(id: string): string | null {
    return users.value.find((u) => u.id === id)?.online_since ?? null
  }

  function apply(d: PresenceDelta, now: () => Date): void {
    const i = users.value.findIndex((u) => u.id === d.user.id)
    if (d.online) {
      if (i < 0) {
        const { online_since, ...user } = d.user
        users.value.unshift({ ...user, online_since: online_since ?? now().toISOString() })
      } else {
        // Another tab of someone already online: keep their "since", refresh name and avatar.
        const prev = users.value[i]!
        users.value[i] = { ...prev, ...d.user, online_since: prev.online_since }
      }
    } else if (i >= 0) {
      users.value.splice(i, 1)
    }
    if (Number.isFinite(d.online_count)) onlineCount.value = d.online_count
  }

  /** One user came online or went offline. */
  function applyDelta(d: PresenceDelta, now: () => Date = () => new Date()): void {
    if (loading) buffered.push(d)
    else apply(d, now)
  }

  /** Sets the count alone (the socket's ready frame). */
  function setCount(n: number): void {
    if (Number.isFinite(n)) onlineCount.value = n
  }

  /** A burst of changes on the server: the count now, the list once the burst is over. */
  function resync(n: number, random: () => number = Math.random): void {
    setCount(n)
    const now = Date.now()
    resyncDeadline ??= now + RESYNC_MAX_MS + random() * RESYNC_JITTER_MS
    clearTimeout(resyncTimer)
    const wait = Math.min(RESYNC_QUIET_MS + random() * RESYNC_JITTER_MS, resyncDeadline - now)
    resyncTimer = setTimeout(() => {
      resyncTimer = undefined
      resyncDeadline = null
      load().catch(() => {}) // the next sync or reconnect tries again
    }, Math.max(0, wait))
  }

  /** Loads the snapshot, then replays the deltas that arrived meanwhile. */
  async function load(now: () => Date = () => new Date()): Promise<void> {
    const mine = ++loadSeq
    loading = true
    buffered = []
    try {
      const snap = await api.getPresence()
      if (mine !== loadSeq) return
      users.value = [...snap.users].sort((a, b) => b.online_since.localeCompare(a.online_since))
      onlineCount.value = snap.online_count
      loaded.value = true
      for (const d of buffered) apply(d, now)
    } finally {
      if (mine === loadSeq) {
        loading = false
        buffered = []
      }
    }
  }

  /** Forgets everything (logout). */
  function reset(): void {
    onlineCount.value = 0
    users.value = []
    loaded.value = false
    loadSeq++
    loading = false
    buffered = []
    clearTimeout(resyncTimer)
    resyncTimer = undefined
    resyncDeadline = null
  }

  return { onlineCount, users, loaded, isOnline, since, applyDelta, setCount, resync, load, reset }
})
