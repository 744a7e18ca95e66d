import type {
  Conversation,
  ErrorBody,
  Media,
  MediaKind,
  MessagePage,
  MessageQuery,
  PresenceSnapshot,
  RegisterInput,
  SearchPage,
  SearchQuery,
  User,
  UserPage,
  UserQuery,
} from './types'

/** Codes the client makes up itself when no server error body is available. */
export const NETWORK_ERROR = 'network_error'
export const SERVER_UNAVAILABLE = 'server_unavailable'
export const BAD_RESPONSE = 'bad_response'
export const FILE_TOO_LARGE = 'file_too_large'

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
  throw toApiError(res.status, res.statusText, data)
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

function toApiError(status: number, statusText: string, data: unknown): ApiError {
  if (isErrorBody(data)) {
    const { code, message, field } = data.error
    return new ApiError(status, code, typeof message === 'string' ? message : code, field || undefined)
  }
  // A body too large for the server (or a proxy in front of it) may come back without our error body.
  const code = status === 413 ? FILE_TOO_LARGE : status >= 500 ? SERVER_UNAVAILABLE : BAD_RESPONSE
  return new ApiError(status, code, `HTTP ${status} ${statusText}`.trim())
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

/** One page of messages the caller may read that match the words and filters, newest first. */
export async function searchMessages(query: SearchQuery): Promise<SearchPage> {
  const params = new URLSearchParams()
  for (const key of ['q', 'conversation_id', 'sender_id', 'kind', 'since', 'until', 'limit', 'cursor'] as const) {
    const v = query[key]
    if (v !== undefined && v !== '') params.set(key, String(v))
  }
  const page = await request<Partial<SearchPage>>('GET', `/api/search?${params.toString()}`)
  const results = (page.results ?? []).filter((r) => r && r.message && r.conversation)
  return {
    results: results.map((r) => ({ ...r, highlights: Array.isArray(r.highlights) ? r.highlights : [] })),
    next_cursor: page.next_cursor ?? '',
  }
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

/** What to upload: a picture or a voice recording for one conversation. */
export interface UploadInput {
  file: Blob
  /** The file name sent with the bytes (the server ignores it for storage). */
  filename: string
  conversationId: string
  kind: MediaKind
  durationMs?: number
  waveform?: number[]
}

export interface UploadOptions {
  /** Called as the bytes go out, with the fraction sent (0–1). */
  onProgress?: (fraction: number) => void
  /** Aborting rejects with a DOMException named AbortError. */
  signal?: AbortSignal
}

/**
 * Uploads a picture or voice file → the stored media (201). XMLHttpRequest rather than
 * fetch, because only it reports upload progress.
 */
export function uploadMedia(input: UploadInput, options: UploadOptions = {}): Promise<Media> {
  return new Promise<Media>((resolve, reject) => {
    const { onProgress, signal } = options
    if (signal?.aborted) {
      reject(new DOMException('upload aborted', 'AbortError'))
      return
    }
    const form = new FormData()
    form.append('conversation_id', input.conversationId)
    form.append('kind', input.kind)
    if (input.durationMs !== undefined) form.append('duration_ms', String(Math.round(input.durationMs)))
    if (input.waveform) form.append('waveform', JSON.stringify(input.waveform))
    const file = input.file instanceof File ? input.file : new File([input.file], input.filename, { type: input.file.type })
    form.append('file', file, input.filename) // last: the fields are known before the bytes arrive

    const xhr = new XMLHttpRequest()
    const onAbort = () => xhr.abort()
    const done = () => signal?.removeEventListener('abort', onAbort)
    xhr.open('POST', '/api/media')
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress?.(Math.min(1, e.loaded / e.total))
    }
    xhr.onload = () => {
      done()
      const data = parseJson(typeof xhr.responseText === 'string' ? xhr.responseText : '')
      if (xhr.status >= 200 && xhr.status < 300) {
        const media = (data as { media?: Media } | undefined)?.media
        if (media && typeof media.id === 'string') {
          onProgress?.(1)
          resolve(media)
        } else {
          reject(new ApiError(xhr.status, BAD_RESPONSE, 'no media in response'))
        }
      } else {
        reject(toApiError(xhr.status, xhr.statusText, data))
      }
    }
    xhr.onerror = () => {
      done()
      reject(new ApiError(0, NETWORK_ERROR, 'network error'))
    }
    xhr.onabort = () => {
      done()
      reject(new DOMException('upload aborted', 'AbortError'))
    }
    signal?.addEventListener('abort', onAbort)
    xhr.send(form)
  })
}
