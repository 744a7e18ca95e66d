import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as api from '@/api/client'
import type { PresenceSnapshot } from '@/api/types'
import { alice, bob, user } from '@/test/chatFixtures'
import { RESYNC_JITTER_MS, RESYNC_MAX_MS, RESYNC_QUIET_MS, usePresenceStore } from './presence'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, getPresence: vi.fn() }
})

const carol = user('carol', 'Carol')
const at = (hhmm: string) => `2026-03-01T${hhmm}:00.000Z`
const clock = () => new Date(at('12:30'))
const ids = () => usePresenceStore().users.map((u) => u.id)

beforeEach(() => {
  vi.clearAllMocks()
  setActivePinia(createPinia())
})

describe('presence', () => {
  it('loads the snapshot, most recently online first', async () => {
    vi.mocked(api.getPresence).mockResolvedValue({
      online_count: 2,
      users: [
        { ...alice, online_since: at('09:00') },
        { ...bob, online_since: at('10:00') },
      ],
    })
    const p = usePresenceStore()
    await p.load()
    expect(ids()).toEqual(['bob', 'alice'])
    expect(p.onlineCount).toBe(2)
    expect(p.isOnline('alice')).toBe(true)
    expect(p.since('bob')).toBe(at('10:00'))
  })

  it('an arrival goes on top with the time it came; a departure goes; the count follows the server', () => {
    const p = usePresenceStore()
    p.applyDelta({ user: alice, online: true, online_count: 1 }, clock)
    p.applyDelta({ user: bob, online: true, online_count: 2 }, clock)
    expect(ids()).toEqual(['bob', 'alice'])
    expect(p.since('bob')).toBe(at('12:30'))
    p.applyDelta({ user: alice, online: false, online_count: 1 }, clock)
    expect(ids()).toEqual(['bob'])
    expect(p.onlineCount).toBe(1)
    p.applyDelta({ user: carol, online: false, online_count: 1 }, clock) // unknown: nothing to remove
    expect(ids()).toEqual(['bob'])
  })

  it('a second tab of someone online keeps their place and "since", but takes a new nickname', () => {
    const p = usePresenceStore()
    p.applyDelta({ user: { ...alice, online_since: at('08:00') }, online: true, online_count: 1 }, clock)
    p.applyDelta({ user: bob, online: true, online_count: 2 }, clock)
    p.applyDelta({ user: { ...alice, nickname: 'Alice L.' }, online: true, online_count: 2 }, clock)
    expect(ids()).toEqual(['bob', 'alice'])
    expect(p.users[1]).toMatchObject({ nickname: 'Alice L.', online_since: at('08:00') })
  })

  it('deltas that arrive while the snapshot loads are applied after it', async () => {
    let answer!: (s: PresenceSnapshot) => void
    vi.mocked(api.getPresence).mockReturnValue(new Promise((r) => (answer = r)))
    const p = usePresenceStore()
    const loading = p.load(clock)
    // Bob leaves and Carol arrives after the server took the snapshot.
    p.applyDelta({ user: bob, online: false, online_count: 1 }, clock)
    p.applyDelta({ user: carol, online: true, online_count: 2 }, clock)
    expect(ids()).toEqual([]) // held back until the snapshot is in
    answer({ online_count: 2, users: [{ ...bob, online_since: at('10:00') }, { ...alice, online_since: at('09:00') }] })
    await loading
    expect(ids()).toEqual(['carol', 'alice'])
    expect(p.onlineCount).toBe(2)
    // Afterwards deltas apply at once again.
    p.applyDelta({ user: bob, online: true, online_count: 3 }, clock)
    expect(ids()).toEqual(['bob', 'carol', 'alice'])
  })

  it('reset forgets everyone', () => {
    const p = usePresenceStore()
    p.applyDelta({ user: alice, online: true, online_count: 1 }, clock)
    p.reset()
    expect(ids()).toEqual([])
    expect(p.onlineCount).toBe(0)
  })

  describe('a burst (presence_sync)', () => {
    beforeEach(() => {
      vi.useFakeTimers()
      vi.mocked(api.getPresence).mockResolvedValue({ online_count: 3, users: [{ ...carol, online_since: at('11:00') }] })
    })
    afterEach(() => vi.useRealTimers())
    const noJitter = () => 0

    it('takes the count at once and the list once the syncs stop', async () => {
      const p = usePresenceStore()
      p.resync(250, noJitter)
      expect(p.onlineCount).toBe(250)
      await vi.advanceTimersByTimeAsync(1000)
      p.resync(260, noJitter) // the burst goes on: the wait starts again
      await vi.advanceTimersByTimeAsync(RESYNC_QUIET_MS - 1)
      expect(api.getPresence).not.toHaveBeenCalled()
      expect(p.onlineCount).toBe(260)
      await vi.advanceTimersByTimeAsync(1)
      expect(api.getPresence).toHaveBeenCalledOnce()
      expect(ids()).toEqual(['carol'])
      expect(p.onlineCount).toBe(3)
    })

    it('spreads the fetches of many clients over the jitter', async () => {
      const p = usePresenceStore()
      p.resync(250, () => 1)
      await vi.advanceTimersByTimeAsync(RESYNC_QUIET_MS + RESYNC_JITTER_MS - 1)
      expect(api.getPresence).not.toHaveBeenCalled()
      await vi.advanceTimersByTimeAsync(1)
      expect(api.getPresence).toHaveBeenCalledOnce()
    })

    it('a burst that goes on still refreshes the list within the longest wait', async () => {
      const p = usePresenceStore()
      const seconds = RESYNC_MAX_MS / 1000 + 15
      for (let s = 0; s < seconds; s++) {
        p.resync(100 + s, noJitter) // a sync every second
        await vi.advanceTimersByTimeAsync(1000)
      }
      expect(api.getPresence).toHaveBeenCalledOnce() // at RESYNC_MAX_MS
      await vi.advanceTimersByTimeAsync(RESYNC_QUIET_MS) // the syncs stopped
      expect(api.getPresence).toHaveBeenCalledTimes(2)
    })

    it('logging out cancels the fetch', async () => {
      const p = usePresenceStore()
      p.resync(250, noJitter)
      p.reset()
      await vi.advanceTimersByTimeAsync(RESYNC_MAX_MS + RESYNC_JITTER_MS)
      expect(api.getPresence).not.toHaveBeenCalled()
      expect(p.onlineCount).toBe(0)
    })
  })
})
