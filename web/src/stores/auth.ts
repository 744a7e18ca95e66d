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

  /** The server ended the session (logout in another tab, expiry): says so until the next login. */
  const sessionEnded = ref(false)

  const loggedIn = computed(() => user.value !== null)
  /** A logout of ours is under way: the socket closing with "session ended" is expected. */
  let leaving = false

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
    sessionEnded.value = false
    return u
  }

  /** Creates an account without logging in (the login modal follows). */
  async function register(input: RegisterInput): Promise<User> {
    return api.register(input)
  }

  /** Logs out on the server; the local user is cleared even if that request fails. */
  async function logout(): Promise<void> {
    leaving = true
    try {
      await api.logout()
    } finally {
      user.value = null
      leaving = false
    }
  }

  /** The server closed our session (WebSocket close 4001): we are logged out here too. */
  function endSession(): void {
    if (!user.value) return
    if (leaving) {
      user.value = null
      return
    }
    user.value = null
    sessionEnded.value = true
  }

  return { user, checked, checkError, sessionEnded, loggedIn, fetchMe, login, register, logout, endSession }
})
