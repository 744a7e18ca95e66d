import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useAuthStore } from './auth'
import * as api from '@/api/client'
import type { User } from '@/api/types'

vi.mock('@/api/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/api/client')>()
  return { ...real, me: vi.fn(), login: vi.fn(), register: vi.fn(), logout: vi.fn() }
})

const alice: User = {
  id: 'u1',
  username: 'alice',
  nickname: 'Alice',
  avatar_url: '/api/users/u1/avatar?v=1',
  created_at: '2026-01-01T00:00:00.000Z',
}

beforeEach(() => {
  setActivePinia(createPinia())
  vi.mocked(api.me).mockReset()
  vi.mocked(api.login).mockReset()
  vi.mocked(api.register).mockReset()
  vi.mocked(api.logout).mockReset()
})

describe('auth store', () => {
  it('is unchecked until /me answers', () => {
    const auth = useAuthStore()
    expect(auth.checked).toBe(false)
    expect(auth.loggedIn).toBe(false)
  })

  it('fetchMe 200 logs in', async () => {
    vi.mocked(api.me).mockResolvedValue(alice)
    const auth = useAuthStore()
    await auth.fetchMe()
    expect(auth.checked).toBe(true)
    expect(auth.user).toEqual(alice)
    expect(auth.loggedIn).toBe(true)
    expect(auth.checkError).toBeNull()
  })

  it('fetchMe 401 is logged out without an error', async () => {
    vi.mocked(api.me).mockRejectedValue(new api.ApiError(401, 'unauthorized', 'Please log in.'))
    const auth = useAuthStore()
    await auth.fetchMe()
    expect(auth.checked).toBe(true)
    expect(auth.user).toBeNull()
    expect(auth.checkError).toBeNull()
  })

  it('fetchMe on a dead server is logged out and remembers why', async () => {
    vi.mocked(api.me).mockRejectedValue(new api.ApiError(0, api.NETWORK_ERROR, 'Failed to fetch'))
    const auth = useAuthStore()
    await auth.fetchMe()
    expect(auth.checked).toBe(true)
    expect(auth.user).toBeNull()
    expect(auth.checkError?.code).toBe(api.NETWORK_ERROR)
  })

  it('login success sets the user', async () => {
    vi.mocked(api.login).mockResolvedValue(alice)
    const auth = useAuthStore()
    await expect(auth.login('alice', 'pw-12345678')).resolves.toEqual(alice)
    expect(api.login).toHaveBeenCalledWith('alice', 'pw-12345678')
    expect(auth.user).toEqual(alice)
  })

  it('login failure throws and stays logged out', async () => {
    vi.mocked(api.login).mockRejectedValue(new api.ApiError(401, 'invalid_credentials', 'Wrong.'))
    const auth = useAuthStore()
    await expect(auth.login('alice', 'wrong-pass')).rejects.toMatchObject({ code: 'invalid_credentials' })
    expect(auth.user).toBeNull()
  })

  it('register returns the new user but does not log in', async () => {
    vi.mocked(api.register).mockResolvedValue(alice)
    const auth = useAuthStore()
    const input = { username: 'alice', nickname: 'Alice', password: 'pw-12345678', avatar: null }
    await expect(auth.register(input)).resolves.toEqual(alice)
    expect(api.register).toHaveBeenCalledWith(input)
    expect(auth.user).toBeNull()
  })

  it('logout clears the user', async () => {
    vi.mocked(api.login).mockResolvedValue(alice)
    vi.mocked(api.logout).mockResolvedValue()
    const auth = useAuthStore()
    await auth.login('alice', 'pw-12345678')
    await auth.logout()
    expect(api.logout).toHaveBeenCalledOnce()
    expect(auth.user).toBeNull()
  })

  it('logout clears the user even when the request fails', async () => {
    vi.mocked(api.login).mockResolvedValue(alice)
    vi.mocked(api.logout).mockRejectedValue(new api.ApiError(0, api.NETWORK_ERROR, 'down'))
    const auth = useAuthStore()
    await auth.login('alice', 'pw-12345678')
    await expect(auth.logout()).rejects.toBeInstanceOf(api.ApiError)
    expect(auth.user).toBeNull()
  })

  it('endSession (the server closed the socket with 4001) logs out and says why', async () => {
    vi.mocked(api.login).mockResolvedValue(alice)
    const auth = useAuthStore()
    await auth.login('alice', 'pw-12345678')
    auth.endSession()
    expect(auth.user).toBeNull()
    expect(auth.sessionEnded).toBe(true)
    await auth.login('alice', 'pw-12345678')
    expect(auth.sessionEnded).toBe(false)
  })

  it('a session ending during our own logout is no surprise', async () => {
    vi.mocked(api.login).mockResolvedValue(alice)
    let done!: () => void
    vi.mocked(api.logout).mockReturnValue(new Promise<void>((r) => (done = r)))
    const auth = useAuthStore()
    await auth.login('alice', 'pw-12345678')
    const out = auth.logout()
    auth.endSession() // the server closes the socket before the logout answer arrives
    done()
    await out
    expect(auth.user).toBeNull()
    expect(auth.sessionEnded).toBe(false)
  })
})
