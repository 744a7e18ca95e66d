// Matched words in a search result, as pieces of text to render with {{ }} (never as
// HTML): the server gives UTF-16 offsets [start, end), which is what JavaScript strings
// index by, so "会议" in "明天开会讨论会议纪要" is [6, 8] and an emoji counts as two.

/** A run of the text, matched or not. */
export interface TextPart {
  text: string
  mark: boolean
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}
function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/** True when offset `i` falls between the two halves of a surrogate pair (inside an emoji). */
function splitsPair(text: string, i: number): boolean {
  return i > 0 && i < text.length && isHigh(text.charCodeAt(i - 1)) && isLow(text.charCodeAt(i))
}

/**
 * Ranges made safe to use: whole numbers within the text, start < end, never inside a
 * surrogate pair (widened to the whole character), sorted, and overlapping or touching
 * ranges merged. Whatever the server sent, the result splits the text cleanly.
 */
export function normalizeRanges(text: string, ranges: readonly (readonly number[])[] | null | undefined): [number, number][] {
  const len = text.length
  const clean: [number, number][] = []
  for (const r of ranges ?? []) {
    if (!Array.isArray(r) || r.length < 2) continue
    let [s, e] = [Math.floor(Number(r[0])), Math.ceil(Number(r[1]))]
    if (!Number.isFinite(s) || !Number.isFinite(e)) continue
    s = Math.max(0, Math.min(len, s))
    e = Math.max(0, Math.min(len, e))
    if (splitsPair(text, s)) s -= 1
    if (splitsPair(text, e)) e += 1
    if (s < e) clean.push([s, e])
  }
  clean.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: [number, number][] = []
  for (const r of clean) {
    const last = merged[merged.length - 1]
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1])
    else merged.push([r[0], r[1]])
  }
  return merged
}

/** The text cut into plain and matched runs; joined again they give the text back. */
export function splitHighlights(text: string, ranges: readonly (readonly number[])[] | null | undefined): TextPart[] {
  const parts: TextPart[] = []
  let at = 0
  for (const [s, e] of normalizeRanges(text, ranges)) {
    if (s > at) parts.push({ text: text.slice(at, s), mark: false })
    parts.push({ text: text.slice(s, e), mark: true })
    at = e
  }
  if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at), mark: false })
  return parts
}

/** A piece of a long text around its first match, with whether something was left out on each side. */
export interface Excerpt {
  parts: TextPart[]
  cutStart: boolean
  cutEnd: boolean
}

/**
 * The part of a long message worth showing in a result: up to `max` UTF-16 units starting
 * `before` units ahead of the first match (the whole text when it is short enough). Cuts
 * never split a character.
 */
export function excerpt(
  text: string,
  ranges: readonly (readonly number[])[] | null | undefined,
  { before = 40, max = 240 }: { before?: number; max?: number } = {},
): Excerpt {
  const all = normalizeRanges(text, ranges)
  if (text.length <= max) return { parts: splitHighlights(text, all), cutStart: false, cutEnd: false }
  const first = all[0]
  let start = first ? Math.max(0, first[0] - before) : 0
  let end = Math.min(text.length, start + max)
  if (end === text.length) start = Math.max(0, end - max)
  if (splitsPair(text, start)) start += 1
  if (splitsPair(text, end)) end -= 1
  const inside = all
    .filter(([s, e]) => e > start && s < end)
    .map(([s, e]) => [Math.max(s, start) - start, Math.min(e, end) - start] as [number, number])
  return { parts: splitHighlights(text.slice(start, end), inside), cutStart: start > 0, cutEnd: end < text.length }
}
