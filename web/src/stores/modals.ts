import { ref } from 'vue'
import { defineStore } from 'pinia'

/** The auth modals: which one is open, and what the login modal starts with. */
export type ModalName = 'login' | 'register'

export const useModalStore = defineStore('modals', () => {
  const open = ref<ModalName | null>(null)
  /** Username to prefill in the login modal. */
  const loginUsername = ref('')
  /** True when the login modal follows a successful registration. */
  const justRegistered = ref(false)

  function openLogin(prefill?: { username: string; justRegistered?: boolean }): void {
    loginUsername.value = prefill?.username ?? ''
    justRegistered.value = prefill?.justRegistered ?? false
    open.value = 'login'
  }

  function openRegister(): void {
    justRegistered.value = false
    open.value = 'register'
  }

  function close(): void {
    open.value = null
    justRegistered.value = false
  }

  return { open, loginUsername, justRegistered, openLogin, openRegister, close }
})
