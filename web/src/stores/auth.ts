import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import * as api from '@/api/client'
import type { RegisterInput, User } from '@/api/types'

/** Who is logged in. `checked` stays false until the first /api/auth/me answers. */
export const useAuthStore = defineStore('auth', () => {
  const user = ref<User | null>(null)
  const checked = ref(false)
  /** Set when /api/auth/me failed for another reason than 401 (e.g. the server is down). */
  const checkError = ref<api.ApiError | null>(null)

  const loggedIn = computed(() => user.value !== null)

  /** Asks the server who we are: 200 logs in, 401 (or any failure) leaves us logged out. */
  async function fetchMe(): Promise<void> {
    checkError.value = null
    try {
      user.value = await api.me()
    } catch (err) {
      user.value = null
      if (err instanceof api.ApiError && err.status !== 401) checkError.value = err
      else if (!(err instanceof api.ApiError)) throw err
    } finally {
      checked.value = true
    }
  }

  /** Logs in; throws ApiError on failure and leaves the state as it was. */
  async function login(username: string, password: string): Promise<User> {
    const u = await api.login(username, password)
    user.value = u
    checkError.value = null
    return u
  }

  /** Creates an account without logging in (the login modal follows). */
  async function register(input: RegisterInput): Promise<User> {
    return api.register(input)
  }

  /** Logs out on the server; the local user is cleared even if that request fails. */
  async function logout(): Promise<void> {
    try {
      await api.logout()
    } finally {
      user.value = null
    }
  }

  return { user, checked, checkError, loggedIn, fetchMe, login, register, logout }
})
