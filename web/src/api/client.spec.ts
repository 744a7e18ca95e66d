import { afterEach, describe, expect, it, vi } from 'vitest'
import * as api from './client'
import type { User } from './types'

const alice: User = {
  id: 'u1',
  username: 'alice',
  nickname: 'Alice',
  avatar_url: '/api/users/u1/avatar?v=1',
  created_at: '2026-01-01T00:00:00.000Z',
}

function reply(status: number, body?: unknown, init: { raw?: string; statusText?: string } = {}) {
  const text = init.raw ?? (body === undefined ? '' : JSON.stringify(body))
  return new Response(status === 204 ? null : text, {
    status,
    statusText: init.statusText,
    headers: { 'Content-Type': init.raw ? 'text/html' : 'application/json' },
  })
}

function mockFetch(...responses: (Response | Error)[]) {
  const fn = vi.fn<typeof fetch>()
  for (const r of responses) {
    if (r instanceof Error) fn.mockRejectedValueOnce(r)
    else fn.mockResolvedValueOnce(r)
  }
  vi.stubGlobal('fetch', fn)
  return fn
}

async function caught(p: Promise<unknown>): Promise<api.ApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(api.ApiError)
  return err as api.ApiError
}

afterEach(() => vi.unstubAllGlobals())

describe('api client', () => {
  it('GETs /api/auth/me with the session cookie and returns the user', async () => {
    const f = mockFetch(reply(200, { user: alice }))
    expect(await api.me()).toEqual(alice)
    const [url, init] = f.mock.calls[0]!
    expect(url).toBe('/api/auth/me')
    expect(init?.method).toBe('GET')
    expect(init?.credentials).toBe('same-origin')
  })

  it('POSTs the login as JSON', async () => {
    const f = mockFetch(reply(200, { user: alice }))
    expect(await api.login('alice', 'secret-pass')).toEqual(alice)
    const [url, init] = f.mock.calls[0]!
    expect(url).toBe('/api/auth/login')
    expect(init?.method).toBe('POST')
    expect(new Headers(init?.headers).get('Content-Type')).toBe('application/json')
    expect(JSON.parse(init?.body as string)).toEqual({ username: 'alice', password: 'secret-pass' })
  })

  it('POSTs the registration as multipart with the avatar file', async () => {
    const f = mockFetch(reply(201, { user: alice }))
    const avatar = new File([new Uint8Array([137, 80, 78, 71])], 'me.png', { type: 'image/png' })
    expect(await api.register({ username: 'alice', nickname: 'Alice', password: 'pw-12345678', avatar })).toEqual(alice)
    const [url, init] = f.mock.calls[0]!
    expect(url).toBe('/api/auth/register')
    const body = init?.body as FormData
    expect(body).toBeInstanceOf(FormData)
    expect(body.get('username')).toBe('alice')
    expect(body.get('nickname')).toBe('Alice')
    expect(body.get('password')).toBe('pw-12345678')
    expect((body.get('avatar') as File).name).toBe('me.png')
    // The browser must set the multipart boundary: no Content-Type of our own.
    expect(new Headers(init?.headers).has('Content-Type')).toBe(false)
  })

  it('leaves the avatar out when none was picked', async () => {
    const f = mockFetch(reply(201, { user: alice }))
    await api.register({ username: 'alice', nickname: 'Alice', password: 'pw-12345678', avatar: null })
    expect((f.mock.calls[0]![1]?.body as FormData).has('avatar')).toBe(false)
  })

  it('treats 204 from logout as success', async () => {
    const f = mockFetch(reply(204))
    await expect(api.logout()).resolves.toBeUndefined()
    expect(f.mock.calls[0]![1]?.method).toBe('POST')
  })

  it('turns an error body into an ApiError with code, message and field', async () => {
    mockFetch(
      reply(409, { error: { code: 'username_taken', message: 'That username is taken.', field: 'username' } }),
    )
    const err = await caught(api.register({ username: 'alice', nickname: 'A', password: 'pw-12345678' }))
    expect(err.status).toBe(409)
    expect(err.code).toBe('username_taken')
    expect(err.message).toBe('That username is taken.')
    expect(err.field).toBe('username')
  })

  it('keeps field undefined when the server sends none', async () => {
    mockFetch(reply(401, { error: { code: 'invalid_credentials', message: 'Wrong username or password.' } }))
    const err = await caught(api.login('alice', 'nope-nope'))
    expect(err.code).toBe('invalid_credentials')
    expect(err.field).toBeUndefined()
  })

  it('reports a non-JSON 5xx (a proxy page) as server_unavailable', async () => {
    mockFetch(reply(502, undefined, { raw: '<html>Bad Gateway</html>', statusText: 'Bad Gateway' }))
    const err = await caught(api.me())
    expect(err.status).toBe(502)
    expect(err.code).toBe(api.SERVER_UNAVAILABLE)
    expect(err.message).toContain('502')
  })

  it('reports a JSON 5xx body by its own code', async () => {
    mockFetch(reply(500, { error: { code: 'internal', message: 'Internal error.' } }))
    expect((await caught(api.me())).code).toBe('internal')
  })

  it('reports a non-JSON 4xx as bad_response', async () => {
    mockFetch(reply(404, undefined, { raw: 'not found' }))
    expect((await caught(api.getUser('x'))).code).toBe(api.BAD_RESPONSE)
  })

  it('reports a 200 that is not JSON as bad_response', async () => {
    mockFetch(reply(200, undefined, { raw: '<!doctype html>' }))
    expect((await caught(api.me())).code).toBe(api.BAD_RESPONSE)
  })

  it('reports a failed fetch as network_error with status 0', async () => {
    mockFetch(new TypeError('Failed to fetch'))
    const err = await caught(api.login('alice', 'whatever-1'))
    expect(err.status).toBe(0)
    expect(err.code).toBe(api.NETWORK_ERROR)
  })

  it('builds the directory query and encodes ids', async () => {
    const f = mockFetch(reply(200, { users: [alice], next_cursor: 'c2' }), reply(200, { user: alice }))
    expect(await api.listUsers({ q: 'al ice', limit: 20, cursor: 'c1' })).toEqual({ users: [alice], next_cursor: 'c2' })
    expect(f.mock.calls[0]![0]).toBe('/api/users?q=al+ice&limit=20&cursor=c1')
    await api.getUser('a/b')
    expect(f.mock.calls[1]![0]).toBe('/api/users/a%2Fb')
  })

  it('builds the search query, leaving out what is not set, and fills in a sparse answer', async () => {
    const message = { id: 'm1', conversation_id: 'lobby', seq: 4, sender: alice, kind: 'text', text: '开会', client_id: 'c', created_at: '' }
    const conversation = { id: 'lobby', kind: 'room', title: 'Lobby', unread: 0 }
    const f = mockFetch(
      reply(200, { results: [{ message, conversation, highlights: [[0, 2]] }], next_cursor: 'n1' }),
      reply(200, { results: null }),
      reply(200, { results: [{ message, conversation }] }),
    )
    const page = await api.searchMessages({ q: '会议 Go', conversation_id: '', sender_id: 'u 1', since: '2026-03-01T00:00:00.000Z', limit: 20, cursor: 'c/1' })
    expect(f.mock.calls[0]![0]).toBe(
      '/api/search?q=%E4%BC%9A%E8%AE%AE+Go&sender_id=u+1&since=2026-03-01T00%3A00%3A00.000Z&limit=20&cursor=c%2F1',
    )
    expect(page.next_cursor).toBe('n1')
    expect(page.results[0]?.highlights).toEqual([[0, 2]])
    expect(await api.searchMessages({ kind: 'image' })).toEqual({ results: [], next_cursor: '' })
    expect(f.mock.calls[1]![0]).toBe('/api/search?kind=image')
    expect((await api.searchMessages({ q: 'x' })).results[0]?.highlights).toEqual([])
  })

  it('adds size to avatar URLs that already have a query', () => {
    expect(api.avatarSrc('/api/users/u1/avatar?v=3', 64)).toBe('/api/users/u1/avatar?v=3&size=64')
    expect(api.avatarSrc('/api/users/u1/avatar', 64)).toBe('/api/users/u1/avatar?size=64')
    expect(api.avatarSrc('/api/users/u1/avatar?v=3')).toBe('/api/users/u1/avatar?v=3')
  })
})
