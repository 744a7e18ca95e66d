import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import * as api from '@/api/client'
import type { SearchPage } from '@/api/types'
import { useConversationsStore } from '@/stores/conversations'
import { useSearchStore } from '@/stores/search'
import { bob, direct, lobby, msg } from '@/test/chatFixtures'
import { mountApp, settle } from '@/test/mountApp'
import SearchPanel from './SearchPanel.vue'

const openAt = vi.fn()
vi.mock('@/composables/useChatSocket', () => ({ useChatSocket: () => ({ openAt }) }))
vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, searchMessages: vi.fn() }
})

const results: SearchPage = {
  results: [
    { message: msg(12, { text: '我们明天开会讨论会议纪要 👋' }), conversation: lobby(), highlights: [[8, 10]] },
    { message: msg(5, { conversation_id: 'dm-bob', text: 'Meeting notes: 会议 at 3pm' }), conversation: direct(bob), highlights: [[15, 17]] },
    { message: msg(3, { kind: 'image', text: '' }), conversation: lobby(), highlights: [] },
  ],
  next_cursor: '',
}

let wrapper: VueWrapper | undefined
let opener: HTMLButtonElement

beforeEach(() => {
  vi.clearAllMocks()
  opener = document.createElement('button')
  document.body.appendChild(opener)
  opener.focus()
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
  opener.remove()
  vi.useRealTimers()
})

async function mountWithResults() {
  vi.mocked(api.searchMessages).mockResolvedValue(results)
  wrapper = mountApp(SearchPanel)
  const search = useSearchStore()
  search.openPanel()
  await wrapper.get('.search-input').setValue('会议')
  search.run()
  await settle()
  return { w: wrapper, search }
}

