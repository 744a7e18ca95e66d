/** A registered person, as every auth endpoint returns it. */
export interface User {
  id: string
  username: string
  nickname: string
  /** `/api/users/<id>/avatar?v=<version>`: 256 px; add `size=64` for the small one. */
  avatar_url: string
  created_at: string
}

/** The fields of the register form; `avatar` is optional (the server draws one). */
export interface RegisterInput {
  username: string
  nickname: string
  password: string
  avatar?: File | null
}

/** One page of the user directory. */
export interface UserPage {
  users: User[]
  next_cursor: string
}

/** Query of the user directory. */
export interface UserQuery {
  q?: string
  limit?: number
  cursor?: string
}

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string }
}

/** A picture or voice file attached to a message. */
export interface Media {
  id: string
  url: string
  thumbnail_url?: string
  mime: string
  size: number
  width?: number
  height?: number
  duration_ms?: number
  waveform?: number[]
}

/** The kinds of message the server stores. */
export type MessageKind = 'text' | 'image' | 'voice'

/** The kinds of message that carry a file. */
export type MediaKind = Exclude<MessageKind, 'text'>

/** One stored message; `seq` numbers a conversation's messages 1, 2, 3… without holes. */
export interface Message {
  id: string
  conversation_id: string
  seq: number
  sender: User
  kind: MessageKind
  text: string
  media?: Media
  client_id: string
  created_at: string
}

/** The lobby (`room`) or a private conversation of two (`direct`). */
export interface Conversation {
  id: string
  kind: 'room' | 'direct'
  title: string
  peer?: User
  last_message?: Message
  unread: number
}

/** The id of the public room. */
export const LOBBY_ID = 'lobby'

/** One page of a conversation's history, ascending by seq. */
export interface MessagePage {
  messages: Message[]
  has_more: boolean
}

/** Where a history page starts: before, after or around a seq; none = the newest. */
export interface MessageQuery {
  before?: number
  after?: number
  around?: number
  limit?: number
}

/** The kinds of message a search can be narrowed to. */
export type SearchKind = MessageKind

/** GET /api/search: words and filters (`q` may be empty when a filter is given). */
export interface SearchQuery {
  q?: string
  conversation_id?: string
  sender_id?: string
  kind?: SearchKind
  /** RFC 3339 UTC, inclusive bounds. */
  since?: string
  until?: string
  limit?: number
  cursor?: string
}

/** A matched range of a message's text: UTF-16 offsets, start inclusive, end exclusive. */
export type HighlightRange = [start: number, end: number]

/** One hit: the message, its conversation and where the words matched in its text. */
export interface SearchResult {
  message: Message
  conversation: Conversation
  highlights: HighlightRange[]
}

/** One page of search results, newest first; next_cursor is "" at the end. */
export interface SearchPage {
  results: SearchResult[]
  next_cursor: string
}

/** A user who is online, and since when. */
export interface OnlineUser extends User {
  online_since: string
}

/** Who is online right now (most recent first). */
export interface PresenceSnapshot {
  online_count: number
  users: OnlineUser[]
}
