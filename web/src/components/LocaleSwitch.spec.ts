import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { nextTick } from 'vue'
import LocaleSwitch from './LocaleSwitch.vue'
import { mountApp } from '@/test/mountApp'
import { LOCALE_KEY } from '@/stores/locale'

let wrapper: VueWrapper | undefined
beforeEach(() => {
  localStorage.setItem(LOCALE_KEY, 'en')
})
afterEach(() => {
  wrapper?.unmount()
  localStorage.clear()
})

describe('LocaleSwitch', () => {
  it('switches the language from its menu and remembers it', async () => {
    wrapper = mountApp(LocaleSwitch)
    const toggle = wrapper.get('button')
    expect(toggle.text()).toContain('English')
    expect(wrapper.find('.dropdown-menu').exists()).toBe(false)
    await toggle.trigger('click')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    const zh = wrapper.findAll('.dropdown-item').find((b) => b.text() === '中文')!
    await zh.trigger('click')
    await nextTick()
    expect(wrapper.find('.dropdown-menu').exists()).toBe(false)
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(localStorage.getItem(LOCALE_KEY)).toBe('zh-CN')
    expect(wrapper.get('button').text()).toContain('中文')
  })

  it('closes on Esc and on a click elsewhere', async () => {
    wrapper = mountApp(LocaleSwitch)
    await wrapper.get('button').trigger('click')
    await wrapper.get('.dropdown').trigger('keydown', { key: 'Escape' })
    expect(wrapper.find('.dropdown-menu').exists()).toBe(false)
    expect(document.activeElement).toBe(wrapper.get('button').element)

    await wrapper.get('button').trigger('click')
    expect(wrapper.find('.dropdown-menu').exists()).toBe(true)
    document.body.dispatchEvent(new Event('pointerdown', { bubbles: true }))
    await nextTick()
    expect(wrapper.find('.dropdown-menu').exists()).toBe(false)
  })

  it('moves through the items with the arrow keys', async () => {
    wrapper = mountApp(LocaleSwitch)
    await wrapper.get('button').trigger('click')
    const items = wrapper.findAll('.dropdown-item')
    await wrapper.get('.dropdown').trigger('keydown', { key: 'ArrowDown' })
    expect(document.activeElement).toBe(items[0]!.element)
    await wrapper.get('.dropdown').trigger('keydown', { key: 'ArrowDown' })
    expect(document.activeElement).toBe(items[1]!.element)
    await wrapper.get('.dropdown').trigger('keydown', { key: 'ArrowDown' })
    expect(document.activeElement).toBe(items[0]!.element)
  })
})
