/**
 * The account rules the server enforces, mirrored for instant feedback.
 * Each check returns the server's own error code, so one message table serves both.
 * The server stays the authority (it also checks common passwords and image bytes).
 */

export const USERNAME_MIN = 3
export const USERNAME_MAX = 32
export const NICKNAME_MAX = 32
export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 128
export const AVATAR_MAX_BYTES = 5 * 1024 * 1024
export const AVATAR_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const

const usernameChars = /^[\p{L}\p{Nd}_]+$/u
const controlChars = /\p{Cc}/u

/** Length in characters (code points), as the server counts. */
function chars(s: string): number {
  return [...s].length
}

export function checkUsername(username: string): string | null {
  const n = chars(username)
  if (n < USERNAME_MIN || n > USERNAME_MAX || !usernameChars.test(username)) return 'username_invalid'
  return null
}

export function checkNickname(nickname: string): string | null {
  const trimmed = nickname.trim()
  const n = chars(trimmed)
  if (n < 1 || n > NICKNAME_MAX || controlChars.test(trimmed)) return 'nickname_invalid'
  return null
}

export function checkPassword(password: string, username: string): string | null {
  const n = chars(password)
  if (n < PASSWORD_MIN) return 'password_too_short'
  if (n > PASSWORD_MAX) return 'password_too_long'
  if (username !== '' && password.toLowerCase() === username.toLowerCase()) return 'password_same_as_username'
  return null
}

/** Checks the declared type and the size; the server sniffs the bytes. */
export function checkAvatar(file: File | null | undefined): string | null {
  if (!file) return null
  if (!(AVATAR_TYPES as readonly string[]).includes(file.type)) return 'avatar_unsupported'
  if (file.size > AVATAR_MAX_BYTES) return 'avatar_too_large'
  return null
}
