import { ref, watch } from 'vue'
import { defineStore } from 'pinia'
import { i18n, isLocale, localeFromLanguages, type Locale } from '@/i18n'

/** Where the chosen language is remembered. */
export const LOCALE_KEY = 'chatroom.locale'

function readSaved(): Locale | null {
  try {
    const saved = localStorage.getItem(LOCALE_KEY)
    return isLocale(saved) ? saved : null
  } catch {
    return null // storage disabled
  }
}

function browserLanguages(): readonly string[] {
  if (navigator.languages && navigator.languages.length > 0) return navigator.languages
  return navigator.language ? [navigator.language] : []
}

/** The UI language: remembered choice, else the browser's; applied to vue-i18n, <html lang> and the title. */
export const useLocaleStore = defineStore('locale', () => {
  const locale = ref<Locale>(readSaved() ?? localeFromLanguages(browserLanguages()))

  function apply(l: Locale): void {
    i18n.global.locale.value = l
    document.documentElement.lang = l
    document.title = i18n.global.t('app.title')
  }

  /** Switches the language and remembers the choice. */
  function setLocale(l: Locale): void {
    locale.value = l
    try {
      localStorage.setItem(LOCALE_KEY, l)
    } catch {
      // storage disabled: the choice lasts for this page only
    }
  }

  watch(locale, apply, { immediate: true })

  return { locale, setLocale }
})
