import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import type { User } from '@/api/types'
import type { PaneId } from '@/components/PaneTabs.vue'

/** Phones show one pane at a time below this width (Bootstrap's md breakpoint). */
export const WIDE_QUERY = '(min-width: 768px)'

function mediaMatches(query: string): boolean {
  return typeof window.matchMedia === 'function' ? window.matchMedia(query).matches : true
}

/**
 * What the person is looking at: the pane on a phone, whether the page is visible, which
 * person's card and which picture are open, and the unsent text of each conversation.
 */
export const useUiStore = defineStore('ui', () => {
  const pane = ref<PaneId>('messages')
  const wide = ref(mediaMatches(WIDE_QUERY))
  const visible = ref(document.visibilityState !== 'hidden')
  const personCard = ref<User | null>(null)
  const drafts = ref<Record<string, string>>({})
  /** The picture open in the full-size viewer. */
  const viewer = ref<{ conversationId: string; messageId: string } | null>(null)

  /** True when the messages pane is on screen (always on a wide screen; the tab on a phone). */
  const messagesShown = computed(() => visible.value && (wide.value || pane.value === 'messages'))

  let listening = false
  /** Follows visibility and the screen width; once per app. */
  function listen(): void {
    if (listening) return
    listening = true
    document.addEventListener('visibilitychange', () => (visible.value = document.visibilityState !== 'hidden'))
    if (typeof window.matchMedia === 'function') {
      const mq = window.matchMedia(WIDE_QUERY)
      wide.value = mq.matches
      mq.addEventListener?.('change', (e) => (wide.value = e.matches))
    }
  }

  function showPerson(u: User): void {
    personCard.value = u
  }
  function closePerson(): void {
    personCard.value = null
  }

  function openImage(conversationId: string, messageId: string): void {
    viewer.value = { conversationId, messageId }
  }
  function closeImage(): void {
    viewer.value = null
  }

  return { pane, wide, visible, personCard, drafts, viewer, messagesShown, listen, showPerson, closePerson, openImage, closeImage }
})
