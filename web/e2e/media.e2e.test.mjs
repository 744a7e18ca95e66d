// Browser end-to-end test of pictures and voice messages: the real server binary, Debian's
// Chromium with its fake microphone, three people in separate browser contexts.
// Run with `npm run e2e`.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startServer } from './server.mjs'
import { FAKE_MEDIA_ARGS, PHONE, launch, shots, shotsDir } from './browser.mjs'
import { assertNoProblems, enter as enterOn, register } from './people.mjs'

const shot = shots('media')

const alice = { username: 'alice_media', nickname: 'Alice Liddell', password: 'rabbit-hole-42', avatar: true }
const bob = { username: 'bob_media', nickname: '鲍勃', password: 'builder-can-fix-9' }
const carol = { username: 'carol_media', nickname: 'Carol', password: 'christmas-carol-7' }

let server
let browser
/** Everyone logged in, by name: { context, page, problems }. */
const people = {}
/** The private conversation of Alice and Bob. */
let dmId

before(async () => {
  for (const f of existsSync(shotsDir) ? readdirSync(shotsDir, { withFileTypes: true }) : []) {
    if (f.isFile() && /^media-\d+-.*\.png$/.test(f.name)) rmSync(path.join(shotsDir, f.name))
  }
  server = await startServer()
  browser = await launch({ args: FAKE_MEDIA_ARGS })
  for (const u of [alice, bob, carol]) await register(server, u)
})

after(async () => {
  for (const p of Object.values(people)) await p.context.close().catch(() => undefined)
  await browser?.close()
  await server?.stop()
})

// Draws a picture in the page (a landscape with a sun and a caption), so the test has
// real JPEG/PNG bytes of any size and shape to send: window.__makePicture(opts) → Blob.
const installPictureMaker = () => {
  window.__makePicture = async ({ width, height, hue = 210, label = '', type = 'image/jpeg', noise = 0 }) => {
    const c = new OffscreenCanvas(width, height)
    const g = c.getContext('2d')
    const sky = g.createLinearGradient(0, 0, 0, height)
    sky.addColorStop(0, `hsl(${hue} 75% 72%)`)
    sky.addColorStop(1, `hsl(${(hue + 30) % 360} 65% 45%)`)
    g.fillStyle = sky
    g.fillRect(0, 0, width, height)
    g.fillStyle = 'rgba(255, 244, 214, 0.95)'
    g.beginPath()
    g.arc(width * 0.72, height * 0.3, Math.min(width, height) * 0.12, 0, Math.PI * 2)
    g.fill()
    g.fillStyle = `hsl(${(hue + 140) % 360} 35% 28%)`
    g.beginPath()
    g.moveTo(0, height)
    for (let x = 0; x <= width; x += 8) g.lineTo(x, height * 0.72 + Math.sin(x / (width / 5)) * height * 0.08)
    g.lineTo(width, height)
    g.fill()
    g.fillStyle = '#fff'
    g.font = `600 ${Math.round(Math.min(width, height) / 9)}px sans-serif`
    g.textAlign = 'center'
    g.fillText(label, width / 2, height * 0.56)
    if (noise > 0) {
      // Grain, so the file is big enough for the upload to take a moment.
      const img = g.getImageData(0, 0, width, height)
      for (let i = 0; i < img.data.length; i += 4) {
        const n = (Math.random() - 0.5) * noise
        img.data[i] += n
        img.data[i + 1] += n
        img.data[i + 2] += n
      }
      g.putImageData(img, 0, 0)
    }
    return c.convertToBlob({ type, quality: 0.9 })
  }
}

// Lets the test move the page's clock ahead: performance.now() + window.__clockSkip.
const installClockSkip = () => {
  window.__clockSkip = 0
  const now = performance.now.bind(performance)
  performance.now = () => now() + window.__clockSkip
}

/** A picture as a file for the file chooser: { name, mimeType, buffer }. */
async function pictureFile(page, name, opts) {
  const base64 = await page.evaluate(async (o) => {
    const blob = await window.__makePicture(o)
    const bytes = new Uint8Array(await blob.arrayBuffer())
    let bin = ''
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
    return btoa(bin)
  }, opts)
  return { name, mimeType: opts.type ?? 'image/jpeg', buffer: Buffer.from(base64, 'base64') }
}

async function enter(u, { as = u.username, ...opts } = {}) {
  const p = await enterOn(browser, server, u, { init: installPictureMaker, ...opts })
  people[as] = p
  return p
}

/** Our own messages in the open conversation that the server has stored. */
const sentOwn = (page) => page.locator('.message-scroll .message.own[data-status="sent"]')

