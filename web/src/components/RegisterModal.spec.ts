import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import RegisterModal from './RegisterModal.vue'
import { mountApp, settle } from '@/test/mountApp'
import * as api from '@/api/client'
import { useModalStore } from '@/stores/modals'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, register: vi.fn() }
})

let wrapper: VueWrapper | undefined
beforeEach(() => {
  vi.mocked(api.register).mockReset()
})
afterEach(() => wrapper?.unmount())

async function fill(w: VueWrapper, v: { username?: string; nickname?: string; password?: string }) {
  if (v.username !== undefined) await w.get('#register-username').setValue(v.username)
  if (v.nickname !== undefined) await w.get('#register-nickname').setValue(v.nickname)
  if (v.password !== undefined) await w.get('#register-password').setValue(v.password)
}

function pickAvatar(w: VueWrapper, file: File) {
  const input = w.get<HTMLInputElement>('#register-avatar').element
  Object.defineProperty(input, 'files', { value: [file], configurable: true })
  return w.get('#register-avatar').trigger('change')
}

describe('RegisterModal', () => {
  it('checks the fields on submit and sends nothing while they are wrong', async () => {
    wrapper = mountApp(RegisterModal)
    await fill(wrapper, { username: 'ab', nickname: '   ', password: 'short' })
    await wrapper.get('form').trigger('submit')
    expect(api.register).not.toHaveBeenCalled()
    expect(wrapper.get('#register-username').classes()).toContain('is-invalid')
    expect(wrapper.get('#register-nickname').classes()).toContain('is-invalid')
    expect(wrapper.get('#register-password').classes()).toContain('is-invalid')
    const text = wrapper.text()
    expect(text).toContain('Usernames are 3–32 letters')
    expect(text).toContain('The password needs at least 8 characters.')
    expect(document.activeElement?.id).toBe('register-username')
  })

  it('refuses a password equal to the username', async () => {
    wrapper = mountApp(RegisterModal)
    await fill(wrapper, { username: 'alice_123', nickname: 'Alice', password: 'Alice_123' })
    await wrapper.get('form').trigger('submit')
    expect(api.register).not.toHaveBeenCalled()
    expect(wrapper.text()).toContain('The password must not be your username.')
  })

  it('shows a server field error under its field, in the user language, until the field changes', async () => {
    vi.mocked(api.register).mockRejectedValue(
      new api.ApiError(409, 'username_taken', 'Username taken.', 'username'),
    )
    wrapper = mountApp(RegisterModal)
    await fill(wrapper, { username: 'alice', nickname: 'Alice', password: 'long-enough-1' })
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(wrapper.get('#register-username').classes()).toContain('is-invalid')
    expect(wrapper.get('.invalid-feedback').text()).toBe('This username is already taken.')
    expect(wrapper.find('.alert-danger').exists()).toBe(false)
    await fill(wrapper, { username: 'alice2' })
    expect(wrapper.get('#register-username').classes()).not.toContain('is-invalid')
  })

  it('shows an error without a field at the top of the form', async () => {
    vi.mocked(api.register).mockRejectedValue(new api.ApiError(429, 'too_many_attempts', 'Slow down.'))
    wrapper = mountApp(RegisterModal)
    await fill(wrapper, { username: 'alice', nickname: 'Alice', password: 'long-enough-1' })
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(wrapper.get('.alert-danger').text()).toContain('Too many accounts were created')
  })

  it('puts an avatar error from the server under the picker', async () => {
    vi.mocked(api.register).mockRejectedValue(new api.ApiError(415, 'avatar_unsupported', 'Not an image.'))
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:x')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    wrapper = mountApp(RegisterModal)
    await fill(wrapper, { username: 'alice', nickname: 'Alice', password: 'long-enough-1' })
    await pickAvatar(wrapper, new File(['text'], 'fake.png', { type: 'image/png' }))
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(wrapper.get('.avatar-picker .invalid-feedback').text()).toBe('Only JPEG, PNG, GIF or WebP pictures can be used.')
  })

  it('shows a spinner and disables submit while pending, then hands over to login', async () => {
    let resolve!: (u: Awaited<ReturnType<typeof api.register>>) => void
    vi.mocked(api.register).mockReturnValue(new Promise((r) => (resolve = r)))
    wrapper = mountApp(RegisterModal)
    const modals = useModalStore()
    modals.openRegister()
    await fill(wrapper, { username: 'alice', nickname: '  Alice  ', password: 'long-enough-1' })
    await wrapper.get('form').trigger('submit')
    const button = wrapper.get('button[type="submit"]')
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.find('.spinner-border').exists()).toBe(true)
    expect(api.register).toHaveBeenCalledWith({
      username: 'alice',
      nickname: 'Alice',
      password: 'long-enough-1',
      avatar: null,
    })
    resolve({ id: 'u1', username: 'alice', nickname: 'Alice', avatar_url: '/a', created_at: '' })
    await settle()
    expect(modals.open).toBe('login')
    expect(modals.loginUsername).toBe('alice')
    expect(modals.justRegistered).toBe(true)
  })

  it('revokes the preview URL when the avatar changes and when the modal closes', async () => {
    let n = 0
    vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:p/${++n}`)
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    wrapper = mountApp(RegisterModal)
    await pickAvatar(wrapper, new File(['1'], 'one.png', { type: 'image/png' }))
    expect(wrapper.get('.avatar-preview img').attributes('src')).toBe('blob:p/1')
    await pickAvatar(wrapper, new File(['2'], 'two.png', { type: 'image/png' }))
    expect(revoke).toHaveBeenCalledWith('blob:p/1')
    expect(wrapper.get('.avatar-preview img').attributes('src')).toBe('blob:p/2')
    wrapper.unmount()
    wrapper = undefined
    expect(revoke).toHaveBeenCalledWith('blob:p/2')
  })

  it('refuses a picture type the server would refuse before sending', async () => {
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:x')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    wrapper = mountApp(RegisterModal)
    await pickAvatar(wrapper, new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' }))
    expect(wrapper.get('.avatar-picker .invalid-feedback').text()).toContain('Only JPEG, PNG, GIF or WebP')
    await fill(wrapper, { username: 'alice', nickname: 'Alice', password: 'long-enough-1' })
    await wrapper.get('form').trigger('submit')
    expect(api.register).not.toHaveBeenCalled()
  })
})
