import { ApiError } from '@/api/client'

/** A form whose errors can have their own wording (e.g. too_many_attempts). */
export type ErrorContext = 'login' | 'register'

type Translate = {
  t: (key: string) => string
  te: (key: string) => boolean
}

/** The message key for an error code, most specific first, or null when none is known. */
export function errorKey(code: string, context: ErrorContext | undefined, { te }: Pick<Translate, 'te'>): string | null {
  if (!/^[a-z0-9_]+$/.test(code)) return null
  if (context && te(`errors.${context}.${code}`)) return `errors.${context}.${code}`
  if (te(`errors.${code}`)) return `errors.${code}`
  return null
}

/** What to show a person for any thrown value, in the current language. */
export function errorText(err: unknown, context: ErrorContext | undefined, tr: Translate): string {
  if (err instanceof ApiError) {
    const key = errorKey(err.code, context, tr)
    if (key) return tr.t(key)
    return err.message // unknown code: the server's own words
  }
  if (typeof err === 'string') {
    const key = errorKey(err, context, tr)
    return key ? tr.t(key) : err
  }
  return tr.t('errors.unexpected')
}

/** The form field an error belongs to: the server's `field`, else guessed from the code's prefix. */
export function errorField(err: unknown): string | null {
  if (!(err instanceof ApiError)) return null
  if (err.field) return err.field
  const prefix = err.code.split('_')[0]
  return prefix && ['username', 'nickname', 'password', 'avatar'].includes(prefix) ? prefix : null
}
