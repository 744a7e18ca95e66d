import type {
  Conversation,
  ErrorBody,
  MessagePage,
  MessageQuery,
  PresenceSnapshot,
  RegisterInput,
  User,
  UserPage,
  UserQuery,
} from './types'

/** Codes the client makes up itself when no server error body is available. */
export const NETWORK_ERROR = 'network_error'
export const SERVER_UNAVAILABLE = 'server_unavailable'
export const BAD_RESPONSE = 'bad_response'

/** A failed API call: the server's error code, its English message and the form field it concerns. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field?: string

  constructor(status: number, code: string, message: string, field?: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
  }
}

type Body = { json: unknown } | { form: FormData } | undefined

async function request<T>(method: string, path: string, body?: Body): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } }
  if (body && 'json' in body) {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' }
    init.body = JSON.stringify(body.json)
  } else if (body) {
    init.body = body.form // the browser sets the multipart boundary itself
  }

  let res: Response
  try {
    res = await fetch(path, init)
  } catch (err) {
    throw new ApiError(0, NETWORK_ERROR, err instanceof Error ? err.message : 'network error')
  }

  if (res.status === 204) return undefined as T
  const text = await res.text().catch(() => '')
  const data = parseJson(text)
  if (res.ok) {
    if (data === undefined) throw new ApiError(res.status, BAD_RESPONSE, 'invalid JSON in response')
    return data as T
  }
  throw toApiError(res, data)
}

function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function isErrorBody(data: unknown): data is ErrorBody {
  if (typeof data !== 'object' || data === null || !('error' in data)) return false
  const e = (data as { error: unknown }).error
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
}

function toApiError(res: Response, data: unknown): ApiError {
  if (isErrorBody(data)) {
    const { code, message, field } = data.error
    return new ApiError(res.status, code, typeof message === 'string' ? message : code, field || undefined)
  }
  const code = res.status >= 500 ? SERVER_UNAVAILABLE : BAD_RESPONSE
  return new ApiError(res.status, code, `HTTP ${res.status} ${res.statusText}`.trim())
}

/** The logged-in user, or ApiError 401 `unauthorized`. */
export async function me(): Promise<User> {
  return (await request<{ user: User }>('GET', '/api/auth/me')).user
}

/** Logs in and sets the session cookie. */
export async function login(username: string, password: string): Promise<User> {
  return (await request<{ user: User }>('POST', '/api/auth/login', { json: { username, password } })).user
}

/** Creates an account; it does not log in. */
export async function register(input: RegisterInput): Promise<User> {
  const form = new FormData()
  form.append('username', input.username)
  form.append('nickname', input.nickname)
  form.append('password', input.password)
  if (input.avatar) form.append('avatar', input.avatar, input.avatar.name)
  return (await request<{ user: User }>('POST', '/api/auth/register', { form })).user
}

/** Ends the session on the server. */
export async function logout(): Promise<void> {
  await request<void>('POST', '/api/auth/logout')
}

/** One page of the user directory. */
export async function listUsers(query: UserQuery = {}): Promise<UserPage> {
  const params = new URLSearchParams()
  if (query.q) params.set('q', query.q)
  if (query.limit) params.set('limit', String(query.limit))
  if (query.cursor) params.set('cursor', query.cursor)
  const qs = params.toString()
  return request<UserPage>('GET', `/api/users${qs ? `?${qs}` : ''}`)
}

/** One user by id. */
export async function getUser(id: string): Promise<User> {
  return (await request<{ user: User }>('GET', `/api/users/${encodeURIComponent(id)}`)).user
}

/** The caller's conversations: the lobby first, then private ones by last activity. */
export async function listConversations(): Promise<Conversation[]> {
  return (await request<{ conversations: Conversation[] | null }>('GET', '/api/conversations')).conversations ?? []
}

/** Gets or creates the private conversation with a user. */
export async function openDirect(userId: string): Promise<Conversation> {
  return (await request<{ conversation: Conversation }>('POST', '/api/conversations/direct', { json: { user_id: userId } }))
    .conversation
}

/** One page of a conversation's history, ascending by seq (no cursor: the newest). */
export async function listMessages(conversationId: string, query: MessageQuery = {}): Promise<MessagePage> {
  const params = new URLSearchParams()
  for (const key of ['before', 'after', 'around', 'limit'] as const) {
    const v = query[key]
    if (v !== undefined) params.set(key, String(v))
  }
  const qs = params.toString()
  const page = await request<MessagePage>(
    'GET',
    `/api/conversations/${encodeURIComponent(conversationId)}/messages${qs ? `?${qs}` : ''}`,
  )
  return { messages: page.messages ?? [], has_more: Boolean(page.has_more) }
}

/** Marks a conversation read up to and including `seq`. */
export async function markRead(conversationId: string, seq: number): Promise<void> {
  await request<void>('POST', `/api/conversations/${encodeURIComponent(conversationId)}/read`, { json: { seq } })
}

/** Who is online now. */
export async function getPresence(): Promise<PresenceSnapshot> {
  const p = await request<PresenceSnapshot>('GET', '/api/presence')
  return { online_count: p.online_count ?? 0, users: p.users ?? [] }
}

/** The avatar URL at a given pixel size (the server serves 256 px unless told `size`). */
export function avatarSrc(avatarUrl: string, size?: number): string {
  if (!size) return avatarUrl
  return `${avatarUrl}${avatarUrl.includes('?') ? '&' : '?'}size=${size}`
}
