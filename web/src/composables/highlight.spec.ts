import { describe, expect, it } from 'vitest'
import { excerpt, normalizeRanges, splitHighlights, type TextPart } from './highlight'

const marked = (parts: TextPart[]) => parts.filter((p) => p.mark).map((p) => p.text)
const joined = (parts: TextPart[]) => parts.map((p) => p.text).join('')

describe('splitHighlights', () => {
  it('marks two-character Chinese words by their UTF-16 offsets', () => {
    const text = '我们明天开会讨论会议纪要'
    const parts = splitHighlights(text, [
      [4, 6],
      [8, 10],
    ])
    expect(parts).toEqual([
      { text: '我们明天', mark: false },
      { text: '开会', mark: true },
      { text: '讨论', mark: false },
      { text: '会议', mark: true },
      { text: '纪要', mark: false },
    ])
    expect(joined(parts)).toBe(text)
  })

  it('counts an emoji as two units, as the server does', () => {
    const text = '👋 hello 会议 🎉!'
    // 👋 = [0,2), " " = 2, hello = [3,8), " " = 8, 会议 = [9,11), " " = 11, 🎉 = [12,14), ! = 14
    const parts = splitHighlights(text, [
      [3, 8],
      [9, 11],
    ])
    expect(marked(parts)).toEqual(['hello', '会议'])
    expect(parts[0]).toEqual({ text: '👋 ', mark: false })
    expect(parts[parts.length - 1]).toEqual({ text: ' 🎉!', mark: false })
    expect(joined(parts)).toBe(text)
  })

  it('marks an emoji as a whole and never cuts one in half', () => {
    const text = 'ok🎉go'
    expect(marked(splitHighlights(text, [[2, 4]]))).toEqual(['🎉'])
    // A range starting or ending inside the pair is widened to the whole character.
    expect(marked(splitHighlights(text, [[3, 5]]))).toEqual(['🎉g'])
    expect(marked(splitHighlights(text, [[1, 3]]))).toEqual(['k🎉'])
    for (const parts of [splitHighlights(text, [[3, 5]]), splitHighlights(text, [[1, 3]])]) {
      for (const p of parts) expect(p.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/)
    }
  })

  it('handles mixed script and full-width letters', () => {
    const text = '学习Go语言和ＡＢＣ'
    expect(
      marked(
        splitHighlights(text, [
          [2, 6],
          [7, 10],
        ]),
      ),
    ).toEqual(['Go语言', 'ＡＢＣ'])
  })

  it('sorts, merges overlapping and touching ranges, and drops empty or broken ones', () => {
    const text = 'abcdefghij'
    expect(
      normalizeRanges(text, [
        [5, 7],
        [0, 2],
        [1, 3],
        [3, 4],
        [8, 8],
        [9, 5],
      ]),
    ).toEqual([
      [0, 4],
      [5, 7],
    ])
    const garbage = [[-5, 2], [8, 99], null, ['x', 'y'], [1], [Number.NaN, 3]] as unknown as number[][]
    expect(normalizeRanges(text, garbage)).toEqual([
      [0, 2],
      [8, 10],
    ])
    expect(normalizeRanges(text, null)).toEqual([])
  })

  it('gives the text back unmarked without ranges, and an empty text as one empty part', () => {
    expect(splitHighlights('你好', [])).toEqual([{ text: '你好', mark: false }])
    expect(splitHighlights('', [[0, 3]])).toEqual([{ text: '', mark: false }])
    expect(splitHighlights('全部', [[0, 2]])).toEqual([{ text: '全部', mark: true }])
  })
})

describe('excerpt', () => {
  it('keeps a short text whole', () => {
    const e = excerpt('明天开会', [[2, 4]])
    expect(e).toEqual({ parts: [{ text: '明天', mark: false }, { text: '开会', mark: true }], cutStart: false, cutEnd: false })
  })

  it('cuts a long text around the first match', () => {
    const text = `${'前'.repeat(300)}会议${'后'.repeat(300)}`
    const e = excerpt(text, [[300, 302]], { before: 20, max: 100 })
    expect(e.cutStart).toBe(true)
    expect(e.cutEnd).toBe(true)
    expect(joined(e.parts)).toBe(text.slice(280, 380))
    expect(marked(e.parts)).toEqual(['会议'])
  })

  it('shows the end of the text when the match is near it', () => {
    const text = `${'x'.repeat(500)} meeting`
    const e = excerpt(text, [[501, 508]], { before: 40, max: 60 })
    expect(e.cutEnd).toBe(false)
    expect(joined(e.parts).endsWith(' meeting')).toBe(true)
    expect(marked(e.parts)).toEqual(['meeting'])
  })

  it('never starts or ends in the middle of an emoji', () => {
    const text = '🎉'.repeat(200) + '会议' + '🎉'.repeat(200)
    const e = excerpt(text, [[400, 402]], { before: 5, max: 50 })
    const shown = joined(e.parts)
    expect(shown).not.toMatch(/^[\uDC00-\uDFFF]/)
    expect(shown).not.toMatch(/[\uD800-\uDBFF]$/)
    expect(marked(e.parts)).toEqual(['会议'])
  })
})