describe('SearchPanel', () => {
  it('takes the focus, and starts with a hint', async () => {
    wrapper = mountApp(SearchPanel)
    await settle()
    expect(document.activeElement).toBe(wrapper.get('.search-input').element)
    expect(wrapper.get('[role="dialog"]').attributes('aria-modal')).toBe('true')
    expect(wrapper.text()).toContain('Type the words you are looking for')
  })

  it('marks the matched words as text, and shows pictures by an icon and a label', async () => {
    const { w } = await mountWithResults()
    const items = w.findAll('[role="option"]')
    expect(items).toHaveLength(3)
    expect(items[0]!.findAll('mark').map((m) => m.text())).toEqual(['会议'])
    expect(items[0]!.get('.search-result-text').text()).toBe('我们明天开会讨论会议纪要 👋')
    expect(items[0]!.get('.search-result-where').text()).toBe('Lobby')
    expect(items[1]!.get('.search-result-where').text()).toBe('Bob')
    expect(items[1]!.findAll('mark').map((m) => m.text())).toEqual(['会议'])
    expect(items[2]!.get('.search-result-media').text()).toBe('Picture')
    expect(w.get('.search-count').text()).toBe('3 results')
  })

  it('a message that looks like HTML stays text', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue({
      results: [{ message: msg(1, { text: '<img src=x onerror=alert(1)> 会议' }), conversation: lobby(), highlights: [[29, 31]] }],
      next_cursor: '',
    })
    wrapper = mountApp(SearchPanel)
    useSearchStore().update({ q: '会议' }, { now: true })
    await settle()
    expect(wrapper.find('.search-result img:not(.avatar)').exists()).toBe(false)
    expect(wrapper.get('.search-result-text').text()).toBe('<img src=x onerror=alert(1)> 会议')
    expect(wrapper.get('mark').text()).toBe('会议')
  })

  it('waits for the input method: nothing is searched while a word is being composed', async () => {
    vi.useFakeTimers()
    vi.mocked(api.searchMessages).mockResolvedValue(results)
    wrapper = mountApp(SearchPanel)
    const input = wrapper.get('.search-input')
    await input.trigger('compositionstart')
    ;(input.element as HTMLInputElement).value = 'hui yi'
    await input.trigger('input')
    vi.advanceTimersByTime(1000)
    expect(api.searchMessages).not.toHaveBeenCalled()
    ;(input.element as HTMLInputElement).value = '会议'
    await input.trigger('compositionend')
    vi.advanceTimersByTime(250)
    expect(api.searchMessages).toHaveBeenCalledTimes(1)
    expect(api.searchMessages).toHaveBeenCalledWith({ q: '会议', limit: 20 })
  })

  it('↑/↓ move the active result (aria-activedescendant), Enter opens it', async () => {
    const { w, search } = await mountWithResults()
    const input = w.get('.search-input')
    expect(input.attributes('aria-activedescendant')).toBeUndefined()
    await input.trigger('keydown', { key: 'ArrowDown' })
    await input.trigger('keydown', { key: 'ArrowDown' })
    const options = w.findAll('[role="option"]')
    expect(options[1]!.attributes('aria-selected')).toBe('true')
    expect(options[0]!.attributes('aria-selected')).toBe('false')
    expect(input.attributes('aria-activedescendant')).toBe(options[1]!.attributes('id'))
    await input.trigger('keydown', { key: 'ArrowUp' })
    await input.trigger('keydown', { key: 'ArrowUp' })
    expect(w.findAll('[role="option"]')[2]!.attributes('aria-selected')).toBe('true') // wrapped
    await input.trigger('keydown', { key: 'ArrowDown' })
    await input.trigger('keydown', { key: 'ArrowDown' })
    await input.trigger('keydown', { key: 'Enter' })
    expect(openAt).toHaveBeenCalledWith('dm-bob', 5, results.results[1]!.conversation)
    expect(search.isOpen).toBe(false)
  })

  it('Enter during a composition picks the word, it opens nothing', async () => {
    const { w } = await mountWithResults()
    const input = w.get('.search-input')
    await input.trigger('keydown', { key: 'ArrowDown' })
    await input.trigger('keydown', { key: 'Enter', isComposing: true })
    await input.trigger('keydown', { key: 'Enter', keyCode: 229 })
    expect(openAt).not.toHaveBeenCalled()
  })

  it('a click opens a result', async () => {
    const { w } = await mountWithResults()
    await w.findAll('[role="option"]')[0]!.trigger('click')
    expect(openAt).toHaveBeenCalledWith('lobby', 12, results.results[0]!.conversation)
  })

  it('Esc closes and the focus goes back where it was', async () => {
    const { w, search } = await mountWithResults()
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    expect(search.isOpen).toBe(false)
    w.unmount()
    wrapper = undefined
    expect(document.activeElement).toBe(opener)
  })

  it('says so when nothing matches, and when the search failed (with a retry)', async () => {
    vi.mocked(api.searchMessages).mockResolvedValueOnce({ results: [], next_cursor: '' })
    wrapper = mountApp(SearchPanel)
    const search = useSearchStore()
    search.update({ q: 'nothing' }, { now: true })
    await settle()
    expect(wrapper.get('.search-empty').text()).toContain('No messages found')
    vi.mocked(api.searchMessages).mockRejectedValueOnce(new api.ApiError(0, 'network_error', 'x')).mockResolvedValueOnce(results)
    search.update({ q: 'again' }, { now: true })
    await settle()
    expect(wrapper.get('[role="alert"]').text()).toContain('The search failed.')
    await wrapper.get('[role="alert"] button').trigger('click')
    await settle()
    expect(wrapper.findAll('[role="option"]')).toHaveLength(3)
  })

  it('"This conversation" narrows the search to the open one; "All conversations" widens it again', async () => {
    vi.mocked(api.searchMessages).mockResolvedValue(results)
    wrapper = mountApp(SearchPanel)
    const conversations = useConversationsStore()
    conversations.list = [lobby(), direct(bob)]
    conversations.open('dm-bob')
    useSearchStore().update({ q: '会议' }, { now: true })
    await settle()
    const [all, here] = wrapper.findAll<HTMLInputElement>('.search-scope input[type="radio"]')
    expect(all!.element.checked).toBe(true)
    await here!.setValue(true)
    expect(vi.mocked(api.searchMessages).mock.lastCall?.[0]).toEqual({ q: '会议', conversation_id: 'dm-bob', limit: 20 })
    expect(here!.element.checked).toBe(true)
    await all!.setValue(true)
    expect(vi.mocked(api.searchMessages).mock.lastCall?.[0]).toEqual({ q: '会议', limit: 20 })
  })

  it('a date range ending before it starts is refused with a message', async () => {
    wrapper = mountApp(SearchPanel)
    vi.mocked(api.searchMessages).mockResolvedValue({ results: [], next_cursor: '' })
    await wrapper.get('.search-since').setValue('2026-03-05')
    await wrapper.get('.search-since').trigger('change')
    expect(api.searchMessages).toHaveBeenCalled() // a date alone is a filter
    await wrapper.get('.search-until').setValue('2026-03-01')
    await wrapper.get('.search-until').trigger('change')
    expect(wrapper.text()).toContain('The start date is after the end date.')
    expect(wrapper.get('.search-until').classes()).toContain('is-invalid')
    // The reversed range is never sent.
    expect(vi.mocked(api.searchMessages).mock.calls.every(([q]) => q.until === undefined)).toBe(true)
  })
})
