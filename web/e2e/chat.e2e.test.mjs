// Browser end-to-end test of the chat: the real server binary, Debian's Chromium, two and
// three people in separate browser contexts. Run with `npm run e2e`.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startServer } from './server.mjs'
import { PHONE, launch, shots, shotsDir } from './browser.mjs'
import { assertNoProblems, bubble, enter as enterOn, register as registerOn, send, texts } from './people.mjs'

const shot = shots('chat')

const alice = { username: 'alice_chat', nickname: 'Alice Liddell', password: 'rabbit-hole-42', avatar: true }
const bob = { username: 'bob_chat', nickname: '鲍勃', password: 'builder-can-fix-9' }
const carol = { username: 'carol_chat', nickname: 'Carol', password: 'christmas-carol-7' }

let server
let browser
/** Everyone logged in, by username: { context, page, problems }. */
const people = {}

before(async () => {
  // Pictures of an earlier run would mix with this one's.
  for (const f of existsSync(shotsDir) ? readdirSync(shotsDir, { withFileTypes: true }) : []) {
    if (f.isFile() && /^chat-\d+-.*\.png$/.test(f.name)) rmSync(path.join(shotsDir, f.name))
  }
  server = await startServer()
  browser = await launch()
  for (const u of [alice, bob, carol]) await register(u)
})

after(async () => {
  for (const p of Object.values(people)) await p.context.close().catch(() => undefined)
  await browser?.close()
  await server?.stop()
})

/** Registers `u` (on the main server unless told). */
function register(u, on = server) {
  return registerOn(on, u)
}

/** Opens the app as `u` in a fresh context and remembers it as people[as]. */
async function enter(u, { as = u.username, on = server, ...opts } = {}) {
  const p = await enterOn(browser, on, u, opts)
  people[as] = p
  return p
}

function peopleHeader(page) {
  return page.locator('.pane-people .pane-header h2')
}

/** Pretends the tab went to the background (or came back). */
async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)
}

// A Notification the test can see (headless Chromium shows none): records what would pop up.
const fakeNotification = () => {
  window.__notifications = []
  class FakeNotification {
    static permission = 'default'
    static async requestPermission() {
      FakeNotification.permission = 'granted'
      return 'granted'
    }
    constructor(title, options = {}) {
      window.__notifications.push({ title, body: options.body, tag: options.tag })
    }
    close() {}
  }
  window.Notification = FakeNotification
}

