import { useI18n } from 'vue-i18n'
import { errorText, type ErrorContext } from '@/i18n/errors'

/** Turns any thrown value (or a client-side error code) into a message in the current language. */
export function useErrorText(context?: ErrorContext): (err: unknown) => string {
  const { t, te } = useI18n()
  const tr = { t: (key: string) => t(key), te: (key: string) => te(key) }
  return (err: unknown) => errorText(err, context, tr)
}
