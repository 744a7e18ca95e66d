import type { SearchKind, SearchQuery } from './types'

/** The server reads at most this many characters of a query. */
export const SEARCH_Q_MAX = 200
/** Results per page (the server allows up to 50). */
export const SEARCH_PAGE = 20

/** What the search panel asks for: words plus filters, as the person set them. */
export interface SearchCriteria {
  q: string
  /** Only this conversation; empty: everything the person may read. */
  conversationId: string
  senderId: string
  kind: SearchKind | ''
  /** Local calendar days, `YYYY-MM-DD` as an `<input type="date">` gives them; empty: open. */
  since: string
  until: string
}

/** No words, no filters. */
export function emptyCriteria(): SearchCriteria {
  return { q: '', conversationId: '', senderId: '', kind: '', since: '', until: '' }
}

/** The query as the server takes it: trimmed, at most SEARCH_Q_MAX characters (code points, never half an emoji). */
export function capQuery(q: string): string {
  const trimmed = q.trim()
  const chars = Array.from(trimmed)
  return chars.length <= SEARCH_Q_MAX ? trimmed : chars.slice(0, SEARCH_Q_MAX).join('').trimEnd()
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

/** A local calendar day (`YYYY-MM-DD`) as a Date at local midnight, or null when it is not a real day. */
export function localDay(day: string): Date | null {
  const m = DAY.exec(day)
  if (!m) return null
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])]
  const date = new Date(y, mo, d)
  date.setFullYear(y) // years 0–99 would otherwise mean 1900–1999
  if (date.getFullYear() !== y || date.getMonth() !== mo || date.getDate() !== d) return null
  return date
}

/**
 * A range of local calendar days as RFC 3339 UTC instants: `since` is the first
 * millisecond of its day, `until` the first millisecond after its day (the API's `until`
 * is exclusive), both in the person's
 * time zone (so a day with a daylight-saving change is 23 or 25 hours long). An empty or
 * invalid day leaves that end open.
 */
export function dayRange(since: string, until: string): { since?: string; until?: string } {
  const out: { since?: string; until?: string } = {}
  const from = localDay(since)
  if (from) out.since = from.toISOString()
  const to = localDay(until)
  if (to) {
    const next = new Date(to.getTime())
    next.setDate(next.getDate() + 1) // local midnight of the next day, whatever its length
    out.until = next.toISOString()
  }
  return out
}

/** The start day is after the end day: nothing could match. */
export function rangeReversed(c: Pick<SearchCriteria, 'since' | 'until'>): boolean {
  const from = localDay(c.since)
  const to = localDay(c.until)
  return from !== null && to !== null && from.getTime() > to.getTime()
}

/**
 * Whether the words hold anything the server searches for: letters or digits of any
 * script (after NFKC, as the server reads them). Punctuation, symbols and emoji alone are
 * not searched, and the server refuses such a query.
 */
export function hasTerms(q: string): boolean {
  return /[\p{L}\p{N}]/u.test(q.normalize('NFKC'))
}

/** True when a filter narrows the search (the conversation scope alone does not: that would list the conversation itself). */
export function hasFilter(c: SearchCriteria): boolean {
  return c.senderId !== '' || c.kind !== '' || localDay(c.since) !== null || localDay(c.until) !== null
}

/** Whether there is anything to search for: words, or a filter. */
export function searchable(c: SearchCriteria): boolean {
  const words = capQuery(c.q)
  if (words !== '' && !hasTerms(words)) return false
  return (words !== '' || hasFilter(c)) && !rangeReversed(c)
}

/** The request for the first page of these criteria. */
export function toQuery(c: SearchCriteria, limit = SEARCH_PAGE): SearchQuery {
  const q: SearchQuery = { limit }
  const words = capQuery(c.q)
  if (words) q.q = words
  if (c.conversationId) q.conversation_id = c.conversationId
  if (c.senderId) q.sender_id = c.senderId
  if (c.kind) q.kind = c.kind
  Object.assign(q, dayRange(c.since, c.until))
  return q
}

/** Today as `YYYY-MM-DD` in local time (the `max` of the date inputs). */
export function today(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${String(now.getFullYear()).padStart(4, '0')}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}
