import { ref } from 'vue'
import { i18n } from '@/i18n'
import { LOBBY_ID, type Message } from '@/api/types'
import { avatarSrc } from '@/api/client'

/** Where "don't ask about notifications" is remembered. */
export const NOTIFY_DISMISSED_KEY = 'chatroom.notify.dismissed'

type Permission = NotificationPermission | 'unsupported'

function currentPermission(): Permission {
  return typeof window !== 'undefined' && 'Notification' in window ? Notification.permission : 'unsupported'
}

function readDismissed(): boolean {
  try {
    return localStorage.getItem(NOTIFY_DISMISSED_KEY) === '1'
  } catch {
    return false
  }
}

const permission = ref<Permission>(currentPermission())
const dismissed = ref(readDismissed())

/** The text a notification shows for a message. */
export function notificationText(m: Message, t: (key: string, values?: Record<string, unknown>) => string) {
  const name = m.sender.nickname || m.sender.username
  const title = m.conversation_id === LOBBY_ID ? t('notify.inLobby', { name }) : name
  const body =
    m.kind === 'image' ? t('preview.image') : m.kind === 'voice' ? t('preview.voice') : m.text.slice(0, 160)
  return { title, body }
}

/**
 * Browser notifications for messages that arrive while the tab is hidden. Permission is
 * asked only when the person presses the button for it, never on load.
 */
export function useNotifications() {
  /** Asks the browser for permission (must run in a click handler). */
  async function request(): Promise<void> {
    if (permission.value === 'unsupported') return
    try {
      permission.value = await Notification.requestPermission()
    } catch {
      permission.value = Notification.permission
    }
  }

  /** Hides the prompt for good. */
  function dismiss(): void {
    dismissed.value = true
    try {
      localStorage.setItem(NOTIFY_DISMISSED_KEY, '1')
    } catch {
      // storage disabled: hidden for this page only
    }
  }

  /** Shows a notification for a message; a click brings the tab back and opens its conversation. */
  function notifyMessage(m: Message, onClick?: (conversationId: string) => void): void {
    if (permission.value !== 'granted' || currentPermission() !== 'granted') return
    const { title, body } = notificationText(m, (k, v) => i18n.global.t(k, v ?? {}))
    try {
      const n = new Notification(title, {
        body,
        tag: `chatroom:${m.conversation_id}`, // one per conversation, also across tabs
        icon: avatarSrc(m.sender.avatar_url, 64),
      })
      n.onclick = () => {
        window.focus()
        onClick?.(m.conversation_id)
        n.close()
      }
    } catch {
      // some browsers only allow notifications from a service worker
    }
  }

  return { permission, dismissed, request, dismiss, notifyMessage }
}
