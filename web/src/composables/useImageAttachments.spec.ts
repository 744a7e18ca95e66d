import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import { filesOf, useImageAttachments, type MeasureImage } from './useImageAttachments'

let n = 0
let revoked: string[] = []
let sizes: Record<string, { width: number; height: number } | Error>
const measure: MeasureImage = async (url) => {
  const s = sizes[url.split('/').pop()!]
  if (!s || s instanceof Error) throw s ?? new Error('EncodingError')
  return s
}

function png(name: string, size = { width: 800, height: 600 } as { width: number; height: number } | Error): File {
  sizes[name] = size
  return new File(['png'], name, { type: 'image/png' })
}

let scope: ReturnType<typeof effectScope>
function attachments() {
  scope = effectScope()
  return scope.run(() => useImageAttachments(measure))!
}

beforeEach(() => {
  n = 0
  revoked = []
  sizes = {}
  vi.spyOn(URL, 'createObjectURL').mockImplementation((f) => `blob:test/${++n}/${(f as File).name}`)
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation((u) => void revoked.push(u))
})
afterEach(() => scope?.stop())

describe('picked pictures', () => {
  it('keeps pictures with their size in pixels and a preview URL', async () => {
    const a = attachments()
    await a.add([png('cat.png')])
    expect(a.items.value).toHaveLength(1)
    expect(a.items.value[0]).toMatchObject({ url: 'blob:test/1/cat.png', width: 800, height: 600 })
    expect(a.items.value[0]!.file.name).toBe('cat.png')
    expect(a.rejected.value).toEqual([])
  })

  it('refuses other files before any upload, each with the reason', async () => {
    const a = attachments()
    const big = new File(['x'], 'huge.jpg', { type: 'image/jpeg' })
    Object.defineProperty(big, 'size', { value: 11 * 1024 * 1024 })
    await a.add([
      new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' }),
      big,
      png('poster.png', { width: 10_000, height: 5000 }),
      png('broken.png', new Error('EncodingError')),
      png('ok.png'),
    ])
    expect(a.rejected.value).toEqual([
      { name: 'logo.svg', code: 'image_unsupported' },
      { name: 'huge.jpg', code: 'image_too_large' },
      { name: 'poster.png', code: 'image_too_many_pixels' },
      { name: 'broken.png', code: 'image_invalid' },
    ])
    expect(a.items.value.map((x) => x.file.name)).toEqual(['ok.png'])
    // The refused ones' URLs are let go at once.
    expect(revoked.sort()).toEqual(['blob:test/1/poster.png', 'blob:test/2/broken.png'])
  })

  it('takes at most 10 at once', async () => {
    const a = attachments()
    await a.add(Array.from({ length: 12 }, (_, i) => png(`p${i}.png`)))
    expect(a.items.value).toHaveLength(10)
    expect(a.rejected.value.map((r) => r.code)).toEqual(['too_many_images', 'too_many_images'])
  })

  it('revokes a preview on remove, on take and when the composer goes away', async () => {
    const a = attachments()
    await a.add([png('a.png')])
    await a.add([png('b.png')])
    await a.add([png('c.png')])
    a.remove(a.items.value[0]!.id)
    expect(revoked).toEqual(['blob:test/1/a.png'])
    const taken = a.take()
    expect(taken.map((x) => [x.file.name, x.width, x.height])).toEqual([
      ['b.png', 800, 600],
      ['c.png', 800, 600],
    ])
    expect(revoked).toEqual(['blob:test/1/a.png', 'blob:test/2/b.png', 'blob:test/3/c.png'])
    expect(a.items.value).toEqual([])
    await a.add([png('d.png')])
    scope.stop()
    expect(revoked).toContain('blob:test/4/d.png')
  })

  it('finds the files of a paste or drop', () => {
    const f = new File(['x'], 'a.png', { type: 'image/png' })
    const viaItems = { items: [{ kind: 'string', getAsFile: () => null }, { kind: 'file', getAsFile: () => f }], files: [] }
    expect(filesOf(viaItems as unknown as DataTransfer)).toEqual([f])
    const viaFiles = { items: [], files: [f] }
    expect(filesOf(viaFiles as unknown as DataTransfer)).toEqual([f])
    expect(filesOf(null)).toEqual([])
  })
})
