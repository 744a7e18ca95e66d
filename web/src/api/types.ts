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
