import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { h } from 'vue'
import BaseModal from './BaseModal.vue'
import { mountApp, settle } from '@/test/mountApp'

let wrapper: VueWrapper | undefined
afterEach(() => wrapper?.unmount())

function mountModal() {
  return mountApp(BaseModal, {
    props: { title: 'Hello' },
    slots: {
      default: () => [h('input', { id: 'first' }), h('input', { id: 'second' })],
      footer: () => h('button', { id: 'last' }, 'Footer'),
    },
  })
}

describe('BaseModal', () => {
  it('is a labelled dialog and focuses its first field', async () => {
    wrapper = mountModal()
    await settle()
    const dialog = wrapper.get('[role="dialog"]')
    expect(dialog.attributes('aria-modal')).toBe('true')
    expect(document.getElementById(dialog.attributes('aria-labelledby')!)?.textContent?.trim()).toBe('Hello')
    expect(document.activeElement?.id).toBe('first')
  })

  it('closes on Esc', async () => {
    wrapper = mountModal()
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    expect(wrapper.emitted('close')).toHaveLength(1)
  })

  it('leaves Esc to an IME composition in progress', async () => {
    wrapper = mountModal()
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', isComposing: true }))
    expect(wrapper.emitted('close')).toBeUndefined()
  })

  it('closes on a click on the backdrop area but not inside the dialog', async () => {
    wrapper = mountModal()
    await wrapper.get('#second').trigger('mousedown')
    await wrapper.get('#second').trigger('click')
    expect(wrapper.emitted('close')).toBeUndefined()
    await wrapper.get('.modal').trigger('mousedown')
    await wrapper.get('.modal').trigger('click')
    expect(wrapper.emitted('close')).toHaveLength(1)
  })

  it('closes with its close button', async () => {
    wrapper = mountModal()
    await wrapper.get('.btn-close').trigger('click')
    expect(wrapper.emitted('close')).toHaveLength(1)
  })
})
