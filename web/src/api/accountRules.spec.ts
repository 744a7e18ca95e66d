import { describe, expect, it } from 'vitest'
import { checkAvatar, checkNickname, checkPassword, checkUsername } from './accountRules'

describe('account rules', () => {
  it.each([
    ['abc', null],
    ['alice_1', null],
    ['张三丰', null],
    ['a'.repeat(32), null],
    ['ab', 'username_invalid'],
    ['张三', 'username_invalid'],
    ['a'.repeat(33), 'username_invalid'],
    ['has space', 'username_invalid'],
    ['dash-ed', 'username_invalid'],
    ['', 'username_invalid'],
  ])('username %j → %s', (name, code) => expect(checkUsername(name)).toBe(code))

  it.each([
    ['Alice', null],
    ['  Alice  ', null],
    ['😀', null],
    ['x'.repeat(32), null],
    ['   ', 'nickname_invalid'],
    ['x'.repeat(33), 'nickname_invalid'],
    ['bell\u0007', 'nickname_invalid'],
  ])('nickname %j → %s', (nick, code) => expect(checkNickname(nick)).toBe(code))

  it('checks password length and the username', () => {
    expect(checkPassword('1234567', 'bob')).toBe('password_too_short')
    expect(checkPassword('x'.repeat(129), 'bob')).toBe('password_too_long')
    expect(checkPassword('x'.repeat(128), 'bob')).toBeNull()
    expect(checkPassword('Alice_2024', 'alice_2024')).toBe('password_same_as_username')
    expect(checkPassword('long enough pass', 'alice')).toBeNull()
  })

  it('checks the avatar type and size but leaves the bytes to the server', () => {
    expect(checkAvatar(null)).toBeNull()
    expect(checkAvatar(new File(['x'], 'a.png', { type: 'image/png' }))).toBeNull()
    expect(checkAvatar(new File(['<svg/>'], 'a.svg', { type: 'image/svg+xml' }))).toBe('avatar_unsupported')
    const big = new File([new Uint8Array(5 * 1024 * 1024 + 1)], 'big.jpg', { type: 'image/jpeg' })
    expect(checkAvatar(big)).toBe('avatar_too_large')
  })
})
