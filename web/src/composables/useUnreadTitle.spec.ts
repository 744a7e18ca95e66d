import { describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick } from 'vue'
import { mountApp } from '@/test/mountApp'
import { useConversationsStore } from '@/stores/conversations'
import { useUiStore } from '@/stores/ui'
import { direct, lobby, user } from '@/test/chatFixtures'
import { titleWithUnread, useUnreadTitle } from './useUnreadTitle'

describe('document title', () => {
  it.each([
    ['WebChatRoom', 3, true, '(3) WebChatRoom'],
    ['WebChatRoom', 3, false, 'WebChatRoom'],
    ['WebChatRoom', 0, true, 'WebChatRoom'],
    ['网页聊天室', 250, true, '(99+) 网页聊天室'],
  ])('%s with %i unread, hidden %s → %s', (base, n, hidden, want) => {
    expect(titleWithUnread(base, n, hidden)).toBe(want)
  })

  it('counts unread messages of every conversation while the tab is hidden', async () => {
    const Probe = defineComponent({
      setup() {
        useUnreadTitle()
        return () => h('div')
      },
    })
    const w = mountApp(Probe)
    const conversations = useConversationsStore()
    const ui = useUiStore()
    conversations.list = [lobby({ unread: 2 }), direct(user('bob'), { unread: 1 })]
    ui.visible = true
    await nextTick()
    expect(document.title).toBe('WebChatRoom')
    ui.visible = false
    await nextTick()
    expect(document.title).toBe('(3) WebChatRoom')
    conversations.setRead('lobby', 99)
    conversations.list[0]!.unread = 0
    await nextTick()
    expect(document.title).toBe('(1) WebChatRoom')
    ui.visible = true
    await nextTick()
    expect(document.title).toBe('WebChatRoom')
    w.unmount()
  })
})
