// Browser end-to-end test of the message search: the real server binary, Debian's
// Chromium, three people. Ctrl+K, Chinese and English words with their matches marked,
// filters, a jump into the history around a hit that then loads both ways, a private
// conversation nobody else finds, and the full-screen panel on a phone.
// Run with `npm run e2e` (or `node --test e2e/search.e2e.test.mjs`).
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startServer } from './server.mjs'
import { PHONE, launch, shots, shotsDir } from './browser.mjs'
import { assertNoProblems, bubble, enter as enterOn, register as registerOn } from './people.mjs'

const shot = shots('search')

const alice = { username: 'alice_search', nickname: 'Alice Liddell', password: 'rabbit-hole-42', avatar: true }
const bob = { username: 'bob_search', nickname: '鲍勃', password: 'builder-can-fix-9' }
const carol = { username: 'carol_search', nickname: 'Carol', password: 'christmas-carol-7' }

const TARGET = '我们明天开会讨论会议纪要'
const DM_TEXT = '私聊：会议改到周五，别告诉别人'
const BEFORE = 60
const AFTER = 60

let server
let browser
/** Everyone logged in, by name: { context, page, problems }. */
const people = {}
/** Seq of the target message in the lobby. */
let targetSeq = 0
let lastLobbySeq = 0

before(async () => {
  for (const f of existsSync(shotsDir) ? readdirSync(shotsDir, { withFileTypes: true }) : []) {
    if (f.isFile() && /^search-\d+-.*\.png$/.test(f.name)) rmSync(path.join(shotsDir, f.name))
  }
  // A server that lets one person send fast, to write a long history quickly.
  server = await startServer({ args: ['--chat-rate-count', '1000'] })
  browser = await launch()
  for (const u of [alice, bob, carol]) await registerOn(server, u)
})

after(async () => {
  for (const p of Object.values(people)) await p.context.close().catch(() => undefined)
  await browser?.close()
  await server?.stop()
})

async function enter(u, { as = u.username, ...opts } = {}) {
  const p = await enterOn(browser, server, u, opts)
  people[as] = p
  return p
}

/** Sends texts one after the other (each after the previous ack) over a socket of the page's own; returns their seqs. */
function post(page, conversationId, texts) {
  return page.evaluate(
    async ({ conversationId, texts }) => {
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
      const seqs = []
      await new Promise((resolve, reject) => {
        let i = 0
        const next = () => {
          if (i === texts.length) return resolve()
          ws.send(JSON.stringify({ type: 'send', client_id: crypto.randomUUID(), conversation_id: conversationId, kind: 'text', text: texts[i++] }))
        }
        ws.onerror = () => reject(new Error('socket error'))
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data)
          if (f.type === 'ready') next()
          else if (f.type === 'ack') {
            seqs.push(f.message.seq)
            next()
          } else if (f.type === 'error') reject(new Error(f.code))
        }
      })
      ws.close()
      return seqs
    },
    { conversationId, texts },
  )
}

/** Opens the search with Ctrl+K and types `q` into it. */
async function searchFor(page, q) {
  await page.keyboard.press('Control+k')
  const input = page.locator('.search-panel .search-input')
  await input.waitFor()
  await page.waitForFunction(() => document.activeElement?.classList.contains('search-input'), null, { timeout: 2000 })
  await input.fill(q)
  return input
}

/** The texts of the results shown, top to bottom. */
function resultTexts(page) {
  return page.locator('.search-result .search-result-text').allInnerTexts()
}

