import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { nextTick } from 'vue'
import LoginModal from './LoginModal.vue'
import { mountApp, settle } from '@/test/mountApp'
import * as api from '@/api/client'
import { useAuthStore } from '@/stores/auth'
import { useModalStore } from '@/stores/modals'
import { i18n } from '@/i18n'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, login: vi.fn() }
})

const alice = { id: 'u1', username: 'alice', nickname: 'Alice', avatar_url: '/a', created_at: '' }
let wrapper: VueWrapper | undefined
beforeEach(() => {
  vi.mocked(api.login).mockReset()
})
afterEach(() => wrapper?.unmount())

async function submit(w: VueWrapper, username: string, password: string) {
  await w.get('#login-username').setValue(username)
  await w.get('#login-password').setValue(password)
  await w.get('form').trigger('submit')
  await settle()
}

describe('LoginModal', () => {
  it.each([
    [new api.ApiError(401, 'invalid_credentials', 'x'), 'Wrong username or password.'],
    [new api.ApiError(429, 'too_many_attempts', 'x'), 'Too many failed attempts, try again in 15 minutes.'],
    [new api.ApiError(0, api.NETWORK_ERROR, 'x'), 'Can’t reach the server.'],
    [new api.ApiError(400, 'something_new', 'The server explains.'), 'The server explains.'],
  ])('shows %s inside the modal', async (err, text) => {
    vi.mocked(api.login).mockRejectedValue(err)
    wrapper = mountApp(LoginModal)
    await submit(wrapper, 'alice', 'whatever-pass')
    expect(wrapper.get('.alert-danger').text()).toContain(text)
  })

  it('re-words a shown error when the language changes', async () => {
    vi.mocked(api.login).mockRejectedValue(new api.ApiError(401, 'invalid_credentials', 'x'))
    wrapper = mountApp(LoginModal)
    await submit(wrapper, 'alice', 'whatever-pass')
    i18n.global.locale.value = 'zh-CN'
    await nextTick()
    expect(wrapper.get('.alert-danger').text()).toBe('用户名或密码错误。')
    i18n.global.locale.value = 'en'
  })

  it('asks for empty fields without calling the server', async () => {
    wrapper = mountApp(LoginModal)
    await submit(wrapper, '  ', '')
    expect(api.login).not.toHaveBeenCalled()
    expect(wrapper.text()).toContain('Enter your username.')
    expect(wrapper.text()).toContain('Enter your password.')
  })

  it('logs in and closes', async () => {
    vi.mocked(api.login).mockResolvedValue(alice)
    wrapper = mountApp(LoginModal)
    const modals = useModalStore()
    modals.openLogin()
    await submit(wrapper, ' alice ', 'right-password')
    expect(api.login).toHaveBeenCalledWith('alice', 'right-password')
    expect(useAuthStore().user).toEqual(alice)
    expect(modals.open).toBeNull()
  })

  it('after registration: prefilled username, focused password, green note', async () => {
    const pinia = (await import('pinia')).createPinia()
    ;(await import('pinia')).setActivePinia(pinia)
    useModalStore().openLogin({ username: 'alice', justRegistered: true })
    wrapper = mountApp(LoginModal, { global: { plugins: [pinia, i18n] } })
    await settle()
    expect((wrapper.get('#login-username').element as HTMLInputElement).value).toBe('alice')
    expect(document.activeElement?.id).toBe('login-password')
    expect(wrapper.get('.alert-success').text()).toBe('Account created — log in now.')
  })
})
