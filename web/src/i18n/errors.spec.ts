import { describe, expect, it } from 'vitest'
import { ApiError, BAD_RESPONSE, FILE_TOO_LARGE, NETWORK_ERROR, SERVER_UNAVAILABLE } from '@/api/client'
import { errorField, errorText } from './errors'
import { i18n, type Locale } from '.'
import en from './locales/en'
import zhCN from './locales/zh-CN'

function tr(locale: Locale) {
  const g = i18n.global
  return {
    t: (key: string) => g.t(key, {}, { locale }),
    te: (key: string) => g.te(key, locale),
  }
}

// Every code the server contract names, plus the client's own.
const CODES = [
  'username_invalid',
  'username_taken',
  'nickname_invalid',
  'password_too_short',
  'password_too_long',
  'password_common',
  'password_same_as_username',
  'avatar_too_large',
  'avatar_unsupported',
  'avatar_too_many_pixels',
  'avatar_invalid',
  'too_many_attempts',
  'forbidden_origin',
  'internal',
  'invalid_credentials',
  'invalid_input',
  'unauthorized',
  'image_too_large',
  'image_unsupported',
  'image_too_many_pixels',
  'image_invalid',
  'voice_too_large',
  'voice_unsupported',
  'voice_too_long',
  'voice_invalid',
  'duration_invalid',
  'waveform_invalid',
  'media_not_found',
  'media_already_sent',
  NETWORK_ERROR,
  SERVER_UNAVAILABLE,
  BAD_RESPONSE,
  FILE_TOO_LARGE,
  // The browser's own: pictures and the microphone.
  'too_many_images',
  'voice_too_short',
  'voice_play_failed',
  'mic_unsupported',
  'mic_insecure',
  'mic_not_found',
  'mic_denied',
  'mic_busy',
  'mic_failed',
]

function keys(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}

describe('error messages', () => {
  it('both locales have the same keys', () => {
    expect(keys(zhCN).sort()).toEqual(keys(en).sort())
  })

  it.each(CODES)('%s has its own message in en and zh-CN', (code) => {
    const err = new ApiError(400, code, 'server words')
    const inEn = errorText(err, undefined, tr('en'))
    const inZh = errorText(err, undefined, tr('zh-CN'))
    expect(inEn).not.toBe('server words')
    expect(inZh).not.toBe('server words')
    expect(inZh).not.toBe(inEn)
  })

  it('uses the wording the brief asks for at login', () => {
    expect(errorText(new ApiError(401, 'invalid_credentials', ''), 'login', tr('en'))).toBe('Wrong username or password.')
    expect(errorText(new ApiError(429, 'too_many_attempts', ''), 'login', tr('en'))).toBe(
      'Too many failed attempts, try again in 15 minutes.',
    )
  })

  it('words too_many_attempts differently for registration', () => {
    const reg = errorText(new ApiError(429, 'too_many_attempts', ''), 'register', tr('en'))
    expect(reg).toMatch(/accounts were created/)
  })

  it('shows the server message for a code it does not know', () => {
    expect(errorText(new ApiError(418, 'teapot', 'I am a teapot.'), 'login', tr('zh-CN'))).toBe('I am a teapot.')
    expect(errorText(new ApiError(400, 'errors', 'x'), undefined, tr('en'))).toBe('x')
  })

  it('translates client-side codes given as strings', () => {
    expect(errorText('password_too_short', 'register', tr('zh-CN'))).toBe('密码至少需要 8 个字符。')
  })

  it('has a fallback for anything else thrown', () => {
    expect(errorText(new Error('boom'), undefined, tr('en'))).toBe('Something went wrong. Please try again.')
  })

  it('finds the field from the server or from the code', () => {
    expect(errorField(new ApiError(409, 'username_taken', '', 'username'))).toBe('username')
    expect(errorField(new ApiError(415, 'avatar_unsupported', ''))).toBe('avatar')
    expect(errorField(new ApiError(400, 'password_common', ''))).toBe('password')
    expect(errorField(new ApiError(403, 'forbidden_origin', ''))).toBeNull()
    expect(errorField(new Error('x'))).toBeNull()
  })
})
