// Users, messages and a fake WebSocket for the chat specs.
import type { Conversation, Message, User } from '@/api/types'
import type { WebSocketLike } from '@/composables/useChatSocket'

export function user(id: string, nickname = id.toUpperCase()): User {
  return {
    id,
    username: id,
    nickname,
    avatar_url: `/api/users/${id}/avatar?v=1`,
    created_at: '2026-01-01T00:00:00.000Z',
  }
}

export const alice = user('alice', 'Alice')
export const bob = user('bob', 'Bob')

/** A stored message; created_at follows seq so that order by time equals order by seq. */
export function msg(seq: number, opts: Partial<Message> = {}): Message {
  const conversation_id = opts.conversation_id ?? 'lobby'
  return {
    id: `${conversation_id}-m${seq}`,
    conversation_id,
    seq,
    sender: bob,
    kind: 'text',
    text: `message ${seq}`,
    client_id: `client-${conversation_id}-${seq}`,
    created_at: new Date(Date.UTC(2026, 2, 1, 12, 0, seq)).toISOString(),
    ...opts,
  }
}

export function lobby(opts: Partial<Conversation> = {}): Conversation {
  return { id: 'lobby', kind: 'room', title: 'Lobby', unread: 0, ...opts }
}

export function direct(peer: User, opts: Partial<Conversation> = {}): Conversation {
  return { id: `dm-${peer.id}`, kind: 'direct', title: peer.nickname, peer, unread: 0, ...opts }
}

/** A WebSocket the test plays the server for. */
export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = []
  onopen: WebSocketLike['onopen'] = null
  onmessage: WebSocketLike['onmessage'] = null
  onclose: WebSocketLike['onclose'] = null
  onerror: WebSocketLike['onerror'] = null
  /** Frames the client sent, parsed. */
  sent: Record<string, unknown>[] = []
  closedWith: number | null = null

  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }

  static get last(): FakeSocket {
    const s = FakeSocket.all[FakeSocket.all.length - 1]
    if (!s) throw new Error('no socket was created')
    return s
  }

  static reset(): void {
    FakeSocket.all = []
  }

  send(data: string): void {
    if (this.closedWith !== null) throw new Error('send on a closed socket')
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(code = 1000): void {
    this.closedWith ??= code
  }

  /** The server sends a frame. */
  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent)
  }

  ready(me: User = alice, onlineCount = 1): void {
    this.receive({ type: 'ready', user: me, online_count: onlineCount })
  }

  /** The connection ends with a close code. */
  serverClose(code: number): void {
    this.closedWith ??= code
    this.onclose?.({ code } as CloseEvent)
  }

  sentOfType(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f.type === type)
  }
}
