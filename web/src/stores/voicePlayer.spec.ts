import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useVoicePlayerStore, type AudioLike } from './voicePlayer'

/** An <audio> element: play() resolves, and the test moves currentTime. */
class FakeAudio implements AudioLike {
  src = ''
  currentTime = 0
  duration = NaN
  paused = true
  plays: string[] = []
  /** What happened to the element, in order. */
  log: string[] = []
  play = vi.fn(async () => {
    this.paused = false
    this.plays.push(this.src)
    this.log.push(`play ${this.src}`)
  })
  pause = vi.fn(() => {
    if (!this.paused) this.log.push('pause')
    this.paused = true
  })
  load = vi.fn()
  removeAttribute(name: string): void {
    if (name === 'src') this.src = ''
  }
}

const a = { id: 'a', url: '/api/media/a', durationMs: 3000 }
const b = { id: 'b', url: '/api/media/b', durationMs: 10_000 }

let audio: FakeAudio
beforeEach(() => {
  setActivePinia(createPinia())
  audio = new FakeAudio()
  useVoicePlayerStore().attach(audio)
})

describe('voice player', () => {
  it('plays a message, and a second click pauses it', async () => {
    const p = useVoicePlayerStore()
    await p.toggle(a)
    expect(audio.src).toBe('/api/media/a')
    expect([p.currentId, p.playing]).toEqual(['a', true])
    await p.toggle(a)
    expect(audio.pause).toHaveBeenCalled()
    expect(p.playing).toBe(false)
    expect(p.currentId).toBe('a')
  })

  it('starting another message stops the first: one player for all', async () => {
    const p = useVoicePlayerStore()
    await p.toggle(a)
    audio.currentTime = 1.5
    p.onTimeUpdate()
    expect(p.progress).toBe(0.5)
    await p.toggle(b)
    expect(audio.log).toEqual(['play /api/media/a', 'pause', 'play /api/media/b'])
    expect(audio.plays).toEqual(['/api/media/a', '/api/media/b'])
    expect([p.currentId, p.playing, p.positionMs, p.durationMs]).toEqual(['b', true, 0, 10_000])
    expect(p.isCurrent('a')).toBe(false)
  })

  it('progress follows the declared length; a file that knows its own corrects it', async () => {
    const p = useVoicePlayerStore()
    await p.toggle(b)
    audio.currentTime = 2.5
    p.onTimeUpdate()
    expect(p.progress).toBe(0.25)
    audio.duration = Infinity // WebM from a recorder: unknown
    p.onLoadedMetadata()
    expect(p.durationMs).toBe(10_000)
    audio.duration = 5
    p.onLoadedMetadata()
    expect(p.progress).toBe(0.5)
  })

  it('seeking jumps within the message and plays from there', async () => {
    const p = useVoicePlayerStore()
    await p.seek(b, 0.75)
    expect(audio.currentTime).toBe(7.5)
    expect(p.playing).toBe(true)
  })

  it('at the end it is ready to play again from the start', async () => {
    const p = useVoicePlayerStore()
    await p.toggle(a)
    audio.currentTime = 3
    p.onEnded()
    expect([p.playing, p.positionMs, audio.currentTime]).toEqual([false, 0, 0])
  })

  it('a file that cannot play says so', async () => {
    const p = useVoicePlayerStore()
    audio.play.mockRejectedValueOnce(new DOMException('no', 'NotSupportedError'))
    await p.toggle(a)
    expect([p.playing, p.error]).toEqual([false, 'voice_play_failed'])
  })

  it('stop forgets the message and empties the element', async () => {
    const p = useVoicePlayerStore()
    await p.toggle(a)
    p.stop()
    expect([p.currentId, p.playing, audio.src]).toEqual([null, false, ''])
    expect(audio.load).toHaveBeenCalled()
  })
})