describe('chat in the browser', () => {
  test('two people see each other online and talk in the lobby', async () => {
    const a = await enter(alice, { init: fakeNotification })
    const b = await enter(bob, { locale: 'zh-CN' })

    // Both online, counted once each, with avatar and nickname.
    await peopleHeader(a.page).filter({ hasText: '2 online' }).waitFor()
    await peopleHeader(b.page).filter({ hasText: '2 人在线' }).waitFor()
    await a.page.locator(`.people-online [data-user="${bob.username}"]`, { hasText: bob.nickname }).waitFor()
    await b.page.locator(`.people-online [data-user="${alice.username}"]`, { hasText: alice.nickname }).waitFor()
    assert.match(await a.page.locator('.conversation-item[data-conversation-id="lobby"]').innerText(), /Lobby/)
    assert.match(await b.page.locator('.conversation-item[data-conversation-id="lobby"]').innerText(), /大厅/)

    // Alice writes: her bubble is pending first, then sent (recorded as the DOM changes).
    await a.page.evaluate(() => {
      window.__states = []
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('.message.own')) {
          const s = `${el.querySelector('.message-text')?.textContent}:${el.dataset.status}`
          if (window.__states.at(-1) !== s) window.__states.push(s)
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] })
    })
    await send(a.page, 'Hello from Alice 👋')
    await bubble(a.page, 'Hello from Alice 👋').and(a.page.locator('[data-status="sent"]')).waitFor()
    const states = await a.page.evaluate(() => window.__states)
    assert.deepEqual(states.slice(0, 2), ['Hello from Alice 👋:pending', 'Hello from Alice 👋:sent'])
    assert.equal(await a.page.locator('.composer-input').inputValue(), '', 'the box is empty after sending')

    // Bob sees it within a blink, on the left with Alice's name and avatar.
    const got = bubble(b.page, 'Hello from Alice 👋')
    await got.waitFor({ timeout: 3000 })
    assert.match(await got.getAttribute('class'), /\bother\b/)
    assert.match(await got.locator('.message-sender').innerText(), /Alice Liddell/)
    assert.ok(await got.locator('img.avatar').isVisible())

    // Typing shows on the other side; Shift+Enter breaks the line, Enter sends.
    await b.page.locator('.composer-input').pressSequentially('你好，')
    await a.page.locator('.typing-indicator', { hasText: `${bob.nickname} is typing…` }).waitFor({ timeout: 3000 })
    await shot(a.page, 'alice-sees-typing')
    await b.page.locator('.composer-input').press('Shift+Enter')
    await b.page.locator('.composer-input').pressSequentially('Alice！')
    assert.equal(await b.page.locator('.composer-input').inputValue(), '你好，\nAlice！')
    await b.page.locator('.composer-input').press('Enter')
    await bubble(a.page, '你好，\nAlice！').waitFor({ timeout: 3000 })
    assert.deepEqual(await texts(a.page), ['Hello from Alice 👋', '你好，\nAlice！'])
    assert.deepEqual(await texts(b.page), ['Hello from Alice 👋', '你好，\nAlice！'])
    await a.page.locator('.typing-indicator .typing-text').waitFor({ state: 'detached' })
    await shot(a.page, 'lobby-alice')
    await shot(b.page, 'lobby-bob-zh')
    assertNoProblems(a, b)
  })

  test('Enter never sends while a Chinese input method is composing', async () => {
    const a = people[alice.username]
    const box = a.page.locator('.composer-input')
    await box.focus()
    const cdp = await a.context.newCDPSession(a.page)
    const before = (await texts(a.page)).length
    await cdp.send('Input.imeSetComposition', { text: 'ni hao', selectionStart: 6, selectionEnd: 6 })
    await a.page.keyboard.press('Enter') // picks the candidate: must not send
    await cdp.send('Input.insertText', { text: '你好' }) // the composition ends with the chosen words
    await a.page.waitForTimeout(300)
    assert.equal((await texts(a.page)).length, before, 'nothing was sent during the composition')
    // (Chromium's emulated composition may leave the Enter's newline behind; a real IME eats it.)
    assert.match(await box.inputValue(), /^你好\n?$/)
    await box.press('Enter')
    await bubble(a.page, '你好').and(a.page.locator('[data-status="sent"]')).waitFor()
    await bubble(people[bob.username].page, '你好').waitFor({ timeout: 3000 })
    await cdp.detach()

    // Near the limit a counter shows; over it, sending is refused before the server says so.
    await box.fill(`${'长'.repeat(3000)}\n${'文'.repeat(1005)}`)
    const counter = a.page.locator('.composer-counter')
    assert.match(await counter.innerText(), /Too long: at most 4000 characters\. 4006 \/ 4000/)
    assert.ok(await a.page.locator('.composer-send').isDisabled())
    await shot(a.page, 'composer-too-long')
    await box.fill('')
    await counter.waitFor({ state: 'detached' })
  })

  test('a private conversation from the person card stays between the two', async () => {
    const a = people[alice.username]
    const b = people[bob.username]
    const c = await enter(carol)
    await peopleHeader(a.page).filter({ hasText: '3 online' }).waitFor()

    await a.page.locator(`.people-online [data-user="${bob.username}"]`).click()
    const card = a.page.locator('.modal.person-card')
    await card.waitFor()
    assert.match(await card.innerText(), new RegExp(`${bob.nickname}[\\s\\S]*@${bob.username}[\\s\\S]*Online since`))
    await shot(a.page, 'person-card')
    await card.getByRole('button', { name: 'Send a private message' }).click()
    await card.waitFor({ state: 'detached' })
    await a.page.locator('.pane-main .conversation-header-title', { hasText: bob.nickname }).waitFor()
    const dmId = await a.page.locator('.conversation-item.active').getAttribute('data-conversation-id')
    assert.match(dmId, /^dm-/)

    await send(a.page, 'A secret for Bob only')
    await bubble(a.page, 'A secret for Bob only').and(a.page.locator('[data-status="sent"]')).waitFor()

    // Bob: the conversation appears with an unread badge; opening it shows the message.
    const item = b.page.locator(`.conversation-item[data-conversation-id="${dmId}"]`)
    await item.locator('.unread-badge', { hasText: '1' }).waitFor({ timeout: 3000 })
    assert.match(await item.innerText(), /A secret for Bob only/)
    await shot(b.page, 'bob-dm-unread-zh')
    await item.click()
    await bubble(b.page, 'A secret for Bob only').waitFor()
    await item.locator('.unread-badge').waitFor({ state: 'detached' })
    await send(b.page, 'Got it, Alice')
    await bubble(a.page, 'Got it, Alice').waitFor({ timeout: 3000 })
    await shot(a.page, 'dm-alice')

    // Carol: not in her list, nothing in her page, and the server refuses her.
    await c.page.waitForTimeout(500)
    assert.equal(await c.page.locator(`.conversation-item[data-conversation-id="${dmId}"]`).count(), 0)
    assert.deepEqual(
      await c.page.locator('.conversation-item').evaluateAll((els) => els.map((e) => e.dataset.conversationId)),
      ['lobby'],
    )
    const html = await c.page.content()
    assert.ok(!html.includes('A secret for Bob only') && !html.includes('Got it, Alice'), 'the DM never reached Carol')
    const refused = await c.context.request.get(`/api/conversations/${dmId}/messages`)
    assert.equal(refused.status(), 404)
    await shot(c.page, 'carol-no-dm')
    assertNoProblems(a, b, c)
  })

  test('someone who leaves goes offline for the others within seconds', async () => {
    const a = people[alice.username]
    const c = people[carol.username]
    await a.page.locator(`.people-online [data-user="${carol.username}"]`).waitFor()
    const left = Date.now()
    await c.context.close()
    delete people[carol.username]
    await a.page.locator(`.people-online [data-user="${carol.username}"]`).waitFor({ state: 'detached', timeout: 10_000 })
    await peopleHeader(a.page).filter({ hasText: '2 online' }).waitFor()
    assert.ok(Date.now() - left < 10_000)
    // Carol is still in the directory, under everyone else.
    await a.page.locator(`.people-offline [data-user="${carol.username}"]`).waitFor()
    await shot(a.page, 'carol-left')
  })

  test('a reload keeps the history', async () => {
    const a = people[alice.username]
    await a.page.locator('.conversation-item[data-conversation-id="lobby"]').click()
    await bubble(a.page, 'Hello from Alice 👋').waitFor()
    await a.page.reload()
    await a.page.locator('.message-scroll[aria-busy="false"]').waitFor()
    await bubble(a.page, '你好，\nAlice！').waitFor()
    await bubble(a.page, '你好').waitFor()
    assert.deepEqual(await texts(a.page), ['Hello from Alice 👋', '你好，\nAlice！', '你好'])
    assert.equal(await a.page.locator('.conversation-item').count(), 2, 'the lobby and the DM with Bob')
    assertNoProblems(a)
  })

  test('offline: a banner, pending messages, and every missed message exactly once on return', async () => {
    const a = people[alice.username]
    const b = people[bob.username]
    await b.page.locator('.conversation-item[data-conversation-id="lobby"]').click()
    await bubble(b.page, 'Hello from Alice 👋').waitFor()

    await a.context.setOffline(true)
    const banner = a.page.locator('.connection-banner.lost')
    await banner.waitFor({ timeout: 5000 })
    await send(a.page, 'Written while offline')
    await bubble(a.page, 'Written while offline').and(a.page.locator('[data-status="pending"]')).waitFor()
    await shot(a.page, 'offline-banner-pending')

    for (const n of [1, 2, 3]) {
      await send(b.page, `Missed ${n}`)
      await bubble(b.page, `Missed ${n}`).and(b.page.locator('[data-status="sent"]')).waitFor()
    }
    assert.equal(await bubble(a.page, 'Missed 1').count(), 0, 'Alice is really cut off')

    await a.context.setOffline(false)
    await a.page.locator('.connection-banner.back').waitFor({ timeout: 15_000 })
    await bubble(a.page, 'Written while offline').and(a.page.locator('[data-status="sent"]')).waitFor({ timeout: 5000 })
    await bubble(a.page, 'Missed 3').waitFor()
    await shot(a.page, 'reconnected')
    await bubble(b.page, 'Written while offline').waitFor({ timeout: 3000 })

    const want = ['Hello from Alice 👋', '你好，\nAlice！', '你好', 'Missed 1', 'Missed 2', 'Missed 3']
    const seenByAlice = await texts(a.page)
    assert.deepEqual(
      seenByAlice.filter((t) => t !== 'Written while offline'),
      want,
      'every missed message once, in order',
    )
    assert.equal(seenByAlice.filter((t) => t === 'Written while offline').length, 1)
    // Both ends hold the same history in the same order.
    await a.page.waitForTimeout(500)
    assert.deepEqual(await texts(a.page), await texts(b.page))
    const seqs = await a.page.locator('.message-scroll .message[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)))
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y))
    assert.equal(new Set(seqs).size, seqs.length)
    await a.page.locator('.connection-banner.back').waitFor({ state: 'detached', timeout: 6000 })
    assertNoProblems(a, b)
  })

  test('in the background: the title counts unread messages and a notification pops up', async () => {
    const a = people[alice.username]
    const b = people[bob.username]
    // Notifications are offered by a button, never asked for on load.
    const prompt = a.page.locator('.notify-prompt')
    await prompt.waitFor()
    await prompt.getByRole('button', { name: 'Turn on' }).click()
    await prompt.waitFor({ state: 'detached' })

    await setHidden(a.page, true)
    await send(b.page, 'Are you there?')
    await send(b.page, 'Hello?')
    await a.page.waitForFunction(() => document.title === '(2) WebChatRoom', null, { timeout: 3000 })
    const notes = await a.page.evaluate(() => window.__notifications)
    assert.deepEqual(
      notes.map((n) => n.body),
      ['Are you there?', 'Hello?'],
    )
    assert.equal(notes[0].title, `${bob.nickname} in the Lobby`)
    await setHidden(a.page, false)
    await a.page.waitForFunction(() => document.title === 'WebChatRoom')
    await a.page.locator('.unread-marker').waitFor()
    await shot(a.page, 'back-from-background')
    assertNoProblems(a)
  })

  test('on a phone the panes are tabs', async () => {
    const a = people[alice.username]
    const p = await enter(bob, { locale: 'zh-CN', viewport: PHONE, mobile: true, as: 'bob_phone' })
    assert.ok(await p.page.locator('.pane-tabs').isVisible())
    assert.ok(await p.page.locator('.pane-main').isVisible())
    assert.ok(!(await p.page.locator('.pane-conversations').isVisible()))
    await bubble(p.page, 'Hello?').waitFor()
    await shot(p.page, 'phone-lobby')

    // A private message: the Conversations tab gets a badge.
    await a.page.locator(`.conversation-item:not([data-conversation-id="lobby"])`).click()
    await send(a.page, 'Ping on your phone')
    const tab = p.page.locator('.pane-tab', { hasText: '会话' })
    await tab.locator('.pane-tab-badge').waitFor({ timeout: 3000 })
    await shot(p.page, 'phone-badge')
    await tab.click()
    assert.ok(await p.page.locator('.pane-conversations').isVisible())
    await shot(p.page, 'phone-conversations')
    await p.page.locator('.conversation-item:not([data-conversation-id="lobby"])').click()
    assert.ok(await p.page.locator('.pane-main').isVisible(), 'opening a conversation shows the messages')
    await bubble(p.page, 'Ping on your phone').waitFor()
    await tab.locator('.pane-tab-badge').waitFor({ state: 'detached' })
    await shot(p.page, 'phone-dm')

    await p.page.locator('.pane-tab', { hasText: '成员' }).click()
    await peopleHeader(p.page).filter({ hasText: '2 人在线' }).waitFor()
    await shot(p.page, 'phone-people')
    await p.page.locator(`.people-online [data-user="${alice.username}"]`).click()
    await p.page.locator('.modal.person-card').waitFor()
    await shot(p.page, 'phone-person-card')
    assertNoProblems(p)
  })

  test('too fast: a refused message says why and Retry sends it once', async () => {
    const a = people[alice.username]
    const b = people[bob.username]
    await a.page.locator('.conversation-item[data-conversation-id="lobby"]').click()
    await b.page.locator('.conversation-item[data-conversation-id="lobby"]').click()
    // 20 messages per 10 s are allowed; the 21st is refused.
    for (let i = 1; i <= 21; i++) await send(a.page, `Burst ${i}`)
    const failed = a.page.locator('.message.own[data-status="failed"]')
    await failed.first().waitFor({ timeout: 5000 })
    assert.match(await failed.first().innerText(), /Not sent · Slow down a little and try again\./)
    await shot(a.page, 'rate-limited')
    const refused = await failed.locator('.message-text').allInnerTexts()
    assert.ok(refused.length >= 1)
    await a.page.waitForTimeout(10_500)
    for (const t of refused) {
      await bubble(a.page, t).locator('.message-retry').click()
      await bubble(a.page, t).and(a.page.locator('[data-status="sent"]')).waitFor({ timeout: 5000 })
    }
    await bubble(b.page, 'Burst 21').waitFor({ timeout: 5000 })
    const seen = (await texts(b.page)).filter((t) => t.startsWith('Burst '))
    assert.equal(seen.length, 21, 'every burst message once')
    assert.equal(new Set(seen).size, 21)
    assertNoProblems(a, b)
  })

  test('a second tab shows the same messages; logging out there ends the first tab too', async () => {
    const a = people[alice.username]
    const tab2 = await a.context.newPage()
    const problems2 = []
    tab2.on('pageerror', (err) => problems2.push(err.message))
    await tab2.goto('/')
    await tab2.locator('.message-scroll[aria-busy="false"]').waitFor()
    await tab2.locator('.conversation-item[data-conversation-id="lobby"]').click()
    await a.page.locator('.conversation-item[data-conversation-id="lobby"]').click()
    await send(a.page, 'Seen on both tabs')
    const mirrored = bubble(tab2, 'Seen on both tabs')
    await mirrored.waitFor({ timeout: 3000 })
    assert.match(await mirrored.getAttribute('class'), /\bown\b/)
    assert.equal(await mirrored.count(), 1)
    assert.equal(await bubble(a.page, 'Seen on both tabs').count(), 1)

    await tab2.locator('.user-chip').click()
    await tab2.locator('.logout-item').click()
    await tab2.locator('.nav-login').waitFor()
    // The first tab's socket is closed with 4001: logged out, told why, no reconnecting.
    await a.page.locator('.session-ended').waitFor({ timeout: 5000 })
    await a.page.locator('.nav-login').waitFor()
    assert.equal(await a.page.locator('.connection-banner').count(), 0)
    await shot(a.page, 'session-ended')
    assert.deepEqual(problems2, [])
    assertNoProblems(a)
  })
})

