import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { nextTick } from 'vue'
import * as api from '@/api/client'
import PeoplePane from './PeoplePane.vue'
import { mountApp } from '@/test/mountApp'
import { i18n } from '@/i18n'
import { usePresenceStore } from '@/stores/presence'
import { user } from '@/test/chatFixtures'
import { settle } from '@/test/mountApp'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, listUsers: vi.fn() }
})

let wrapper: VueWrapper | undefined
beforeEach(() => {
  vi.mocked(api.listUsers).mockResolvedValue({ users: [], next_cursor: '' })
})
afterEach(() => {
  wrapper?.unmount()
})

/** The pane with n people online, most recent first: member000 … */
async function mountWithOnline(n: number): Promise<VueWrapper> {
  wrapper = mountApp(PeoplePane)
  const presence = usePresenceStore()
  for (let i = n - 1; i >= 0; i--) {
    const u = user(`member${String(i).padStart(3, '0')}`)
    presence.applyDelta({ user: { ...u, online_since: '2026-11-26T09:00:00.000Z' }, online: true, online_count: n - i })
  }
  await nextTick()
  return wrapper
}

const rows = (w: VueWrapper) => w.findAll('.people-online .person-item')

describe('PeoplePane', () => {
  it('shows the online list a hundred at a time', async () => {
    const w = await mountWithOnline(250)
    expect(rows(w)).toHaveLength(100)
    expect(rows(w)[0]!.attributes('data-user')).toBe('member000')
    const more = w.get('.show-more-online')
    expect(more.text()).toBe('Show 100 more online')
    await more.trigger('click')
    expect(rows(w)).toHaveLength(200)
    await w.get('.show-more-online').trigger('click')
    expect(rows(w)).toHaveLength(250)
    expect(w.find('.show-more-online').exists()).toBe(false)
  })

  it('searches the whole online list, and a search starts at the first page again', async () => {
    const w = await mountWithOnline(250)
    await w.get('.show-more-online').trigger('click')
    await w.get('input[type="search"]').setValue('member24')
    expect(rows(w).map((r) => r.attributes('data-user'))).toEqual([
      'member240', 'member241', 'member242', 'member243', 'member244', 'member245', 'member246', 'member247', 'member248', 'member249',
    ])
    await w.get('input[type="search"]').setValue('member')
    expect(rows(w)).toHaveLength(100)
  })

  it('says it in Chinese', async () => {
    const w = await mountWithOnline(101)
    i18n.global.locale.value = 'zh-CN'
    await nextTick()
    expect(w.get('.show-more-online').text()).toBe('再显示 1 位在线成员')
  })

  it('does not say nobody else is there while the directory has more pages', async () => {
    const online = user('member000')
    vi.mocked(api.listUsers).mockResolvedValue({ users: [online], next_cursor: 'page-2' })
    const w = await mountWithOnline(1) // the directory's first page: only people online
    await settle()
    expect(w.get('.people-offline').findAll('li')).toHaveLength(0)
    expect(w.text()).not.toContain('Nobody else yet.')
    expect(w.findAll('button').map((b) => b.text())).toContain('Show more')
  })

  it('loads avatars only as they scroll into view', async () => {
    const w = await mountWithOnline(3)
    expect(w.findAll('.people-online img.avatar').map((i) => i.attributes('loading'))).toEqual(['lazy', 'lazy', 'lazy'])
  })
})
