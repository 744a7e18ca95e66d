import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import { nextTick } from 'vue'
import RetryAlert from './RetryAlert.vue'
import { mountApp } from '@/test/mountApp'
import { i18n } from '@/i18n'

let wrapper: VueWrapper | undefined
afterEach(() => {
  wrapper?.unmount()
})

describe('RetryAlert', () => {
  it('says what failed, as an alert, and asks to try again', async () => {
    wrapper = mountApp(RetryAlert, { props: { text: 'Could not load messages. Network down.' } })
    const alert = wrapper.get('[role="alert"]')
    expect(alert.text()).toContain('Could not load messages. Network down.')
    const button = wrapper.get('button')
    expect(button.text()).toBe('Retry')
    await button.trigger('click')
    await button.trigger('click')
    expect(wrapper.emitted('retry')).toHaveLength(2)
  })

  it('speaks Chinese', async () => {
    wrapper = mountApp(RetryAlert, { props: { text: '加载失败' } })
    i18n.global.locale.value = 'zh-CN'
    await nextTick()
    expect(wrapper.get('button').text()).toBe('重试')
  })

  it('takes its spacing from where it stands and can be small', () => {
    wrapper = mountApp(RetryAlert, { props: { text: 'x', small: true }, attrs: { class: 'm-3' } })
    expect(wrapper.get('[role="alert"]').classes()).toContain('m-3')
    expect(wrapper.get('span').classes()).toContain('small')
  })
})
