// Times in the person's language, with Intl. Every function takes the locale and "now"
// explicitly so that the UI can re-render on a tick and tests can pin the clock.

const cache = new Map<string, Intl.DateTimeFormat | Intl.RelativeTimeFormat>()

function dtf(locale: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale}|${JSON.stringify(opts)}`
  let f = cache.get(key) as Intl.DateTimeFormat | undefined
  if (!f) {
    f = new Intl.DateTimeFormat(locale, opts)
    cache.set(key, f)
  }
  return f
}

function rtf(locale: string, style: Intl.RelativeTimeFormatStyle): Intl.RelativeTimeFormat {
  const key = `r|${locale}|${style}`
  let f = cache.get(key) as Intl.RelativeTimeFormat | undefined
  if (!f) {
    f = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style })
    cache.set(key, f)
  }
  return f
}

function capitalize(s: string): string {
  return s.charAt(0).toLocaleUpperCase() + s.slice(1)
}

/** Local midnight of a date. */
function dayStart(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
}

/** Whole calendar days from `d` to `now` (0 = today, 1 = yesterday). */
export function daysAgo(d: Date, now: Date): number {
  return Math.round((dayStart(now) - dayStart(d)) / 86_400_000)
}

export function sameDay(a: string, b: string): boolean {
  return dayStart(new Date(a)) === dayStart(new Date(b))
}

/** 14:05 (or 2:05 PM). */
export function clockTime(iso: string, locale: string): string {
  return dtf(locale, { hour: 'numeric', minute: '2-digit' }).format(new Date(iso))
}

/** The full date and time, for a tooltip. */
export function fullDateTime(iso: string, locale: string): string {
  return dtf(locale, { dateStyle: 'full', timeStyle: 'short' }).format(new Date(iso))
}

/** A day separator: Today, Yesterday, Monday, Tuesday 3 March, 3 March 2025. */
export function dayLabel(iso: string, locale: string, now: Date): string {
  const d = new Date(iso)
  const days = daysAgo(d, now)
  if (days === 0 || days === 1) return capitalize(rtf(locale, 'long').format(-days, 'day'))
  if (days > 1 && days < 7) return capitalize(dtf(locale, { weekday: 'long' }).format(d))
  if (d.getFullYear() === now.getFullYear()) {
    return dtf(locale, { weekday: 'short', month: 'long', day: 'numeric' }).format(d)
  }
  return dtf(locale, { year: 'numeric', month: 'long', day: 'numeric' }).format(d)
}

/** The time beside a conversation: now, 5 min ago, 14:05, yesterday, Mon, 3/5/25. */
export function listTime(iso: string, locale: string, now: Date, justNow: string): string {
  const d = new Date(iso)
  const secs = (now.getTime() - d.getTime()) / 1000
  if (secs < 60) return justNow
  if (secs < 3600) return rtf(locale, 'short').format(-Math.floor(secs / 60), 'minute')
  const days = daysAgo(d, now)
  if (days <= 0) return clockTime(iso, locale)
  if (days === 1) return capitalize(rtf(locale, 'short').format(-1, 'day'))
  if (days < 7) return dtf(locale, { weekday: 'short' }).format(d)
  if (d.getFullYear() === now.getFullYear()) return dtf(locale, { month: 'short', day: 'numeric' }).format(d)
  return dtf(locale, { dateStyle: 'short' }).format(d)
}

/** Since when someone is online: 14:05 today, else with the day. */
export function sinceTime(iso: string, locale: string, now: Date): string {
  const d = new Date(iso)
  if (daysAgo(d, now) <= 0) return clockTime(iso, locale)
  return dtf(locale, { weekday: 'short', hour: 'numeric', minute: '2-digit' }).format(d)
}

/** The date someone joined (member since). */
export function joinedDate(iso: string, locale: string): string {
  return dtf(locale, { year: 'numeric', month: 'long', day: 'numeric' }).format(new Date(iso))
}

/** When a search hit was sent: 14:05 today, "3 Mar, 14:05" this year, else the date. */
export function resultTime(iso: string, locale: string, now: Date): string {
  const d = new Date(iso)
  if (daysAgo(d, now) === 0) return clockTime(iso, locale)
  if (d.getFullYear() === now.getFullYear()) {
    return dtf(locale, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }).format(d)
  }
  return dtf(locale, { year: 'numeric', month: 'short', day: 'numeric' }).format(d)
}
