import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { ref } from 'vue'
import { mountApp } from '@/test/mountApp'
import MessageComposer from './MessageComposer.vue'

let wrapper: VueWrapper | undefined
afterEach(() => wrapper?.unmount())

function mountComposer(initial = '') {
  const text = ref(initial)
  wrapper = mountApp(MessageComposer, {
    props: {
      placeholder: 'Message',
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