describe('a long history', () => {
  const dave = { username: 'dave_chat', nickname: 'Dave', password: 'deep-water-dive-3' }
  const erin = { username: 'erin_chat', nickname: 'Erin', password: 'early-bird-song-5' }
  const TOTAL = 130
  let busy

  before(async () => {
    // A server that lets one person send fast, to write a long history quickly.
    busy = await startServer({ args: ['--chat-rate-count', '1000'] })
    for (const u of [dave, erin]) await register(u, busy)
  })
  after(async () => {
    for (const k of ['dave', 'erin']) await people[k]?.context.close().catch(() => undefined)
    await busy?.stop()
  })

  test('scrolling up loads older pages in place; a pill announces new messages below', async () => {
    const d = await enter(dave, { on: busy, as: 'dave' })
    // A second tab of Dave's writes the history over its own WebSocket.
    await d.page.evaluate(async (n) => {
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
      let acks = 0
      await new Promise((resolve, reject) => {
        ws.onerror = reject
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data)
          if (f.type === 'ready') {
            for (let i = 1; i <= n; i++) {
              ws.send(JSON.stringify({ type: 'send', client_id: crypto.randomUUID(), conversation_id: 'lobby', kind: 'text', text: `History ${i}` }))
            }
          } else if (f.type === 'ack' && ++acks === n) resolve()
          else if (f.type === 'error') reject(new Error(f.code))
        }
      })
      ws.close()
    }, TOTAL)
    await bubble(d.page, `History ${TOTAL}`).waitFor()
    await d.page.reload()
    await d.page.locator('.message-scroll[aria-busy="false"]').waitFor()
    await bubble(d.page, `History ${TOTAL}`).waitFor()
    assert.equal(await d.page.locator('.message-scroll .message').count(), 50, 'the newest page first')
    const scroller = d.page.locator('.message-scroll')
    const atBottom = await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 5)
    assert.ok(atBottom, 'opened at the newest message')

    // Scroll to the top: the next page loads above and what was on screen stays put.
    const anchor = bubble(d.page, 'History 81')
    await scroller.evaluate((el) => (el.scrollTop = 0))
    const y0 = (await anchor.boundingBox()).y
    await bubble(d.page, 'History 31').waitFor({ state: 'attached' })
    await d.page.waitForTimeout(100)
    const y1 = (await anchor.boundingBox()).y
    assert.ok(Math.abs(y1 - y0) < 40, `the message in view stayed in place (moved ${y1 - y0}px)`)
    await shot(d.page, 'history-older-loaded')
    for (let i = 0; i < 5 && !(await d.page.locator('.history-edge', { hasText: 'beginning' }).count()); i++) {
      await scroller.evaluate((el) => (el.scrollTop = 0))
      await d.page.waitForTimeout(300)
    }
    await d.page.locator('.history-edge', { hasText: 'This is the beginning of the conversation.' }).waitFor()
    const seqs = await d.page.locator('.message-scroll .message[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)))
    assert.deepEqual(seqs, Array.from({ length: TOTAL }, (_, i) => i + 1))
    await shot(d.page, 'history-beginning')

    // Erin, new here, sees the whole lobby as unread: the marker sits at the first unread one.
    const e = await enter(erin, { on: busy, as: 'erin' })
    const marker = e.page.locator('.unread-marker')
    await marker.waitFor()
    const [box, pane] = [await marker.boundingBox(), await e.page.locator('.message-scroll').boundingBox()]
    assert.ok(box.y >= pane.y && box.y + box.height <= pane.y + pane.height, 'opened at the marker, not at the bottom')
    await shot(e.page, 'erin-unread-marker')

    // Dave reads far up; Erin writes: no jump, a pill instead, and the pill goes to it.
    await send(e.page, 'Fresh one')
    const pill = d.page.locator('.new-messages-pill')
    await pill.waitFor({ timeout: 3000 })
    assert.ok(
      await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight > 1000),
      'still reading far up: no jump to the bottom',
    )
    await shot(d.page, 'new-messages-pill')
    await pill.click()
    await pill.waitFor({ state: 'detached' })
    assert.ok(await bubble(d.page, 'Fresh one').isVisible())
    assertNoProblems(d, e)
  })
})
