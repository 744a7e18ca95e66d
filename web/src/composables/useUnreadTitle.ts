import { watchEffect } from 'vue'
import { useI18n } from 'vue-i18n'
import { useConversationsStore } from '@/stores/conversations'
import { useUiStore } from '@/stores/ui'

/** The document title: "(3) WebChatRoom" while the tab is hidden with unread messages. */
export function titleWithUnread(base: string, unread: number, hidden: boolean): string {
  if (!hidden || unread <= 0) return base
  return `(${unread > 99 ? '99+' : unread}) ${base}`
}

/** Keeps the document title counting unread messages while the tab is hidden. */
export function useUnreadTitle(): void {
  const { t } = useI18n()
  const conversations = useConversationsStore()
  const ui = useUiStore()
  watchEffect(() => {
    document.title = titleWithUnread(t('app.title'), conversations.totalUnread, !ui.visible)
  })
}
