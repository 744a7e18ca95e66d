import { ref, type Ref } from 'vue'
import * as api from '@/api/client'
import type { Conversation, Message, User } from '@/api/types'
import { useAuthStore } from '@/stores/auth'
import { useConversationsStore } from '@/stores/conversations'
import { useMessagesStore } from '@/stores/messages'
import { usePeopleStore } from '@/stores/people'
import { usePresenceStore } from '@/stores/presence'
import { useTypingStore } from '@/stores/typing'
import { useUiStore } from '@/stores/ui'
import { useNotifications } from './useNotifications'

/**
 * idle: not started (logged out) · connecting: first attempt under way · open: `ready`
 * received · reconnecting: lost, waiting for the next attempt · ended: the server ended
 * the session (close 4001), no more attempts.
 */
export type SocketState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'ended'

/** The part of the browser's WebSocket the client uses (a fake one in tests). */
export interface WebSocketLike {
  onopen: ((ev: Event) => unknown) | null
  onmessage: ((ev: MessageEvent) => unknown) | null
  onclose: ((ev: CloseEvent) => unknown) | null
  onerror: ((ev: Event) => unknown) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

/** Close code the server uses when the session is over: go to logged out, do not reconnect. */
export const CLOSE_SESSION_ENDED = 4001
/** A typing frame goes out at most this often per conversation. */
export const TYPING_SEND_MS = 3000

export interface ChatSocketOptions {
  url?: () => string
  createSocket?: (url: string) => WebSocketLike
  /** Reconnect delays: first, cap, and how long a connection must last to reset them. */
  backoff?: { initialMs: number; maxMs: number; stableMs: number }
  /** Gives up on an attempt that has not received `ready` after this long. */
  handshakeTimeoutMs?: number
  random?: () => number
  newClientId?: () => string
  now?: () => number
  /** False when the browser knows it is offline (then attempts wait for `online`). */
  isOnline?: () => boolean
  /** Where `online`/`offline` events come from. */
  events?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>
  /** A message from someone else while the page is hidden. */
  onHiddenMessage?: (m: Message, open: (conversationId: string) => void) => void
}

export interface ChatSocket {
  state: Ref<SocketState>
  /** At least one connection reached `ready` since start (a later drop is a "reconnect"). */
  wasOpen: Ref<boolean>
  /** Failed attempts in a row (resets after a stable connection). */
  attempts: Ref<number>
  start(): void
  stop(): void
  reconnectNow(): void
  /** Queues a text message (pending at once; goes out now or on reconnect); returns its client_id. */
  sendText(conversationId: string, text: string): string
  /**
   * Sends a pending message (again) with the same client_id: a failed one, or a picture or
   * voice message whose upload just finished. Now, or on reconnect.
   */
  retry(clientId: string): void
  sendTyping(conversationId: string): void
  /** Marks what we hold of a conversation as read (here, on the server, in our other tabs). */
  markSeen(conversationId: string): void
  /** Opens a conversation: loads or catches up its messages, switches the phone to Messages. */
  openConversation(conversationId: string): Promise<void>
  /**
   * Opens a conversation at one of its messages (a search hit), highlighted, with history
   * loading both ways from there. `conversation` is added to the list if it is not there yet.
   */
  openAt(conversationId: string, seq: number, conversation?: Conversation): Promise<void>
}

/** Remembers the open conversation across a reload of this tab. */
export const ACTIVE_KEY = 'chatroom.activeConversation'

function defaultUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${location.host}/ws`
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function isMessage(v: unknown): v is Message {
  return (
    isObject(v) &&
    typeof v.id === 'string' &&
    typeof v.conversation_id === 'string' &&
    typeof v.seq === 'number' &&
    isObject(v.sender) &&
    typeof (v.sender as { id?: unknown }).id === 'string'
  )
}

/**
 * The one WebSocket of the app: connects, dispatches frames to the stores, reconnects with
 * exponential backoff and jitter, and after every (re)connect fills every gap by seq.
 * Messages typed while offline stay pending and go out, with their client_id, on reconnect.
 */
export function createChatSocket(options: ChatSocketOptions = {}): ChatSocket {
  const url = options.url ?? defaultUrl
  const createSocket = options.createSocket ?? ((u: string) => new WebSocket(u) as WebSocketLike)
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 10_000, stableMs: 10_000 }
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 15_000
  const random = options.random ?? Math.random
  const newClientId = options.newClientId ?? (() => crypto.randomUUID())
  const now = options.now ?? Date.now
  const isOnline = options.isOnline ?? (() => navigator.onLine !== false)
  const events = options.events ?? window
  const notifications = useNotifications()
  const onHiddenMessage =
    options.onHiddenMessage ?? ((m: Message, open: (id: string) => void) => notifications.notifyMessage(m, open))

  const auth = useAuthStore()
  const conversations = useConversationsStore()
  const messages = useMessagesStore()
  const people = usePeopleStore()
  const presence = usePresenceStore()
  const typing = useTypingStore()
  const ui = useUiStore()

  const state = ref<SocketState>('idle')
  const wasOpen = ref(false)
  const attempts = ref(0)

  let ws: WebSocketLike | null = null
  let started = false
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let stableTimer: ReturnType<typeof setTimeout> | null = null
  let handshakeTimer: ReturnType<typeof setTimeout> | null = null
  const typingSent = new Map<string, number>()
  const readSent = new Map<string, number>()

  const me = () => auth.user?.id

  function clearTimer(t: ReturnType<typeof setTimeout> | null): null {
    if (t !== null) clearTimeout(t)
    return null
  }

  function write(frame: Record<string, unknown>): boolean {
    if (!ws || state.value !== 'open') return false
    try {
      ws.send(JSON.stringify(frame))
      return true
    } catch {
      return false
    }
  }

  // ---- connection ----

  function connect(): void {
    retryTimer = clearTimer(retryTimer)
    if (!started) return
    if (state.value !== 'reconnecting') state.value = 'connecting'
    let sock: WebSocketLike
    try {
      sock = createSocket(url())
    } catch {
      scheduleReconnect()
      return
    }
    ws = sock
    sock.onmessage = (ev) => {
      if (sock === ws) onFrame(ev.data)
    }
    sock.onclose = (ev) => {
      if (sock === ws) lost(ev.code)
    }
    sock.onerror = () => undefined // a close event follows
    handshakeTimer = clearTimer(handshakeTimer)
    handshakeTimer = setTimeout(() => {
      if (sock === ws && state.value !== 'open') drop()
    }, handshakeTimeoutMs)
  }

  /** Gives up on the current socket without waiting for the browser to notice. */
  function drop(): void {
    const sock = ws
    if (!sock) return
    lost(1006)
    try {
      sock.close()
    } catch {
      // already closing
    }
  }

  function lost(code: number): void {
    ws = null
    stableTimer = clearTimer(stableTimer)
    handshakeTimer = clearTimer(handshakeTimer)
    // What was written to the dead socket may not have arrived: send it again (same client_id) later.
    for (const p of messages.outbox()) if (p.status === 'sending') messages.setStatus(p.client_id, 'queued')
    if (!started) return
    if (code === CLOSE_SESSION_ENDED) {
      state.value = 'ended'
      started = false
      unlisten()
      auth.endSession()
      return
    }
    scheduleReconnect()
  }

  function scheduleReconnect(): void {
    state.value = 'reconnecting'
    retryTimer = clearTimer(retryTimer)
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempts.value)
    const delay = Math.round(base / 2 + (random() * base) / 2)
    attempts.value += 1
    retryTimer = setTimeout(() => {
      retryTimer = null
      if (!isOnline()) scheduleReconnect() // the browser knows it is offline: wait (or for `online`)
      else connect()
    }, delay)
  }

  function reconnectNow(): void {
    if (!started || ws) return
    connect()
  }

  function onOffline(): void {
    // Browsers keep a dead socket "open" for a long time when the network goes away.
    if (ws) drop()
  }

  function onOnline(): void {
    if (started && !ws) connect()
  }

  function onVisible(): void {
    if (document.visibilityState === 'visible' && started && !ws && state.value === 'reconnecting') connect()
  }

  function listen(): void {
    events.addEventListener('offline', onOffline)
    events.addEventListener('online', onOnline)
    document.addEventListener('visibilitychange', onVisible)
  }

  function unlisten(): void {
    events.removeEventListener('offline', onOffline)
    events.removeEventListener('online', onOnline)
    document.removeEventListener('visibilitychange', onVisible)
  }

  function start(): void {
    if (started) return
    started = true
    wasOpen.value = false
    attempts.value = 0
    listen()
    connect()
  }

  function stop(): void {
    started = false
    unlisten()
    retryTimer = clearTimer(retryTimer)
    stableTimer = clearTimer(stableTimer)
    handshakeTimer = clearTimer(handshakeTimer)
    const sock = ws
    ws = null
    if (sock) {
      try {
        sock.close(1000)
      } catch {
        // already closed
      }
    }
    state.value = 'idle'
    typingSent.clear()
    readSent.clear()
  }

  // ---- frames from the server ----

  function onFrame(data: unknown): void {
    if (typeof data !== 'string') return
    let f: unknown
    try {
      f = JSON.parse(data)
    } catch {
      return
    }
    if (!isObject(f) || typeof f.type !== 'string') return
    switch (f.type) {
      case 'ready':
        onReady(f)
        break
      case 'ack':
        if (typeof f.client_id === 'string' && isMessage(f.message)) onAck(f.client_id, f.message)
        break
      case 'message':
        if (isMessage(f.message)) onMessage(f.message)
        break
      case 'presence':
        if (isObject(f.user) && typeof f.user.id === 'string') {
          const user = f.user as unknown as User & { online_since?: string }
          people.list(user)
          presence.applyDelta({ user, online: f.online === true, online_count: Number(f.online_count) })
        }
        break
      case 'presence_sync':
        if (typeof f.online_count === 'number') presence.resync(f.online_count)
        break
      case 'typing':
        if (typeof f.conversation_id === 'string' && typeof f.user_id === 'string' && f.user_id !== me()) {
          typing.add(f.conversation_id, f.user_id)
          void people.fetchUser(f.user_id)
        }
        break
      case 'read':
        if (typeof f.conversation_id === 'string' && typeof f.seq === 'number') {
          readSent.set(f.conversation_id, Math.max(readSent.get(f.conversation_id) ?? 0, f.seq))
          conversations.setRead(f.conversation_id, f.seq)
        }
        break
      case 'error':
        if (typeof f.client_id === 'string' && f.client_id !== '') {
          messages.setStatus(f.client_id, 'failed', typeof f.code === 'string' ? f.code : 'unexpected')
        }
        break
    }
  }

  function onReady(f: Record<string, unknown>): void {
    handshakeTimer = clearTimer(handshakeTimer)
    state.value = 'open'
    wasOpen.value = true
    if (isObject(f.user) && f.user.id === me()) auth.user = f.user as unknown as User
    // In a burst (everyone reconnecting) the list is fetched once the burst is over.
    const burst = f.presence_burst === true
    if (burst) presence.resync(Number(f.online_count))
    else presence.setCount(Number(f.online_count))
    stableTimer = clearTimer(stableTimer)
    stableTimer = setTimeout(() => (attempts.value = 0), backoff.stableMs)
    for (const p of messages.outbox()) transmit(p.client_id)
    void syncAfterConnect(!burst)
  }

  /** Fills what the connection missed: the list (badges, last messages), presence (unless a burst defers it), the open conversation. */
  async function syncAfterConnect(loadPresence: boolean): Promise<void> {
    const tasks: Promise<unknown>[] = loadPresence ? [presence.load()] : []
    tasks.push(
      conversations.refresh().then(async () => {
        for (const c of conversations.list) people.remember(c.peer)
        const active = conversations.activeId
        if (active && conversations.find(active)) {
          await messages.catchUp(active, me())
          markSeenIfViewing(active)
        } else {
          await openConversation(initialConversation())
        }
      }),
    )
    await Promise.allSettled(tasks)
  }

  function initialConversation(): string {
    let saved: string | null = null
    try {
      saved = sessionStorage.getItem(ACTIVE_KEY)
    } catch {
      // storage disabled
    }
    if (saved && conversations.find(saved)) return saved
    return conversations.list[0]?.id ?? 'lobby'
  }

  function onAck(clientId: string, m: Message): void {
    people.remember(m.sender)
    messages.ack(clientId, m, me())
    readSent.set(m.conversation_id, Math.max(readSent.get(m.conversation_id) ?? 0, m.seq))
    if (!conversations.onMessage(m, true)) void conversations.refresh().catch(() => undefined)
  }

  function onMessage(m: Message): void {
    people.remember(m.sender)
    const own = m.sender.id === me()
    const { gap } = messages.receive(m, me())
    if (gap) void messages.catchUp(m.conversation_id, me()).catch(() => undefined)
    typing.remove(m.conversation_id, m.sender.id)
    const viewing = isViewing(m.conversation_id)
    if (!conversations.onMessage(m, own || viewing)) void conversations.refresh().catch(() => undefined)
    if (own) return
    if (viewing) markSeen(m.conversation_id)
    else if (conversations.activeId === m.conversation_id) messages.markFirstUnread(m.conversation_id, m.seq)
    if (!ui.visible) onHiddenMessage(m, (id) => void openConversation(id))
  }

  // ---- what the person does ----

  function transmit(clientId: string): void {
    const p = messages.findPending(clientId)
    if (!p) return
    const frame: Record<string, unknown> = { type: 'send', client_id: p.client_id, conversation_id: p.conversation_id, kind: p.kind }
    if (p.kind === 'text') {
      frame.text = p.text
    } else {
      const mediaId = p.attachment?.media?.id
      if (!mediaId) return // still uploading: the upload sends it when done
      frame.media_id = mediaId
    }
    const sent = write(frame)
    messages.setStatus(clientId, sent ? 'sending' : 'queued')
  }

  function sendText(conversationId: string, text: string): string {
    const clientId = newClientId()
    messages.addPending({
      client_id: clientId,
      conversation_id: conversationId,
      kind: 'text',
      text,
      created_at: new Date(now()).toISOString(),
    })
    messages.clearFirstUnread(conversationId)
    typingSent.delete(conversationId)
    transmit(clientId)
    return clientId
  }

  function retry(clientId: string): void {
    const p = messages.findPending(clientId)
    if (!p || (p.kind !== 'text' && !p.attachment?.media)) return
    messages.setStatus(clientId, 'queued')
    transmit(clientId)
  }

  function sendTyping(conversationId: string): void {
    const t = now()
    const last = typingSent.get(conversationId)
    if (last !== undefined && t - last < TYPING_SEND_MS) return
    if (write({ type: 'typing', conversation_id: conversationId })) typingSent.set(conversationId, t)
  }

  /** The person sees new messages of this conversation as they come (not reading a window further up). */
  function isViewing(conversationId: string): boolean {
    return conversations.activeId === conversationId && ui.messagesShown && !messages.view(conversationId).hasNewer
  }

  function markSeenIfViewing(conversationId: string): void {
    if (isViewing(conversationId)) markSeen(conversationId)
  }

  function markSeen(conversationId: string): void {
    const seq = messages.lastSeq(conversationId)
    if (seq === 0) return
    const c = conversations.find(conversationId)
    const serverThinksUnread = c !== undefined && c.unread > 0 && (c.last_message?.seq ?? 0) <= seq
    if (seq <= (readSent.get(conversationId) ?? 0) && !serverThinksUnread) return
    readSent.set(conversationId, seq)
    conversations.setRead(conversationId, seq)
    if (!write({ type: 'read', conversation_id: conversationId, seq })) {
      void api.markRead(conversationId, seq).catch(() => undefined)
    }
  }

  /** Makes a conversation the open one (and the phone's pane the messages); returns its list entry. */
  function activate(conversationId: string): Conversation | undefined {
    conversations.open(conversationId)
    ui.pane = 'messages'
    try {
      sessionStorage.setItem(ACTIVE_KEY, conversationId)
    } catch {
      // storage disabled
    }
    const c = conversations.find(conversationId)
    people.remember(c?.peer)
    return c
  }

  async function openConversation(conversationId: string): Promise<void> {
    const c = activate(conversationId)
    await messages.open(conversationId, { unread: c?.unread, latestSeq: c?.last_message?.seq, ownUserId: me() })
    markSeenIfViewing(conversationId)
  }

  async function openAt(conversationId: string, seq: number, conversation?: Conversation): Promise<void> {
    if (conversation && conversation.id === conversationId && !conversations.find(conversationId)) {
      conversations.upsert({ ...conversation, unread: Math.max(0, conversation.unread ?? 0) })
    }
    const c = activate(conversationId)
    await messages.openAround(conversationId, seq, { unread: c?.unread, latestSeq: c?.last_message?.seq, ownUserId: me() })
    markSeenIfViewing(conversationId)
  }

  return {
    state,
    wasOpen,
    attempts,
    start,
    stop,
    reconnectNow,
    sendText,
    retry,
    sendTyping,
    markSeen,
    openConversation,
    openAt,
  }
}

let shared: ChatSocket | null = null

/** The app's one chat socket (created on first use). */
export function useChatSocket(): ChatSocket {
  shared ??= createChatSocket()
  return shared
}
