import { useI18n } from 'vue-i18n'
import { LOBBY_ID, type Conversation, type Message } from '@/api/types'
import { useAuthStore } from '@/stores/auth'

/** Names of conversations and one-line previews of messages, in the current language. */
export function useChatLabels() {
  const { t } = useI18n()
  const auth = useAuthStore()

  function title(c: Conversation | null | undefined): string {
    if (!c) return ''
    if (c.id === LOBBY_ID) return t('chat.lobby')
    return c.peer?.nickname || c.title || c.peer?.username || t('chat.privateWith')
  }

  /** The message as one line of text (pictures and voice as a label). */
  function body(m: Pick<Message, 'kind' | 'text'>): string {
    if (m.kind === 'image') return t('preview.image')
    if (m.kind === 'voice') return t('preview.voice')
    return m.text.replace(/\s+/g, ' ').trim()
  }

  /** "You: hi", "Alice: hi" in a room, just "hi" from the peer of a private chat. */
  function preview(c: Conversation): string {
    const m = c.last_message
    if (!m) return t('preview.empty')
    const text = body(m)
    if (m.sender.id === auth.user?.id) return t('preview.you', { text })
    if (c.kind === 'room') return t('preview.from', { name: m.sender.nickname, text })
    return text
  }

  return { title, body, preview }
}
