import { ref } from 'vue'
import { defineStore } from 'pinia'

/** How long "X is typing…" stays after the last typing frame. */
export const TYPING_SHOW_MS = 5000

/** Who is typing where; each entry expires TYPING_SHOW_MS after its last typing frame. */
export const useTypingStore = defineStore('typing', () => {
  /** conversation id → user ids typing there, in the order they started. */
  const byConversation = ref<Record<string, string[]>>({})
  const timers = new Map<string, ReturnType<typeof setTimeout>>()

  const key = (conv: string, user: string) => `${conv}\u0000${user}`

  /** Someone typed in a conversation. */
  function add(conversationId: string, userId: string): void {
    const list = (byConversation.value[conversationId] ??= [])
    if (!list.includes(userId)) list.push(userId)
    const k = key(conversationId, userId)
    clearTimeout(timers.get(k))
    timers.set(
      k,
      setTimeout(() => remove(conversationId, userId), TYPING_SHOW_MS),
    )
  }

  /** They stopped (timed out, or their message arrived). */
  function remove(conversationId: string, userId: string): void {
    const k = key(conversationId, userId)
    clearTimeout(timers.get(k))
    timers.delete(k)
    const list = byConversation.value[conversationId]
    if (!list) return
    const i = list.indexOf(userId)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) delete byConversation.value[conversationId]
  }

  function typing(conversationId: string): readonly string[] {
    return byConversation.value[conversationId] ?? []
  }

  /** Forgets everything (logout). */
  function reset(): void {
    for (const t of timers.values()) clearTimeout(t)
    timers.clear()
    byConversation.value = {}
  }

  return { byConversation, add, remove, typing, reset }
})