/** The size of an element on screen. */
async function size(locator) {
  const b = await locator.boundingBox()
  return { width: Math.round(b.width), height: Math.round(b.height) }
}

/** Waits until every thumbnail in the open conversation has really loaded. */
async function thumbnailsLoaded(page, n) {
  await page.waitForFunction(
    (count) => {
      const imgs = [...document.querySelectorAll('.message-scroll img.message-image')]
      return imgs.length === count && imgs.every((i) => i.complete && i.naturalWidth > 0)
    },
    n,
    { timeout: 10_000 },
  )
}

describe('pictures and voice messages', () => {
  test('Alice sends a picture by the file chooser, with a preview and upload progress, and one by paste', async () => {
    const a = await enter(alice)
    const b = await enter(bob, { locale: 'zh-CN' })

    // A private conversation with Bob, from his person card.
    await a.page.locator(`.people-online [data-user="${bob.username}"]`).click()
    await a.page.locator('.modal.person-card').getByRole('button', { name: 'Send a private message' }).click()
    await a.page.locator('.modal.person-card').waitFor({ state: 'detached' })
    dmId = await a.page.locator('.conversation-item.active').getAttribute('data-conversation-id')
    assert.ok(dmId && dmId !== 'lobby')

    // The picture button opens the file chooser; the picture waits, previewed, for Send.
    const landscape = await pictureFile(a.page, 'harbour.jpg', { width: 1600, height: 1000, hue: 205, label: 'Harbour 1600×1000', noise: 60 })
    const chooser = a.page.waitForEvent('filechooser')
    await a.page.getByRole('button', { name: 'Send a picture' }).click()
    await (await chooser).setFiles(landscape)
    const preview = a.page.locator('.composer-attachments')
    await preview.locator('.composer-attachment img').waitFor()
    assert.match(await preview.innerText(), /One picture ready to send/)
    await shot(a.page, 'preview-before-send')

    // A slow uplink, so the progress bar has something to show.
    const cdp = await a.context.newCDPSession(a.page)
    await cdp.send('Network.enable')
    const bytesPerSecond = Math.max(20_000, Math.round(landscape.buffer.length / 3))
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: bytesPerSecond,
    })
    await preview.getByRole('button', { name: 'Send', exact: true }).click()
    await preview.waitFor({ state: 'detached' })
    const bar = a.page.locator('.message.own [role="progressbar"]')
    await a.page.waitForFunction(
      () => {
        const v = Number(document.querySelector('.message.own [role="progressbar"]')?.getAttribute('aria-valuenow'))
        return v > 0 && v < 100
      },
      null,
      { timeout: 10_000 },
    )
    await shot(a.page, 'upload-progress')
    await bar.waitFor({ state: 'detached', timeout: 20_000 })
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
    await cdp.detach()
    await sentOwn(a.page).locator('.message-image-box').first().waitFor()

    // A second picture from the clipboard (a portrait PNG), sent with Enter.
    await a.page.locator('.composer-input').focus()
    await a.page.evaluate(async () => {
      const blob = await window.__makePicture({ width: 900, height: 1200, hue: 25, label: 'Pasted 900×1200', type: 'image/png' })
      const data = new DataTransfer()
      data.items.add(new File([blob], 'pasted.png', { type: 'image/png' }))
      const ev = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
      document.querySelector('.composer-input').dispatchEvent(ev)
    })
    await preview.locator('.composer-attachment img').waitFor()
    await a.page.locator('.composer-input').press('Enter')
    await sentOwn(a.page).locator('.message-image-box').nth(1).waitFor({ timeout: 10_000 })

    // Thumbnails at the pictures' own shape: 1600×1000 → 280×175, 900×1200 → 240×320.
    const boxes = a.page.locator('.message-scroll .message-image-box')
    assert.deepEqual(await size(boxes.nth(0)), { width: 280, height: 175 })
    assert.deepEqual(await size(boxes.nth(1)), { width: 240, height: 320 })
    await thumbnailsLoaded(a.page, 2)
    await shot(a.page, 'alice-two-pictures')

    // Bob sees both thumbnails, sized before they load.
    const item = b.page.locator(`.conversation-item[data-conversation-id="${dmId}"]`)
    await item.waitFor({ timeout: 5000 })
    assert.match(await item.innerText(), /\[图片\]/)
    await item.click()
    await b.page.locator('.message.other .message-image-box').nth(1).waitFor()
    assert.deepEqual(await size(b.page.locator('.message.other .message-image-box').nth(0)), { width: 280, height: 175 })
    assert.deepEqual(await size(b.page.locator('.message.other .message-image-box').nth(1)), { width: 240, height: 320 })
    await thumbnailsLoaded(b.page, 2)
    await shot(b.page, 'bob-thumbnails-zh')
    assertNoProblems(a, b)
  })

  test('Bob opens the viewer: the full picture loads; arrows move, Esc closes', async () => {
    const b = people[bob.username]
    const first = b.page.locator('.message.other .message-image-open').first()
    await first.click()
    const viewer = b.page.locator('.image-viewer[role="dialog"]')
    await viewer.waitFor()
    const full = viewer.locator('img.image-viewer-img.loaded')
    await full.waitFor({ timeout: 10_000 })
    const natural = await full.evaluate((img) => ({ w: img.naturalWidth, h: img.naturalHeight, alt: img.alt, src: img.getAttribute('src') }))
    assert.deepEqual([natural.w, natural.h], [1600, 1000], 'the full-size picture, not the thumbnail')
    assert.match(natural.alt, /^Alice Liddell 发送的图片，/)
    assert.doesNotMatch(natural.src, /thumbnail/)
    assert.match(await viewer.innerText(), /1 \/ 2/)
    assert.equal(await b.page.evaluate(() => document.activeElement?.classList.contains('image-viewer-close')), true)
    await shot(b.page, 'viewer-zh')

    await b.page.keyboard.press('ArrowRight')
    await b.page.waitForFunction(() => document.querySelector('img.image-viewer-img.loaded')?.naturalWidth === 900)
    assert.match(await viewer.innerText(), /2 \/ 2/)
    await shot(b.page, 'viewer-next')
    await b.page.keyboard.press('ArrowLeft')
    await b.page.waitForFunction(() => document.querySelector('img.image-viewer-img.loaded')?.naturalWidth === 1600)

    // Tab stays inside the viewer.
    for (let i = 0; i < 6; i++) await b.page.keyboard.press('Tab')
    assert.equal(await b.page.evaluate(() => !!document.activeElement?.closest('.image-viewer')), true)

    await b.page.keyboard.press('Escape')
    await viewer.waitFor({ state: 'detached' })
    assert.equal(await b.page.evaluate(() => document.activeElement?.classList.contains('message-image-open')), true, 'focus back on the thumbnail')
    assertNoProblems(b)
  })

  test('a picture dropped on the conversation goes to the lobby; a wrong file is refused with a reason', async () => {
    const a = people[alice.username]
    await a.page.locator('.conversation-item[data-conversation-id="lobby"]').click()
    await a.page.locator('.message-scroll[aria-busy="false"]').waitFor()

    const data = await a.page.evaluateHandle(async () => {
      const d = new DataTransfer()
      const blob = await window.__makePicture({ width: 1200, height: 1200, hue: 150, label: 'Dropped 1:1' })
      d.items.add(new File([blob], 'square.jpg', { type: 'image/jpeg' }))
      return d
    })
    const area = a.page.locator('.conversation-area')
    await area.dispatchEvent('dragenter', { dataTransfer: data })
    await area.dispatchEvent('dragover', { dataTransfer: data })
    await a.page.locator('.drop-overlay').waitFor()
    await shot(a.page, 'drop-overlay')
    await area.dispatchEvent('drop', { dataTransfer: data })
    await a.page.locator('.drop-overlay').waitFor({ state: 'detached' })
    await a.page.locator('.composer-attachments .composer-attachment img').waitFor()
    await a.page.locator('.composer-attachments').getByRole('button', { name: 'Send', exact: true }).click()
    await sentOwn(a.page).locator('.message-image-box').waitFor({ timeout: 10_000 })
    assert.deepEqual(await size(sentOwn(a.page).locator('.message-image-box')), { width: 280, height: 280 })

    // The network goes away during an upload: the picture stays, marked not sent; Retry
    // sends the same file once the network is back, without choosing it again.
    const wide = await pictureFile(a.page, 'panorama.jpg', { width: 2400, height: 800, hue: 260, label: 'Retried 3:1' })
    await a.context.setOffline(true)
    const chooser1 = a.page.waitForEvent('filechooser')
    await a.page.getByRole('button', { name: 'Send a picture' }).click()
    await (await chooser1).setFiles(wide)
    await a.page.locator('.composer-attachments').getByRole('button', { name: 'Send', exact: true }).click()
    const failed = a.page.locator('.message.own[data-status="failed"]')
    await failed.waitFor({ timeout: 10_000 })
    assert.match(await failed.locator('.message-failed').innerText(), /Not sent · Can’t reach the server/)
    assert.equal(await failed.locator('.message-image-box img').count(), 1, 'the picture still shows')
    await shot(a.page, 'upload-failed')
    await a.context.setOffline(false)
    await failed.getByRole('button', { name: 'Retry' }).click()
    await sentOwn(a.page).locator('.message-image-box').nth(1).waitFor({ timeout: 15_000 })
    assert.equal(await a.page.locator('.message.own[data-status="failed"]').count(), 0)
    assert.deepEqual(await size(sentOwn(a.page).locator('.message-image-box').nth(1)), { width: 280, height: 93 })

    // An SVG is refused in the browser, with the reason.
    const chooser = a.page.waitForEvent('filechooser')
    await a.page.getByRole('button', { name: 'Send a picture' }).click()
    await (await chooser).setFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') })
    const notice = a.page.locator('.composer-notice')
    await notice.waitFor()
    assert.equal((await notice.innerText()).trim(), 'logo.svg: Only JPEG, PNG, GIF or WebP pictures can be sent.')
    await shot(a.page, 'refused-svg')
    await notice.getByRole('button', { name: 'Dismiss' }).click()
    await notice.waitFor({ state: 'detached' })
    assertNoProblems(a)
  })

  test('Alice records ~3 s of voice with a timer and level meter; Bob sees ~3 s and plays it', async () => {
    const a = people[alice.username]
    const b = people[bob.username]
    await a.page.locator(`.conversation-item[data-conversation-id="${dmId}"]`).click()
    await a.page.locator('.message-scroll[aria-busy="false"]').waitFor()

    await a.page.getByRole('button', { name: 'Record a voice message' }).click()
    const recorder = a.page.locator('.voice-recorder')
    await recorder.locator('.voice-clock').waitFor({ timeout: 5000 })
    // Chromium's fake microphone beeps: the meter moves.
    await a.page.waitForFunction(() => Number(document.querySelector('.voice-meter')?.getAttribute('aria-valuenow')) > 5, null, {
      timeout: 5000,
    })
    await a.page.waitForFunction(() => document.querySelector('.voice-clock')?.textContent === '0:02')
    assert.ok(!(await a.page.locator('.composer-input').isVisible()), 'the recorder takes the place of the message box')
    await shot(a.page, 'recording')
    await a.page.waitForFunction(() => document.querySelector('.voice-clock')?.textContent === '0:03')
    await recorder.getByRole('button', { name: 'Stop recording' }).click()
    await recorder.locator('.voice-preview').waitFor()
    assert.equal(await recorder.locator('.voice-time').innerText(), '0:03')
    await shot(a.page, 'recorded-preview')
    await recorder.getByRole('button', { name: 'Send voice message' }).click()
    await recorder.waitFor({ state: 'detached' })

    const mine = sentOwn(a.page).locator('.voice')
    await mine.waitFor({ timeout: 10_000 })
    const ms = Number(await mine.getAttribute('data-duration-ms'))
    assert.ok(ms >= 2800 && ms <= 3800, `about 3 s recorded, got ${ms} ms`)
    await shot(a.page, 'voice-sent-en')

    // Bob: the voice message, about 3 s long, with its waveform; one click plays it.
    await b.page.locator(`.conversation-item[data-conversation-id="${dmId}"]`).click()
    const voice = b.page.locator('.message.other .voice')
    await voice.waitFor({ timeout: 5000 })
    assert.equal(await voice.locator('.voice-time').innerText(), '0:03')
    const bms = Number(await voice.getAttribute('data-duration-ms'))
    assert.ok(Math.abs(bms - ms) < 1, 'Bob sees the length Alice recorded')
    const heights = await voice.locator('.voice-bar').evaluateAll((bars) => bars.map((x) => parseFloat(x.style.height)))
    assert.ok(heights.length >= 18 && Math.max(...heights) === 100 && Math.min(...heights) < 100, `a real waveform: ${heights}`)
    assert.equal(await voice.getByRole('button').first().getAttribute('aria-label'), '播放语音消息')
    await shot(b.page, 'bob-voice-zh')

    await voice.locator('.voice-play').click()
    await b.page.waitForFunction(() => document.querySelector('audio.voice-player')?.currentTime > 0.8, null, { timeout: 10_000 })
    assert.match(await voice.getAttribute('class'), /\bplaying\b/)
    assert.ok((await voice.locator('.voice-bar.played').count()) > 0, 'progress shows on the waveform')
    await shot(b.page, 'bob-voice-playing-zh')
    // It plays to the end and is ready to play again.
    await voice.locator('.voice-play[aria-label="播放语音消息"]').waitFor({ timeout: 10_000 })
    assert.doesNotMatch(await voice.getAttribute('class'), /\bplaying\b/)
    assertNoProblems(a, b)
  })

  test('from 50 s a countdown shows; at 60 s recording stops by itself and keeps what was recorded', async () => {
    // A second tab of Alice's whose clock can jump ahead (performance.now drives the recorder's clock).
    const a = await enter(alice, { as: 'alice_clock', init: [installPictureMaker, installClockSkip] })
    await a.page.getByRole('button', { name: 'Record a voice message' }).click()
    await a.page.locator('.voice-clock').waitFor({ timeout: 5000 })
    await a.page.waitForTimeout(1500) // some real sound
    await a.page.evaluate(() => (window.__clockSkip = 48_000))
    const countdown = a.page.locator('.voice-countdown')
    await countdown.waitFor()
    assert.match(await countdown.innerText(), /^\d+ s left$/)
    assert.ok(Number((await countdown.innerText()).split(' ')[0]) <= 10)
    await shot(a.page, 'countdown')
    await a.page.evaluate(() => (window.__clockSkip += 10_000))
    const recorder = a.page.locator('.voice-recorder')
    await recorder.locator('.voice-preview').waitFor({ timeout: 5000 }) // nobody pressed Stop
    assert.equal((await recorder.locator('.voice-capped').innerText()).trim(), 'Reached the 1-minute limit — your recording is kept.')
    await shot(a.page, 'capped-kept')
    await recorder.getByRole('button', { name: 'Send voice message' }).click()
    await sentOwn(a.page).locator('.voice').waitFor({ timeout: 10_000 })
    assertNoProblems(a)
    await a.context.close()
    delete people.alice_clock
  })

  test('Carol gets 404 for the pictures of a private conversation, but sees the lobby’s', async () => {
    const a = people[alice.username]
    const c = await enter(carol)
    const dmThumb = await a.page.locator('.message-scroll img.message-image').first().getAttribute('src')
    assert.match(dmThumb, /^\/api\/media\/[^/]+\/thumbnail$/)
    const dmPicture = dmThumb.replace(/\/thumbnail$/, '')
    const statuses = await c.page.evaluate(
      async (urls) => Promise.all(urls.map(async (u) => (await fetch(u, { credentials: 'same-origin' })).status)),
      [dmPicture, dmThumb],
    )
    assert.deepEqual(statuses, [404, 404])
    assert.equal((await c.context.request.get(dmPicture)).status(), 404)

    await c.page.locator('.message-scroll .message-image-box').first().waitFor()
    const lobbyPicture = await c.page.locator('.message-scroll img.message-image').first().getAttribute('src')
    assert.equal(await c.page.evaluate(async (u) => (await fetch(u)).status, lobbyPicture), 200)
    await thumbnailsLoaded(c.page, 2)
    await shot(c.page, 'carol-lobby')
    assertNoProblems(c)
  })

  test('on a phone the pictures, the viewer and the voice message fit', async () => {
    const p = await enter(bob, { locale: 'zh-CN', viewport: PHONE, mobile: true, as: 'bob_phone' })
    await p.page.locator('.pane-tab', { hasText: '会话' }).click()
    await p.page.locator(`.conversation-item[data-conversation-id="${dmId}"]`).click()
    await p.page.locator('.message.other .voice').waitFor()
    await thumbnailsLoaded(p.page, 2)
    const pane = await p.page.locator('.message-scroll').boundingBox()
    for (const box of await p.page.locator('.message-image-box, .voice').all()) {
      const b = await box.boundingBox()
      assert.ok(b.x >= pane.x && b.x + b.width <= pane.x + pane.width, 'inside the screen')
    }
    await shot(p.page, 'phone-dm-zh')
    await p.page.locator('.message.other .voice').scrollIntoViewIfNeeded()
    await shot(p.page, 'phone-voice-zh')
    await p.page.locator('.message.other .message-image-open').nth(1).click()
    await p.page.locator('img.image-viewer-img.loaded').waitFor()
    await shot(p.page, 'phone-viewer-zh')
    await p.page.locator('.image-viewer').getByRole('button', { name: '关闭' }).click()
    await p.page.locator('.image-viewer').waitFor({ state: 'detached' })
    await p.page.getByRole('button', { name: '录制语音消息' }).click()
    await p.page.locator('.voice-clock').waitFor()
    await shot(p.page, 'phone-recording-zh')
    await p.page.getByRole('button', { name: '取消录音' }).click()
    await p.page.locator('.composer-input').waitFor()
    assertNoProblems(p)
  })
})
