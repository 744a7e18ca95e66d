import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import * as api from '@/api/client'
import { bob, direct, lobby, msg, user } from '@/test/chatFixtures'
import { sortConversations, useConversationsStore } from './conversations'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, listConversations: vi.fn() }
})

const carol = user('carol', 'Carol')

beforeEach(() => {
  vi.clearAllMocks()
  setActivePinia(createPinia())
})

describe('conversations', () => {
  it('sorts the lobby first, then by last activity', () => {
    const old = direct(bob, { last_message: msg(1, { conversation_id: 'dm-bob', created_at: '2026-03-01T10:00:00.000Z' }) })
    const fresh = direct(carol, { last_message: msg(1, { conversation_id: 'dm-carol', created_at: '2026-03-01T11:00:00.000Z' }) })
    expect(sortConversations([old, fresh, lobby()]).map((c) => c.id)).toEqual(['lobby', 'dm-carol', 'dm-bob'])
  })

  it('a new message moves its conversation up and counts unless seen', async () => {
    vi.mocked(api.listConversations).mockResolvedValue([lobby(), direct(carol), direct(bob)])
    const s = useConversationsStore()
    await s.refresh()
    expect(s.onMessage(msg(1, { conversation_id: 'dm-bob' }), false)).toBe(true)
    expect(s.list.map((c) => c.id)).toEqual(['lobby', 'dm-bob', 'dm-carol'])
    expect(s.find('dm-bob')).toMatchObject({ unread: 1, last_message: { seq: 1 } })
    s.onMessage(msg(2, { conversation_id: 'dm-bob' }), true)
    expect(s.find('dm-bob')?.unread).toBe(1)
    s.onMessage(msg(1, { conversation_id: 'dm-bob' }), false) // an old one again: no change
    expect(s.find('dm-bob')).toMatchObject({ unread: 1, last_message: { seq: 2 } })
    expect(s.totalUnread).toBe(1)
    expect(s.onMessage(msg(1, { conversation_id: 'dm-unknown' }), false)).toBe(false)
  })

  it('read up to a seq leaves what came after as unread', async () => {
    vi.mocked(api.listConversations).mockResolvedValue([lobby({ unread: 5, last_message: msg(10) })])
    const s = useConversationsStore()
    await s.refresh()
    s.setRead('lobby', 8)
    expect(s.find('lobby')?.unread).toBe(2)
    s.setRead('lobby', 12)
    expect(s.find('lobby')?.unread).toBe(0)
  })

  it('an older refresh answer never overwrites a newer one', async () => {
    let first!: (v: ReturnType<typeof lobby>[]) => void
    vi.mocked(api.listConversations)
      .mockReturnValueOnce(new Promise((r) => (first = r)))
      .mockResolvedValueOnce([lobby({ unread: 2 })])
    const s = useConversationsStore()
    const a = s.refresh()
    await s.refresh()
    first([lobby({ unread: 9 })])
    await a
    expect(s.find('lobby')?.unread).toBe(2)
  })
})
