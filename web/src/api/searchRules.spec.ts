import { afterEach, describe, expect, it, vi } from 'vitest'
import { capQuery, dayRange, emptyCriteria, hasTerms, localDay, rangeReversed, searchable, SEARCH_Q_MAX, toQuery, today } from './searchRules'

/** Runs `fn` with the process in time zone `tz` (Node re-reads TZ when process.env.TZ is assigned). */
function inZone<T>(tz: string, fn: () => T): T {
  vi.stubEnv('TZ', tz)
  try {
    return fn()
  } finally {
    vi.unstubAllEnvs()
  }
}

afterEach(() => vi.unstubAllEnvs())

describe('dayRange', () => {
  it('turns local days into UTC instants: Shanghai is 8 hours ahead', () => {
    expect(inZone('Asia/Shanghai', () => dayRange('2026-03-01', '2026-03-02'))).toEqual({
      since: '2026-02-28T16:00:00.000Z',
      until: '2026-03-02T16:00:00.000Z',
    })
  })

  it('works behind UTC too, and one day is a whole day', () => {
    expect(inZone('America/Los_Angeles', () => dayRange('2026-01-15', '2026-01-15'))).toEqual({
      since: '2026-01-15T08:00:00.000Z',
      until: '2026-01-16T08:00:00.000Z',
    })
    expect(inZone('UTC', () => dayRange('2025-12-31', '2025-12-31'))).toEqual({
      since: '2025-12-31T00:00:00.000Z',
      until: '2026-01-01T00:00:00.000Z',
    })
  })

  it('follows daylight saving: the day clocks go forward has 23 hours', () => {
    // New York: 8 March 2026, 02:00 EST becomes 03:00 EDT.
    const r = inZone('America/New_York', () => dayRange('2026-03-08', '2026-03-08'))
    expect(r).toEqual({ since: '2026-03-08T05:00:00.000Z', until: '2026-03-09T04:00:00.000Z' })
    expect(Date.parse(r.until!) - Date.parse(r.since!)).toBe(23 * 3600_000)
  })

  it('leaves an empty or impossible day open', () => {
    expect(inZone('Asia/Shanghai', () => dayRange('', '2026-03-01'))).toEqual({ until: '2026-03-01T16:00:00.000Z' })
    expect(inZone('Asia/Shanghai', () => dayRange('2026-03-01', ''))).toEqual({ since: '2026-02-28T16:00:00.000Z' })
    expect(dayRange('2026-02-30', 'yesterday')).toEqual({})
    expect(localDay('2026-13-01')).toBeNull()
    expect(localDay('2024-02-29')?.getDate()).toBe(29)
  })
})

describe('criteria', () => {
  it('caps the words at 200 characters without cutting an emoji', () => {
    expect(capQuery('  会议  ')).toBe('会议')
    const long = '🎉'.repeat(SEARCH_Q_MAX + 5)
    expect(Array.from(capQuery(long))).toHaveLength(SEARCH_Q_MAX)
    expect(capQuery(long).length).toBe(SEARCH_Q_MAX * 2)
  })

  it('needs words or a filter; the conversation alone is not enough', () => {
    const c = emptyCriteria()
    expect(searchable(c)).toBe(false)
    expect(searchable({ ...c, q: '   ' })).toBe(false)
    expect(searchable({ ...c, conversationId: 'lobby' })).toBe(false)
    expect(searchable({ ...c, q: '会议' })).toBe(true)
    expect(searchable({ ...c, kind: 'image' })).toBe(true)
    expect(searchable({ ...c, senderId: 'u1' })).toBe(true)
    expect(searchable({ ...c, since: '2026-03-01' })).toBe(true)
  })

  it('words of only punctuation or emoji are not searched (the server refuses them)', () => {
    const c = emptyCriteria()
    expect(searchable({ ...c, q: '🎉!?' })).toBe(false)
    expect(searchable({ ...c, q: '🎉!?', kind: 'text' })).toBe(false)
    expect(hasTerms('…')).toBe(false)
    expect(hasTerms('ＡＢＣ')).toBe(true)
    expect(hasTerms('会')).toBe(true)
    expect(hasTerms('42')).toBe(true)
    expect(hasTerms('①')).toBe(true)
  })

  it('refuses a range that ends before it starts', () => {
    const c = { ...emptyCriteria(), q: 'x', since: '2026-03-02', until: '2026-03-01' }
    expect(rangeReversed(c)).toBe(true)
    expect(searchable(c)).toBe(false)
    expect(rangeReversed({ since: '2026-03-01', until: '2026-03-01' })).toBe(false)
  })

  it('builds the request with only what is set', () => {
    const q = inZone('Asia/Shanghai', () =>
      toQuery({ q: ' Go语言 ', conversationId: 'lobby', senderId: 'u1', kind: 'text', since: '2026-03-01', until: '' }),
    )
    expect(q).toEqual({ q: 'Go语言', conversation_id: 'lobby', sender_id: 'u1', kind: 'text', since: '2026-02-28T16:00:00.000Z', limit: 20 })
    expect(toQuery({ ...emptyCriteria(), kind: 'voice' }, 50)).toEqual({ kind: 'voice', limit: 50 })
  })

  it('today is the local calendar day', () => {
    expect(today(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05')
  })
})
