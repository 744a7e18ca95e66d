import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import type { Media } from '@/api/types'
import type { PendingMessage } from '@/stores/messages'
import { alice, bob, msg } from '@/test/chatFixtures'
import { mountApp } from '@/test/mountApp'
import MessageBubble from './MessageBubble.vue'

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
})
let revoked: string[]
beforeEach(() => {
  revoked = []
  vi.spyOn(URL, 'createObjectURL').mockImplementation(() => 'blob:test/local')
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation((u) => void revoked.push(u))
})

const picture = (width: number, height: number): Media => ({
  id: 'p1',
  url: '/api/media/p1',
  thumbnail_url: '/api/media/p1/thumbnail',
  mime: 'image/jpeg',
  size: 1000,
  width,
  height,
})

function box(w: VueWrapper) {
  const style = (w.get('.message-image-box').element as HTMLElement).style
  return { width: style.width, ratio: style.aspectRatio.replace(/\s/g, '') }
}

describe('MessageBubble: pictures and voice', () => {
  it.each([
    [1600, 1200, '280px', '280/210'], // landscape: as wide as allowed
    [1200, 1600, '240px', '240/320'], // portrait: as tall as allowed
    [200, 100, '200px', '200/100'], // small: its own size
    [4000, 100, '280px', '280/72'], // a panorama strip: cropped, never a hairline
  ])('reserves the thumbnail’s space from %i×%i before it loads', (width, height, w, ratio) => {
    wrapper = mountApp(MessageBubble, {
      props: { message: msg(1, { kind: 'image', text: '', media: picture(width, height) }), sender: bob, own: false, head: true },
    })
    expect(box(wrapper)).toEqual({ width: w, ratio })
    const img = wrapper.get('img.message-image')
    expect(img.attributes('src')).toBe('/api/media/p1/thumbnail')
    expect(img.attributes('alt')).toMatch(/^Picture from Bob, /)
  })

  it('a small GIF shows itself, animated, not its first-frame thumbnail', () => {
    const gif: Media = { ...picture(300, 200), mime: 'image/gif', size: 500_000 }
    wrapper = mountApp(MessageBubble, { props: { message: msg(1, { kind: 'image', text: '', media: gif }), sender: bob, own: false, head: true } })
    expect(wrapper.get('img.message-image').attributes('src')).toBe('/api/media/p1')
  })

  it('a click on the thumbnail opens the viewer', async () => {
    wrapper = mountApp(MessageBubble, {
      props: { message: msg(7, { kind: 'image', text: '', media: picture(10, 10) }), sender: bob, own: false, head: true },
    })
    await wrapper.get('.message-image-open').trigger('click')
    expect(wrapper.emitted('openImage')).toEqual([['lobby-m7']])
  })

  it('our picture on its way shows the local file and the upload’s progress; its URL is revoked when sent', async () => {
    const pending: PendingMessage = {
      client_id: 'c1',
      conversation_id: 'lobby',
      kind: 'image',
      text: '',
      created_at: '2026-03-01T12:00:00.000Z',
      status: 'uploading',
      attachment: { file: new File(['x'], 'cat.png', { type: 'image/png' }), filename: 'cat.png', width: 800, height: 600, progress: 0.42 },
    }
    wrapper = mountApp(MessageBubble, { props: { pending, sender: alice, own: true, head: true } })
    expect(wrapper.get('img.message-image').attributes('src')).toBe('blob:test/local')
    expect(box(wrapper).ratio).toBe('280/210')
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('42')
    expect(wrapper.get('.message-image-percent').text()).toBe('42%')
    await wrapper.get('.message-image-cancel').trigger('click')
    expect(wrapper.emitted('discard')).toEqual([['c1']])

    const stored = msg(2, { sender: alice, client_id: 'c1', kind: 'image', text: '', media: picture(800, 600) })
    await wrapper.setProps({ pending: undefined, message: stored })
    expect(wrapper.get('img.message-image').attributes('src')).toBe('/api/media/p1/thumbnail')
    expect(revoked).toEqual(['blob:test/local'])
    expect(wrapper.find('[role="progressbar"]').exists()).toBe(false)
  })

  it('a voice message shows its length and waveform bars', () => {
    const media: Media = { id: 'v1', url: '/api/media/v1', mime: 'audio/webm', size: 100, duration_ms: 3040, waveform: [0, 255, 128] }
    wrapper = mountApp(MessageBubble, { props: { message: msg(3, { kind: 'voice', text: '', media }), sender: bob, own: false, head: true } })
    expect(wrapper.get('.voice-time').text()).toBe('0:03')
    expect(wrapper.get('.message-voice').attributes('aria-label')).toBe('Voice message, 0:03')
    const bars = wrapper.findAll('.voice-bar')
    expect(bars.length).toBeGreaterThanOrEqual(18)
    const heights = bars.map((b) => parseInt((b.element as HTMLElement).style.height, 10))
    expect(Math.max(...heights)).toBe(100)
    expect(Math.min(...heights)).toBe(12)
    expect(wrapper.get('.voice-play').attributes('aria-label')).toBe('Play voice message')
  })

  it('a failed upload offers Retry and says why', async () => {
    const pending: PendingMessage = {
      client_id: 'c9',
      conversation_id: 'lobby',
      kind: 'voice',
      text: '',
      created_at: '2026-03-01T12:00:00.000Z',
      status: 'failed',
      error: 'voice_too_long',
      attachment: { file: new Blob(['x']), filename: 'voice.webm', durationMs: 61_000, waveform: [1], progress: 0.3 },
    }
    wrapper = mountApp(MessageBubble, { props: { pending, sender: alice, own: true, head: true } })
    expect(wrapper.get('.message-failed').text()).toContain('Not sent · Voice messages can be at most 1 minute long.')
    await wrapper.get('.message-retry').trigger('click')
    expect(wrapper.emitted('retry')).toEqual([['c9']])
  })
})