/** Seqs of the messages shown in the open conversation, top to bottom. */
function shownSeqs(page) {
  return page.locator('.message-scroll .message[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)))
}

/** True when the element lies entirely inside the message pane's visible part. */
async function inView(page, locator) {
  const [box, pane] = [await locator.boundingBox(), await page.locator('.message-scroll').boundingBox()]
  return Boolean(box && pane && box.y >= pane.y - 1 && box.y + box.height <= pane.y + pane.height + 1)
}

describe('search in the browser', () => {
  test('a history to search: the lobby, English and Chinese, and a private conversation', async () => {
    const a = await enter(alice)
    const b = await enter(bob, { locale: 'zh-CN' })
    await post(a.page, 'lobby', ['Hello everyone, welcome to the lobby'])
    await post(b.page, 'lobby', ['会议室在三楼，左手边'])
    await post(a.page, 'lobby', Array.from({ length: BEFORE }, (_, i) => `Earlier chatter ${i + 1}`))
    ;[targetSeq] = await post(b.page, 'lobby', [TARGET])
    await post(a.page, 'lobby', Array.from({ length: AFTER }, (_, i) => `Later chatter ${i + 1}`))
    await post(a.page, 'lobby', ['Meeting notes: the Kubernetes upgrade is on Friday'])
    ;[lastLobbySeq] = await post(b.page, 'lobby', ['今天的会议取消了'])
    assert.equal(targetSeq, BEFORE + 3)
    assert.equal(lastLobbySeq, BEFORE + AFTER + 5)

    // Alice writes to Bob privately.
    const dmId = await a.page.evaluate(async (username) => {
      const users = await (await fetch(`/api/users?q=${encodeURIComponent(username)}`)).json()
      const res = await fetch('/api/conversations/direct', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: users.users.find((u) => u.username === username).id }),
      })
      return (await res.json()).conversation.id
    }, bob.username)
    await post(a.page, dmId, [DM_TEXT])
    assertNoProblems(a, b)
  })

  test('Ctrl+K, 会议: the hits newest first with the matches marked; Esc gives the focus back', async () => {
    const a = people[alice.username]
    await a.page.reload() // only the newest page of the lobby in memory, as after any fresh start
    await a.page.locator('.message-scroll[aria-busy="false"]').waitFor()
    await a.page.locator('.composer-input').focus()

    await searchFor(a.page, '会议')
    await a.page.locator('.search-result').nth(3).waitFor()
    assert.deepEqual(await resultTexts(a.page), [DM_TEXT, '今天的会议取消了', TARGET, '会议室在三楼，左手边'])
    const marks = await a.page.locator('.search-result mark').allInnerTexts()
    assert.deepEqual(marks, ['会议', '会议', '会议', '会议'])
    // Where each hit is: the private one says who it is with.
    const where = await a.page.locator('.search-result .search-result-where').allInnerTexts()
    assert.deepEqual(where, [bob.nickname, 'Lobby', 'Lobby', 'Lobby'])
    assert.equal(await a.page.locator('.search-count').innerText(), '4 results')
    await shot(a.page, 'results-huiyi')

    // ↓ marks a result for assistive technology too.
    const input = a.page.locator('.search-input')
    await input.press('ArrowDown')
    await input.press('ArrowDown')
    const second = a.page.locator('.search-result').nth(1)
    assert.equal(await second.getAttribute('aria-selected'), 'true')
    assert.equal(await input.getAttribute('aria-activedescendant'), await second.getAttribute('id'))

    // English: any case, a word's beginning finds the word.
    await input.fill('KUBERNETES')
    await a.page.locator('.search-result mark', { hasText: 'Kubernetes' }).waitFor()
    assert.deepEqual(await resultTexts(a.page), ['Meeting notes: the Kubernetes upgrade is on Friday'])
    await input.fill('kube upgrade')
    await a.page.locator('.search-result mark', { hasText: 'upgrade' }).waitFor()
    assert.deepEqual(await a.page.locator('.search-result mark').allInnerTexts(), ['Kube', 'upgrade'])

    await a.page.keyboard.press('Escape')
    await a.page.locator('.search-panel').waitFor({ state: 'detached' })
    assert.ok(await a.page.locator('.composer-input').evaluate((el) => el === document.activeElement), 'the focus is back in the composer')
    assertNoProblems(a)
  })

  test('nothing is searched while a Chinese input method is composing', async () => {
    const a = people[alice.username]
    const asked = []
    const onRequest = (r) => r.url().includes('/api/search') && asked.push(decodeURIComponent(r.url()))
    a.page.on('request', onRequest)
    await a.page.keyboard.press('Control+k')
    const input = a.page.locator('.search-input')
    await input.fill('')
    const cdp = await a.context.newCDPSession(a.page)
    await cdp.send('Input.imeSetComposition', { text: 'hui yi', selectionStart: 6, selectionEnd: 6 })
    await a.page.keyboard.press('Enter') // picks a candidate: must not search or open anything
    await a.page.waitForTimeout(700)
    assert.deepEqual(asked, [], 'no request during the composition')
    await cdp.send('Input.insertText', { text: '会议' })
    await a.page.locator('.search-result').nth(3).waitFor()
    assert.ok(asked.length >= 1 && asked.every((u) => u.includes('q=会议')), asked.join('\n'))
    a.page.off('request', onRequest)
    await cdp.detach()
    await a.page.keyboard.press('Escape')
    await a.page.locator('.search-panel').waitFor({ state: 'detached' })
  })

  test('a hit opens the conversation at that message, highlighted, loading both ways from there', async () => {
    const a = people[alice.username]
    const b = people[bob.username]
    await searchFor(a.page, '会议')
    await a.page.locator('.search-result', { hasText: TARGET }).click()
    await a.page.locator('.search-panel').waitFor({ state: 'detached' })

    const target = bubble(a.page, TARGET)
    await a.page.locator('.message.is-target').waitFor()
    assert.equal(await a.page.locator('.message.is-target .message-text').innerText(), TARGET, 'the hit is highlighted')
    assert.ok(await inView(a.page, target), 'in view')
    const [box, pane] = [await target.boundingBox(), await a.page.locator('.message-scroll').boundingBox()]
    const middle = pane.y + pane.height / 2
    assert.ok(Math.abs(box.y + box.height / 2 - middle) < pane.height / 4, 'about in the middle of the pane')
    assert.equal(Number(await target.getAttribute('data-seq')), targetSeq)
    let seqs = await shownSeqs(a.page)
    assert.ok(seqs[0] < targetSeq - 10 && seqs.at(-1) > targetSeq + 10, `older and newer around it: ${seqs[0]}..${seqs.at(-1)}`)
    assert.ok(seqs.at(-1) < lastLobbySeq, 'not the newest page: a window further up')
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'no holes')
    assert.ok(await a.page.locator('.jump-latest').isVisible(), 'a way back to the newest')
    await shot(a.page, 'jumped-to-hit')
    // The highlight fades.
    await a.page.waitForFunction((seq) => !document.querySelector(`.message[data-seq="${seq}"]`)?.classList.contains('is-target'), targetSeq, {
      timeout: 5000,
    })

    // Bob writes meanwhile: not put after the window (that would be out of order), a pill says so.
    await post(b.page, 'lobby', ['Fresh news after the jump'])
    await a.page.locator('.new-messages-pill').waitFor({ timeout: 3000 })
    assert.equal(await bubble(a.page, 'Fresh news after the jump').count(), 0)
    await shot(a.page, 'new-below-the-window')
    seqs = await shownSeqs(a.page)
    assert.ok(seqs.at(-1) < lastLobbySeq)

    // Scrolling up loads older messages, down to the beginning.
    const scroller = a.page.locator('.message-scroll')
    for (let i = 0; i < 10 && !(await a.page.locator('.history-edge', { hasText: 'beginning' }).count()); i++) {
      await scroller.evaluate((el) => (el.scrollTop = 0))
      await a.page.waitForTimeout(300)
    }
    await a.page.locator('.history-edge', { hasText: 'This is the beginning of the conversation.' }).waitFor()
    assert.equal((await shownSeqs(a.page))[0], 1)

    // Scrolling down loads newer ones, until the newest, and live ones join again.
    for (let i = 0; i < 15 && !(await bubble(a.page, 'Fresh news after the jump').count()); i++) {
      await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight))
      await a.page.waitForTimeout(300)
    }
    await bubble(a.page, '今天的会议取消了').waitFor()
    await bubble(a.page, 'Fresh news after the jump').waitFor()
    seqs = await shownSeqs(a.page)
    assert.deepEqual(seqs, Array.from({ length: lastLobbySeq + 1 }, (_, i) => i + 1), 'the whole history once, in order')
    await a.page.locator('.new-messages-pill').waitFor({ state: 'detached' })
    await post(b.page, 'lobby', ['Live again'])
    await bubble(a.page, 'Live again').waitFor({ timeout: 3000 })
    await shot(a.page, 'back-at-newest')
    assertNoProblems(a, b)
  })

  test('filters: from a person, by date, by type', async () => {
    const a = people[alice.username]
    await searchFor(a.page, '会议')
    await a.page.locator('.search-result').nth(3).waitFor()

    // This conversation (the lobby, open since the jump): the private one goes.
    await a.page.locator('.search-scope-here').click()
    await a.page.waitForFunction(() => document.querySelectorAll('.search-result').length === 3)
    assert.ok((await resultTexts(a.page)).every((t) => t !== DM_TEXT))
    await a.page.locator('.search-scope label').first().click()
    await a.page.waitForFunction(() => document.querySelectorAll('.search-result').length === 4)

    // From Bob: Alice's private message to him goes.
    await a.page.locator('.person-picker-toggle').click()
    const filter = a.page.locator('.person-picker-menu input')
    await filter.fill('鲍')
    await a.page.locator(`.person-picker-option[data-user="${bob.username}"]`).waitFor()
    await shot(a.page, 'person-picker')
    await filter.press('Enter')
    await a.page.locator('.person-picker-toggle', { hasText: bob.nickname }).waitFor()
    await a.page.waitForFunction(() => document.querySelectorAll('.search-result').length === 3)
    assert.deepEqual(await resultTexts(a.page), ['今天的会议取消了', TARGET, '会议室在三楼，左手边'])
    assert.deepEqual(await a.page.locator('.search-result .search-result-name').allInnerTexts(), [bob.nickname, bob.nickname, bob.nickname])
    await shot(a.page, 'filter-person')

    // Days long gone: nothing.
    await a.page.locator('.search-since').fill('2020-01-01')
    await a.page.locator('.search-until').fill('2020-01-31')
    await a.page.locator('.search-empty', { hasText: 'No messages found' }).waitFor()
    assert.equal(await a.page.locator('.search-result').count(), 0)
    await shot(a.page, 'filter-date-empty')
    // From today on: Bob's three again.
    await a.page.locator('.search-until').fill('')
    const today = await a.page.evaluate(() => {
      const d = new Date()
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
    })
    await a.page.locator('.search-since').fill(today)
    await a.page.waitForFunction(() => document.querySelectorAll('.search-result').length === 3)

    // Voice messages only: none here.
    await a.page.locator('.search-filter-kind select').selectOption('voice')
    await a.page.locator('.search-empty').waitFor()

    // Clearing the filters brings every hit back.
    await a.page.locator('.search-clear').click()
    await a.page.waitForFunction(() => document.querySelectorAll('.search-result').length === 4)
    await a.page.keyboard.press('Escape')
    await a.page.locator('.search-panel').waitFor({ state: 'detached' })
    assertNoProblems(a)
  })

  test('a private conversation never shows in a third person’s search', async () => {
    const c = await enter(carol)
    await searchFor(c.page, '会议')
    await c.page.locator('.search-result').nth(2).waitFor()
    await c.page.waitForTimeout(300)
    assert.deepEqual(await resultTexts(c.page), ['今天的会议取消了', TARGET, '会议室在三楼，左手边'])
    await c.page.locator('.search-input').fill('周五')
    await c.page.locator('.search-empty').waitFor()
    assert.ok(!(await c.page.content()).includes(DM_TEXT))
    await shot(c.page, 'carol-no-dm')
    // Nor through the API, with any filter.
    for (const q of ['周五', '私聊', '会议']) {
      const res = await c.context.request.get(`/api/search?q=${encodeURIComponent(q)}&limit=50`)
      assert.equal(res.status(), 200)
      const body = await res.json()
      assert.ok(body.results.every((r) => r.message.text !== DM_TEXT && r.conversation.kind !== 'direct'), q)
    }
    // Bob, in it, does find it.
    const b = people[bob.username]
    await searchFor(b.page, '周五')
    await b.page.locator('.search-result', { hasText: DM_TEXT }).waitFor()
    await shot(b.page, 'bob-finds-dm-zh')
    await b.page.keyboard.press('Escape')
    assertNoProblems(c, b)
  })

  test('on a phone the search fills the screen and a hit opens the messages', async () => {
    const p = await enter(bob, { locale: 'zh-CN', viewport: PHONE, mobile: true, as: 'bob_phone' })
    await p.page.locator('.pane-tab', { hasText: '会话' }).click()
    const button = p.page.locator('.nav-search')
    await button.click()
    const panel = p.page.locator('.search-panel')
    await panel.waitFor()
    await p.page.waitForTimeout(300) // the panel slides in
    const box = await panel.boundingBox()
    assert.deepEqual(
      [box.x, box.y, box.width, box.height].map(Math.round),
      [0, 0, PHONE.width, PHONE.height],
      'the panel covers the screen',
    )
    await shot(p.page, 'phone-open')
    await p.page.locator('.search-input').fill('会议')
    await p.page.locator('.search-result').nth(3).waitFor()
    await shot(p.page, 'phone-results')
    await p.page.locator('.search-filters-toggle').click()
    await p.page.locator('.search-filters').waitFor({ state: 'visible' })
    await shot(p.page, 'phone-filters')
    await p.page.locator('.search-filters-toggle').click()
    await p.page.locator('.search-result', { hasText: TARGET }).click()
    await panel.waitFor({ state: 'detached' })
    assert.ok(await p.page.locator('.pane-main').isVisible(), 'the messages pane is shown')
    const target = bubble(p.page, TARGET)
    await target.waitFor()
    assert.ok(await inView(p.page, target))
    await shot(p.page, 'phone-jumped')
    assertNoProblems(p)
  })
})
