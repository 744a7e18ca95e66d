import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick } from 'vue'
import { LOCALE_KEY, useLocaleStore } from './locale'
import { i18n, localeFromLanguages } from '@/i18n'

function browserLanguages(...langs: string[]) {
  vi.spyOn(navigator, 'languages', 'get').mockReturnValue(langs)
  vi.spyOn(navigator, 'language', 'get').mockReturnValue(langs[0] ?? '')
}

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})
afterEach(() => localStorage.clear())

describe('locale', () => {
  it.each([
    [['zh-CN'], 'zh-CN'],
    [['zh-TW', 'en'], 'zh-CN'],
    [['zh'], 'zh-CN'],
    [['ZH-hk'], 'zh-CN'],
    [['en-US', 'zh-CN'], 'en'],
    [['fr-FR'], 'en'],
    [[], 'en'],
  ])('browser %j → %s', (langs, want) => expect(localeFromLanguages(langs)).toBe(want))

  it('starts from the browser language and applies it to i18n, <html lang> and the title', () => {
    browserLanguages('zh-TW')
    const store = useLocaleStore()
    expect(store.locale).toBe('zh-CN')
    expect(i18n.global.locale.value).toBe('zh-CN')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(document.title).toBe('网页聊天室')
  })

  it('a remembered choice beats the browser', () => {
    browserLanguages('zh-CN')
    localStorage.setItem(LOCALE_KEY, 'en')
    expect(useLocaleStore().locale).toBe('en')
  })

  it('ignores a remembered value it does not know', () => {
    browserLanguages('en-GB')
    localStorage.setItem(LOCALE_KEY, 'klingon')
    expect(useLocaleStore().locale).toBe('en')
  })

  it('switching applies and remembers the language', async () => {
    browserLanguages('en-US')
    const store = useLocaleStore()
    store.setLocale('zh-CN')
    await nextTick()
    expect(localStorage.getItem(LOCALE_KEY)).toBe('zh-CN')
    expect(i18n.global.locale.value).toBe('zh-CN')
    expect(document.documentElement.lang).toBe('zh-CN')
    store.setLocale('en')
    await nextTick()
    expect(document.documentElement.lang).toBe('en')
    expect(document.title).toBe('WebChatRoom')
  })
})
