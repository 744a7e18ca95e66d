import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useModalStore } from './modals'

beforeEach(() => {
  setActivePinia(createPinia())
})

describe('modal store', () => {
  it('opens one modal at a time', () => {
    const m = useModalStore()
    m.openRegister()
    expect(m.open).toBe('register')
    m.openLogin()
    expect(m.open).toBe('login')
    expect(m.loginUsername).toBe('')
    expect(m.justRegistered).toBe(false)
    m.close()
    expect(m.open).toBeNull()
  })

  it('hands a new account over to the login modal', () => {
    const m = useModalStore()
    m.openRegister()
    m.openLogin({ username: 'alice', justRegistered: true })
    expect(m.open).toBe('login')
    expect(m.loginUsername).toBe('alice')
    expect(m.justRegistered).toBe(true)
    m.close()
    expect(m.justRegistered).toBe(false)
  })
})
