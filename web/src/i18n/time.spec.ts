import { describe, expect, it } from 'vitest'
import { dayLabel, daysAgo, listTime, sinceTime } from './time'

// Local times, so the expectations hold in any time zone.
const local = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi)
const now = local(2026, 3, 4, 15, 0) // Wednesday 4 March 2026, 15:00

describe('times', () => {
  it('counts calendar days, not 24-hour periods', () => {
    expect(daysAgo(local(2026, 3, 3, 23, 59), local(2026, 3, 4, 0, 1))).toBe(1)
    expect(daysAgo(local(2026, 3, 4, 0, 0), now)).toBe(0)
  })

  it('day separators: today, yesterday, a weekday, a date', () => {
    expect(dayLabel(local(2026, 3, 4, 9).toISOString(), 'en', now)).toBe('Today')
    expect(dayLabel(local(2026, 3, 3, 9).toISOString(), 'en', now)).toBe('Yesterday')
    expect(dayLabel(local(2026, 3, 3, 9).toISOString(), 'zh-CN', now)).toBe('昨天')
    expect(dayLabel(local(2026, 3, 1, 9).toISOString(), 'en', now)).toBe('Sunday')
    expect(dayLabel(local(2026, 1, 20).toISOString(), 'en', now)).toBe('Tue, January 20')
    expect(dayLabel(local(2025, 12, 24).toISOString(), 'en', now)).toBe('December 24, 2025')
  })

  it('list times: now, minutes ago, a clock time today, yesterday', () => {
    expect(listTime(local(2026, 3, 4, 14, 59).toISOString(), 'en', local(2026, 3, 4, 14, 59), 'now')).toBe('now')
    expect(listTime(local(2026, 3, 4, 14, 55).toISOString(), 'en', now, 'now')).toBe('5 min. ago')
    expect(listTime(local(2026, 3, 4, 9, 5).toISOString(), 'en', now, 'now')).toBe('9:05 AM')
    expect(listTime(local(2026, 3, 4, 9, 5).toISOString(), 'zh-CN', now, '刚刚')).toBe('9:05')
    expect(listTime(local(2026, 3, 3, 9, 5).toISOString(), 'en', now, 'now')).toBe('Yesterday')
  })

  it('online since: the clock time today, with the day before that', () => {
    expect(sinceTime(local(2026, 3, 4, 14, 5).toISOString(), 'en', now)).toBe('2:05 PM')
    expect(sinceTime(local(2026, 3, 3, 14, 5).toISOString(), 'en', now)).toBe('Tue 2:05 PM')
  })
})
