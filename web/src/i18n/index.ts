import { createI18n } from 'vue-i18n'
import en from './locales/en'
import zhCN from './locales/zh-CN'
import type { MessageSchema } from './schema'

/** The languages the UI speaks. */
export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

/** Any Chinese browser language gets zh-CN; everything else English. */
export function localeFromLanguages(languages: readonly string[]): Locale {
  const first = languages[0] ?? ''
  return first.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
}

/** The app's one i18n instance (composition API). */
export const i18n = createI18n<[MessageSchema], Locale, false>({
  legacy: false,
  locale: 'en',
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
})
