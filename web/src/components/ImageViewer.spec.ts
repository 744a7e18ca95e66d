import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import type { Media } from '@/api/types'
import { useMessagesStore } from '@/stores/messages'
import { useUiStore } from '@/stores/ui'
import { alice, msg } from '@/test/chatFixtures'
import { mountApp, settle } from '@/test/mountApp'
import ImageViewer from './ImageViewer.vue'

const picture = (id: string): Media => ({
  id,
  url: `/api/media/${id}`,
  thumbnail_url: `/api/media/${id}/thumbnail`,
  mime: 'image/jpeg',
  size: 1000,
  width: 1600,
  height: 1200,
})

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
  document.body.innerHTML = ''
})

/** The lobby with three pictures among text messages; the viewer open on `open`. */
async function mountViewer(open = 'lobby-m3') {
  const opener = document.createElement('button')
  document.body.appendChild(opener)
  opener.focus()
  wrapper = mountApp(ImageViewer)
  const store = useMessagesStore()
  store.conv('lobby').loaded = true
  store.merge('lobby', [
    msg(1, { kind: 'image', text: '', media: picture('p1'), sender: alice }),
    msg(2),
    msg(3, { kind: 'image', text: '', media: picture('p3') }),
    msg(4, { kind: 'voice', text: '', media: { id: 'v', url: '/api/media/v', mime: 'audio/webm', size: 1, duration_ms: 1000 } }),
    msg(5, { kind: 'image', text: '', media: picture('p5') }),
  ])
  const ui = useUiStore()
  ui.openImage('lobby', open)
  await settle()
  return { ui, opener }
}

async function key(k: string, shiftKey = false): Promise<void> {
  document.dispatchEvent(new KeyboardEvent('keydown', { key: k, shiftKey, bubbles: true, cancelable: true }))
  await wrapper!.vm.$nextTick()
}

const shown = () => wrapper!.get<HTMLImageElement>('img.image-viewer-img')

describe('ImageViewer', () => {
  it('shows the full picture with its alt text, sender and place among the pictures', async () => {
    await mountViewer()
    await wrapper!.vm.$nextTick()
    expect(shown().attributes('src')).toBe('/api/media/p3')
    expect(shown().attributes('alt')).toMatch(/^Picture from Bob, /)
    expect(wrapper!.text()).toContain('2 / 3')
    expect(wrapper!.get('[role="dialog"]').attributes('aria-modal')).toBe('true')
    expect(document.activeElement).toBe(wrapper!.get('.image-viewer-close').element)
  })

  it('→ and ← move between the pictures of the conversation (only pictures), stopping at the ends', async () => {
    const { ui } = await mountViewer()
    await key('ArrowRight')
    expect(ui.viewer?.messageId).toBe('lobby-m5')
    expect(shown().attributes('src')).toBe('/api/media/p5')
    expect(wrapper!.get<HTMLButtonElement>('.image-viewer-nav.next').element.disabled).toBe(true)
    await key('ArrowRight')
    expect(ui.viewer?.messageId).toBe('lobby-m5')
    await key('ArrowLeft')
    await key('ArrowLeft')
    expect(shown().attributes('src')).toBe('/api/media/p1')
    expect(shown().attributes('alt')).toMatch(/^Picture from Alice, /)
    expect(wrapper!.get<HTMLButtonElement>('.image-viewer-nav.prev').element.disabled).toBe(true)
  })

  it('Esc closes it', async () => {
    const { ui } = await mountViewer()
    await key('Escape')
    expect(ui.viewer).toBeNull()
  })

  it('keeps Tab inside and gives focus back when it closes', async () => {
    const { opener } = await mountViewer()
    await wrapper!.vm.$nextTick()
    const focusables = wrapper!.findAll('a[href], button:not(:disabled)').map((w) => w.element as HTMLElement)
    const first = focusables[0]!
    const last = focusables[focusables.length - 1]!
    last.focus()
    await key('Tab')
    expect(document.activeElement).toBe(first)
    await key('Tab', true)
    expect(document.activeElement).toBe(last)
    wrapper!.unmount()
    wrapper = undefined
    expect(document.activeElement).toBe(opener)
  })

  it('a click beside the picture closes it; the picture itself does not', async () => {
    const { ui } = await mountViewer()
    await shown().trigger('click')
    expect(ui.viewer).not.toBeNull()
    await wrapper!.get('.image-viewer-stage').trigger('click')
    expect(ui.viewer).toBeNull()
  })

  it('says so when the picture does not load', async () => {
    await mountViewer()
    await shown().trigger('error')
    expect(wrapper!.get('[role="alert"]').text()).toContain('Couldn’t load this picture.')
  })

  it('closes when its picture is no longer there (logout, another conversation)', async () => {
    const { ui } = await mountViewer()
    useMessagesStore().reset()
    await settle()
    expect(ui.viewer).toBeNull()
  })
})
