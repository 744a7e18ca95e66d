import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import * as api from '@/api/client'
import { LOBBY_ID, type Conversation, type Message } from '@/api/types'

/** The lobby first, then private conversations by last activity (newest first). */
export function sortConversations(list: Conversation[]): Conversation[] {
  const rank = (c: Conversation) => (c.id === LOBBY_ID ? 0 : c.kind === 'room' ? 1 : 2)
  return [...list].sort((a, b) => {
    const r = rank(a) - rank(b)
    if (r !== 0) return r
    const ta = a.last_message?.created_at ?? ''
    const tb = b.last_message?.created_at ?? ''
    return tb.localeCompare(ta)
  })
}

/** The conversation list: last message and unread count of each, and which one is open. */
export const useConversationsStore = defineStore('conversations', () => {
  const list = ref<Conversation[]>([])
  const loaded = ref(false)
  const activeId = ref<string | null>(null)
  let refreshSeq = 0

  const active = computed(() => list.value.find((c) => c.id === activeId.value) ?? null)
  const totalUnread = computed(() => list.value.reduce((n, c) => n + Math.max(0, c.unread), 0))

  function find(id: string): Conversation | undefined {
    return list.value.find((c) => c.id === id)
  }

  /** Reloads the list from the server (the authority on unread counts and last messages). */
  async function refresh(): Promise<void> {
    const mine = ++refreshSeq
    const fresh = await api.listConversations()
    if (mine !== refreshSeq) return // a newer refresh is under way
    list.value = sortConversations(fresh)
    loaded.value = true
  }

  /** Adds or replaces one conversation (e.g. a private one just opened). */
  function upsert(c: Conversation): Conversation {
    const i = list.value.findIndex((x) => x.id === c.id)
    if (i >= 0) list.value[i] = { ...list.value[i], ...c }
    else list.value.push(c)
    list.value = sortConversations(list.value)
    return find(c.id)!
  }

  /**
   * A new message: becomes the conversation's last message and counts as unread unless
   * `seen`. Returns false when the conversation is not in the list (the caller refreshes).
   */
  function onMessage(m: Message, seen: boolean): boolean {
    const c = find(m.conversation_id)
    if (!c) return false
    const last = c.last_message
    if (!last || m.seq > last.seq) {
      c.last_message = m
      if (!seen) c.unread += 1
    }
    list.value = sortConversations(list.value)
    return true
  }

  /** Read up to `seq` (here or in another tab): what remains unread is what came after. */
  function setRead(id: string, seq: number): void {
    const c = find(id)
    if (!c) return
    const last = c.last_message?.seq ?? 0
    c.unread = Math.max(0, Math.min(c.unread, last - seq))
  }

  function open(id: string | null): void {
    activeId.value = id
  }

  /** Forgets everything (logout). */
  function reset(): void {
    list.value = []
    loaded.value = false
    activeId.value = null
    refreshSeq++
  }

  return { list, loaded, activeId, active, totalUnread, find, refresh, upsert, onMessage, setRead, open, reset }
})
