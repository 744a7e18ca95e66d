import { describe, expect, it } from 'vitest'
import { IMAGE_MAX_BYTES, checkImage, checkImagePixels, checkVoice, pickVoiceMime, voiceFileName } from './mediaRules'

function file(name: string, type: string, size: number): File {
  const f = new File(['x'], name, { type })
  Object.defineProperty(f, 'size', { value: size })
  return f
}

describe('media rules', () => {
  it('accepts JPEG, PNG, GIF and WebP up to 10 MB, never SVG', () => {
    expect(checkImage(file('a.jpg', 'image/jpeg', 1000))).toBeNull()
    expect(checkImage(file('a.webp', 'image/webp', IMAGE_MAX_BYTES))).toBeNull()
    expect(checkImage(file('a.png', 'image/png', IMAGE_MAX_BYTES + 1))).toBe('image_too_large')
    expect(checkImage(file('a.svg', 'image/svg+xml', 100))).toBe('image_unsupported')
    expect(checkImage(file('a.heic', 'image/heic', 100))).toBe('image_unsupported')
    expect(checkImage(file('notes.txt', 'text/plain', 100))).toBe('image_unsupported')
    expect(checkImage(file('a.png', 'image/png', 0))).toBe('image_invalid')
  })

  it('judges a file without a type by its name', () => {
    expect(checkImage(file('photo.JPG', '', 100))).toBeNull()
    expect(checkImage(file('drawing.svg', '', 100))).toBe('image_unsupported')
  })

  it('refuses more than 40 megapixels', () => {
    expect(checkImagePixels(8000, 5000)).toBeNull()
    expect(checkImagePixels(8000, 5001)).toBe('image_too_many_pixels')
    expect(checkImagePixels(0, 10)).toBe('image_invalid')
  })

  it('prefers WebM/Opus, then Ogg/Opus, then MP4 for recording', () => {
    expect(pickVoiceMime(() => true)).toBe('audio/webm;codecs=opus')
    expect(pickVoiceMime((m) => m.startsWith('audio/ogg'))).toBe('audio/ogg;codecs=opus')
    expect(pickVoiceMime((m) => m === 'audio/mp4')).toBe('audio/mp4')
    expect(pickVoiceMime(() => false)).toBe('')
    expect(pickVoiceMime(undefined)).toBe('')
  })

  it('names uploads after their type', () => {
    expect(voiceFileName('audio/webm;codecs=opus')).toBe('voice.webm')
    expect(voiceFileName('audio/ogg; codecs=opus')).toBe('voice.ogg')
    expect(voiceFileName('audio/mp4')).toBe('voice.m4a')
  })

  it('checks a recording before upload', () => {
    expect(checkVoice(new Blob(['abc']), 3000)).toBeNull()
    expect(checkVoice(new Blob([]), 3000)).toBe('voice_too_short')
    expect(checkVoice(new Blob(['abc']), 200)).toBe('voice_too_short')
    expect(checkVoice(new Blob(['abc']), 60_001)).toBe('voice_too_long')
  })
})
