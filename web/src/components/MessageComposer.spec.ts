import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { ref } from 'vue'
import type { RecorderEnv } from '@/composables/useVoiceRecorder'
import { i18n } from '@/i18n'
import { FakeRecorder, fakeRecorderEnv } from '@/test/fakeRecorder'
import { mountApp, settle } from '@/test/mountApp'
import MessageComposer from './MessageComposer.vue'

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
  vi.useRealTimers()
})

/** An <img> that "decodes" any blob: URL as an 800×600 picture. */
class FakeImage {
  src = ''
  naturalWidth = 800
  naturalHeight = 600
  async decode(): Promise<void> {}
}

let revoked: string[]
beforeEach(() => {
  let n = 0
  revoked = []
  vi.stubGlobal('Image', FakeImage)
  vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:test/${++n}`)
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation((u) => void revoked.push(u))
})

function mountComposer(initial = '', recorderEnv?: RecorderEnv) {
  const text = ref(initial)
  wrapper = mountApp(MessageComposer, {
    props: {
      placeholder: 'Message',
      recorderEnv,
      modelValue: text.value,
      'onUpdate:modelValue': (v: string) => {
        text.value = v
        void wrapper?.setProps({ modelValue: v })
      },
    },
  })
  return { w: wrapper, text, box: wrapper.get('textarea') }
}

describe('MessageComposer', () => {
  it('Enter sends the trimmed text and empties the box', async () => {
    const { w, text, box } = mountComposer()
    await box.setValue('  你好  ')
    await box.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('send')).toEqual([['你好']])
    expect(text.value).toBe('')
  })

  it('Enter does not send while an input method is composing (isComposing)', async () => {
    const { w, box } = mountComposer()
    await box.setValue('ni hao')
    await box.trigger('keydown', { key: 'Enter', isComposing: true })
    expect(w.emitted('send')).toBeUndefined()
  })

  it('Enter does not send between compositionstart and compositionend, nor for keyCode 229', async () => {
    const { w, box } = mountComposer()
    await box.setValue('你')
    await box.trigger('compositionstart')
    await box.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('send')).toBeUndefined()
    await box.trigger('compositionend')
    await box.trigger('keydown', { key: 'Enter', keyCode: 229 }) // Safari: the Enter that ends the composition
    expect(w.emitted('send')).toBeUndefined()
    await box.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('send')).toEqual([['你']])
  })

  it('Shift+Enter leaves the newline to the browser', async () => {
    const { w, box } = mountComposer()
    await box.setValue('line one')
    const ev = new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, cancelable: true })
    box.element.dispatchEvent(ev)
    expect(ev.defaultPrevented).toBe(false)
    expect(w.emitted('send')).toBeUndefined()
  })

  it('does not send blank text', async () => {
    const { w, box } = mountComposer()
    await box.setValue(' \n ')
    await box.trigger('keydown', { key: 'Enter' })
    await w.get('form').trigger('submit')
    expect(w.emitted('send')).toBeUndefined()
    expect(w.get('button[type="submit"]').attributes('disabled')).toBeDefined()
  })

  it('shows a counter near the limit and refuses more than 4000 characters', async () => {
    const { w, box } = mountComposer()
    await box.setValue('a'.repeat(3499))
    expect(w.find('.composer-counter').exists()).toBe(false)
    await box.setValue('a'.repeat(3500))
    expect(w.get('.composer-counter').text()).toBe('3500 / 4000')
    await box.setValue('😀'.repeat(4000)) // emoji count once each, like the server counts
    expect(w.get('.composer-counter').text()).toContain('4000 / 4000')
    await box.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('send')).toHaveLength(1)
    await box.setValue('a'.repeat(4001))
    expect(w.get('.composer-counter').text()).toContain('at most 4000')
    expect(box.classes()).toContain('is-invalid')
    await box.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('send')).toHaveLength(1)
  })

  it('says it is typing while there is text', async () => {
    const { w, box } = mountComposer()
    await box.setValue('h')
    await box.setValue('')
    expect(w.emitted('typing')).toHaveLength(1)
  })
})

/** Pastes files into the box, the way a browser does. */
async function paste(el: Element, files: File[]): Promise<Event> {
  const ev = new Event('paste', { bubbles: true, cancelable: true })
  Object.defineProperty(ev, 'clipboardData', {
    value: { items: files.map((f) => ({ kind: 'file', getAsFile: () => f })), files },
  })
  el.dispatchEvent(ev)
  await settle()
  return ev
}

const png = (name = 'cat.png') => new File(['png'], name, { type: 'image/png' })

describe('MessageComposer: pictures', () => {
  it('a pasted picture waits, previewed, until Send hands it over', async () => {
    const { w, box } = mountComposer()
    const file = png()
    const ev = await paste(box.element, [file])
    expect(ev.defaultPrevented).toBe(true)
    expect(w.get('.composer-attachment img').attributes('src')).toBe('blob:test/1')
    expect(w.get('.composer-attachments').text()).toContain('One picture ready to send')
    expect(w.emitted('sendImages')).toBeUndefined()
    await w.get('.composer-attachments-send').trigger('click')
    expect(w.emitted('sendImages')).toEqual([[[{ file, width: 800, height: 600 }]]])
    expect(w.find('.composer-attachments').exists()).toBe(false)
    expect(revoked).toEqual(['blob:test/1'])
  })

  it('text pastes as text', async () => {
    const { box } = mountComposer()
    const ev = await paste(box.element, [])
    expect(ev.defaultPrevented).toBe(false)
  })

  it('Cancel drops the pictures; the × drops one', async () => {
    const { w, box } = mountComposer()
    await paste(box.element, [png('a.png'), png('b.png')])
    expect(w.findAll('.composer-attachment')).toHaveLength(2)
    await w.get('.composer-attachment-remove').trigger('click')
    expect(w.findAll('.composer-attachment')).toHaveLength(1)
    await w.get('.composer-attachments-cancel').trigger('click')
    expect(w.find('.composer-attachments').exists()).toBe(false)
    expect(w.emitted('sendImages')).toBeUndefined()
    expect(revoked).toHaveLength(2)
  })

  it('Enter sends the waiting pictures and the text', async () => {
    const { w, box } = mountComposer()
    await paste(box.element, [png()])
    await box.setValue('look at this')
    await box.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('sendImages')).toHaveLength(1)
    expect(w.emitted('send')).toEqual([['look at this']])
  })

  it('the picture button opens the file chooser; chosen files join the preview', async () => {
    const { w } = mountComposer()
    const input = w.get<HTMLInputElement>('input[type="file"]')
    const click = vi.spyOn(input.element, 'click')
    await w.get('.composer-image').trigger('click')
    expect(click).toHaveBeenCalled()
    expect(input.attributes('accept')).toBe('image/jpeg,image/png,image/gif,image/webp')
    Object.defineProperty(input.element, 'files', { value: [png()], configurable: true })
    await input.trigger('change')
    await settle()
    expect(w.findAll('.composer-attachment')).toHaveLength(1)
  })

  it('a refused file says why, in the current language', async () => {
    const { w, box } = mountComposer()
    await paste(box.element, [new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' })])
    expect(w.get('.composer-notice').text()).toBe('logo.svg: Only JPEG, PNG, GIF or WebP pictures can be sent.')
    i18n.global.locale.value = 'zh-CN'
    await settle()
    expect(w.get('.composer-notice').text()).toBe('logo.svg：只能发送 JPEG、PNG、GIF 或 WebP 图片。')
    i18n.global.locale.value = 'en'
    await w.get('.composer-notice .btn-close').trigger('click')
    expect(w.find('.composer-notice').exists()).toBe(false)
  })
})

describe('MessageComposer: voice', () => {
  it.each([
    ['NotFoundError', 'No microphone found.'],
    ['NotAllowedError', 'Microphone access was refused.'],
  ])('the microphone button explains a %s, and stays usable', async (name, says) => {
    const setup = fakeRecorderEnv({ manualPermission: true })
    const { w } = mountComposer('', setup.env)
    await w.get('.composer-mic').trigger('click')
    setup.permission!.reject(new DOMException('', name))
    await settle()
    expect(w.get('.composer-notice').text()).toContain(says)
    expect(w.get('.composer-mic').attributes('disabled')).toBeUndefined()
    expect(w.get('.composer-row').classes()).not.toContain('d-none')
  })

  it('without any microphone support it says so instead of doing nothing', async () => {
    const { env } = fakeRecorderEnv()
    const { w } = mountComposer('', { ...env, getUserMedia: null })
    await w.get('.composer-mic').trigger('click')
    await settle()
    expect(w.get('.composer-notice').text()).toBe('This browser can’t record voice messages.')
  })

  it('records with a running clock and sends the recording; the draft survives', async () => {
    vi.useFakeTimers()
    FakeRecorder.all = []
    const { env } = fakeRecorderEnv({ decode: null })
    const { w } = mountComposer('half a thought', env)
    await w.get('.composer-mic').trigger('click')
    await vi.advanceTimersByTimeAsync(0)
    expect(w.find('.voice-recorder.is-recording').exists()).toBe(true)
    expect(w.get('.composer-row').classes()).toContain('d-none') // Bootstrap's d-flex would beat v-show
    await vi.advanceTimersByTimeAsync(3000)
    FakeRecorder.last.feed()
    expect(w.get('.voice-clock').text()).toBe('0:03')
    expect(w.find('.voice-countdown').exists()).toBe(false)
    await w.get('.voice-send').trigger('click')
    await vi.advanceTimersByTimeAsync(10)
    const sent = w.emitted<[{ durationMs: number; blob: Blob }]>('sendVoice')
    expect(sent).toHaveLength(1)
    expect(sent![0]![0].durationMs).toBe(3000)
    expect(w.find('.voice-recorder').exists()).toBe(false)
    expect(w.get<HTMLTextAreaElement>('textarea').element.value).toBe('half a thought')
  })

  it('shows the countdown from 50 s and at 60 s keeps the recording to send', async () => {
    vi.useFakeTimers()
    FakeRecorder.all = []
    const { env } = fakeRecorderEnv({ decode: null })
    const { w } = mountComposer('', env)
    await w.get('.composer-mic').trigger('click')
    await vi.advanceTimersByTimeAsync(50_000)
    FakeRecorder.last.feed()
    expect(w.get('.voice-countdown').text()).toBe('10 s left')
    await vi.advanceTimersByTimeAsync(10_100)
    expect(w.find('.voice-recorder.is-recorded').exists()).toBe(true)
    expect(w.get('.voice-capped').text()).toBe('Reached the 1-minute limit — your recording is kept.')
    expect(w.get('.voice-recorder .voice-time').text()).toBe('1:00')
    await w.get('.voice-send').trigger('click')
    expect(w.emitted('sendVoice')).toHaveLength(1)
  })
})
