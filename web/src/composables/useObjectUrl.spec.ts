import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'
import { useObjectUrl } from './useObjectUrl'

let n = 0
beforeEach(() => {
  n = 0
  vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:test/${++n}`)
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
})
afterEach(() => vi.restoreAllMocks())

describe('useObjectUrl', () => {
  it('revokes the old URL when the file changes and when its scope ends', () => {
    const scope = effectScope()
    const preview = scope.run(() => useObjectUrl())!
    preview.set(new Blob(['a']))
    expect(preview.url.value).toBe('blob:test/1')
    preview.set(new Blob(['b']))
    expect(URL.revokeObjectURL).toHaveBeenLastCalledWith('blob:test/1')
    expect(preview.url.value).toBe('blob:test/2')
    preview.set(null)
    expect(URL.revokeObjectURL).toHaveBeenLastCalledWith('blob:test/2')
    expect(preview.url.value).toBeNull()
    preview.set(new Blob(['c']))
    scope.stop()
    expect(URL.revokeObjectURL).toHaveBeenLastCalledWith('blob:test/3')
    expect(URL.revokeObjectURL).toHaveBeenCalledTimes(3)
  })
})
