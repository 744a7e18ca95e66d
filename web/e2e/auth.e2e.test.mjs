// Browser end-to-end test of accounts: the real server binary, Debian's Chromium.
// Run with `npm run e2e` (needs bin/chatroom built with the UI, or CHATROOM_BIN).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startServer, webDir } from './server.mjs'
import { DESKTOP, PHONE, launch, openPage, shot } from './browser.mjs'

const avatarPng = path.join(webDir, 'e2e/fixtures/avatar.png')
const alice = { username: 'alice_e2e', nickname: 'Alice Liddell', password: 'rabbit-hole-42' }

let server
let browser
let scratch

before(async () => {
  server = await startServer()
  browser = await launch()
  scratch = mkdtempSync(path.join(tmpdir(), 'chatroom-e2e-files-'))
})

after(async () => {
  await browser?.close()
  await server?.stop()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

/** Resolves when the server answers `path` with `status` (so a message really came from the server). */
function serverAnswer(page, path, status) {
  return page.waitForResponse((r) => new URL(r.url()).pathname === path && r.status() === status)
}

/** The open modal (there is at most one). */
const modal = (page) => page.locator('.modal[role="dialog"]')

async function openRegister(page) {
  await page.locator('.nav-register').click()
  await modal(page).locator('#register-username').waitFor()
}

async function fillRegister(page, { username, nickname, password, avatar }) {
  const m = modal(page)
  await m.locator('#register-username').fill(username)
  await m.locator('#register-nickname').fill(nickname)
  await m.locator('#register-password').fill(password)
  if (avatar) await m.locator('#register-avatar').setInputFiles(avatar)
}

async function login(page, username, password) {
  const m = modal(page)
  await m.locator('#login-username').fill(username)
  await m.locator('#login-password').fill(password)
  await m.getByRole('button', { name: /^(Log in|登录)$/ }).click()
}

async function expectLoggedIn(page, user) {
  const chip = page.locator('.user-chip')
  await chip.waitFor()
  assert.equal((await chip.locator('.user-chip-name').innerText()).trim(), user.nickname)
  // The avatar really came from the server (the small size).
  const img = chip.locator('img.avatar')
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle())
  assert.match(await img.getAttribute('src'), /^\/api\/users\/[^/]+\/avatar\?.*size=64/)
}

function assertNoProblems(problems) {
  assert.deepEqual(problems, [], 'the page had errors or CSP violations')
}

describe('accounts in the browser', () => {
  test('register with an avatar, log in, reload, log out (en, desktop)', async () => {
    const { context, page, problems } = await openPage(browser, server.url, { locale: 'en-US' })
    try {
      await page.goto('/')
      await page.locator('.nav-login').waitFor()
      assert.equal(await page.locator('html').getAttribute('lang'), 'en')
      assert.equal(await page.title(), 'WebChatRoom')
      assert.ok(await page.locator('.welcome-card').isVisible(), 'logged out: welcome card in the middle pane')
      await shot(page, 'logged-out')

      await openRegister(page)
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'register-username')
      await shot(page, 'register-empty')

      await fillRegister(page, { ...alice, avatar: avatarPng })
      await page.waitForFunction(() => {
        const img = document.querySelector('.avatar-preview img')
        return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:')
      })
      await shot(page, 'register-filled')

      const created = serverAnswer(page, '/api/auth/register', 201)
      await modal(page).getByRole('button', { name: 'Create account' }).click()
      await created
      // The register modal hands over to the login modal.
      await modal(page).locator('#login-username').waitFor()
      assert.equal(await modal(page).locator('#login-username').inputValue(), alice.username)
      await page.waitForFunction(() => document.activeElement?.id === 'login-password')
      assert.match(await modal(page).innerText(), /Account created — log in now/)
      assert.equal(await page.locator('#register-username').count(), 0)
      await shot(page, 'login-after-register')

      await modal(page).locator('#login-password').fill(alice.password)
      await modal(page).getByRole('button', { name: 'Log in' }).click()
      await modal(page).waitFor({ state: 'detached' })
      await expectLoggedIn(page, alice)
      assert.equal(await page.locator('.nav-login').count(), 0)
      await shot(page, 'logged-in')

      await page.locator('.user-chip').click()
      assert.match(await page.locator('.user-menu-panel').innerText(), new RegExp(`@${alice.username}`))
      await shot(page, 'user-menu')
      await page.keyboard.press('Escape')
      await page.locator('.user-menu-panel').waitFor({ state: 'detached' })

      await page.reload()
      await expectLoggedIn(page, alice)
      await shot(page, 'after-reload')

      await page.locator('.user-chip').click()
      await page.locator('.logout-item').click()
      await page.locator('.nav-login').waitFor()
      assert.ok(await page.locator('.welcome-card').isVisible())
      await page.reload()
      await page.locator('.nav-login').waitFor()
      assert.equal(await page.locator('.user-chip').count(), 0, 'the session is gone on the server too')
      await shot(page, 'after-logout')
      assertNoProblems(problems)
    } finally {
      await context.close()
    }
  })

  test('errors are shown inside the modals (en)', async () => {
    const { context, page, problems } = await openPage(browser, server.url, { locale: 'en-US' })
    try {
      await page.goto('/')
      await openRegister(page)

      // username_taken: under the username field.
      await fillRegister(page, { ...alice, nickname: 'Another Alice' })
      const taken = serverAnswer(page, '/api/auth/register', 409)
      await modal(page).getByRole('button', { name: 'Create account' }).click()
      await taken
      const usernameFeedback = modal(page).locator('#register-username ~ .invalid-feedback')
      await usernameFeedback.waitFor()
      assert.match(await usernameFeedback.innerText(), /already taken/)
      assert.match(await modal(page).locator('#register-username').getAttribute('class'), /is-invalid/)
      await shot(page, 'register-username-taken')

      // avatar_unsupported: a text file named .png passes the browser's type check but not the server's.
      const fake = path.join(scratch, 'holiday.png')
      writeFileSync(fake, 'this is a text file, not a picture\n'.repeat(20))
      await modal(page).locator('#register-username').fill('bob_e2e')
      await modal(page).locator('#register-avatar').setInputFiles(fake)
      const unsupported = serverAnswer(page, '/api/auth/register', 415)
      await modal(page).getByRole('button', { name: 'Create account' }).click()
      await unsupported
      await modal(page).getByText('Only JPEG, PNG, GIF or WebP pictures can be used.').waitFor()
      await shot(page, 'register-avatar-unsupported')

      // Esc closes the modal.
      await page.keyboard.press('Escape')
      await modal(page).waitFor({ state: 'detached' })

      // The links switch between the two modals.
      await page.locator('.nav-login').click()
      await modal(page).getByRole('button', { name: 'Register' }).click()
      await modal(page).locator('#register-username').waitFor()
      await modal(page).getByRole('button', { name: 'Log in' }).click()
      await modal(page).locator('#login-username').waitFor()
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'login-username')

      // invalid_credentials.
      const refused = serverAnswer(page, '/api/auth/login', 401)
      await login(page, alice.username, 'not-the-password')
      await refused
      await modal(page).getByText('Wrong username or password.').waitFor()
      await shot(page, 'login-wrong-password')

      // The server cannot be reached.
      await page.route('**/api/auth/login', (route) => route.abort('connectionrefused'))
      await modal(page).getByRole('button', { name: 'Log in' }).click()
      await modal(page).getByText('Can’t reach the server.', { exact: false }).waitFor()
      await shot(page, 'login-network-error')
      await page.unroute('**/api/auth/login')
      assertNoProblems(problems)
    } finally {
      await context.close()
    }
  })

  test('the UI speaks Chinese to a zh-CN browser and remembers a switch', async () => {
    const { context, page, problems } = await openPage(browser, server.url, { locale: 'zh-CN' })
    try {
      await page.goto('/')
      await page.locator('.nav-login').waitFor()
      assert.equal((await page.locator('.nav-login').innerText()).trim(), '登录')
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN')
      assert.equal(await page.title(), '网页聊天室')
      await shot(page, 'zh-logged-out')

      await page.locator('.nav-register').click()
      await modal(page).getByText('创建账号', { exact: true }).first().waitFor()
      await shot(page, 'zh-register')
      await page.keyboard.press('Escape')

      await page.locator('.nav-login').click()
      await login(page, alice.username, 'wrong-password-zh')
      await modal(page).getByText('用户名或密码错误。').waitFor()
      await shot(page, 'zh-login-wrong-password')
      await page.keyboard.press('Escape')

      // Switch to English from the navbar; the choice survives a reload.
      await page.locator('.locale-switch > button').click()
      await page.locator('.locale-switch .dropdown-item', { hasText: 'English' }).click()
      await page.locator('.nav-login', { hasText: 'Log in' }).waitFor()
      await page.reload()
      await page.locator('.nav-login', { hasText: 'Log in' }).waitFor()
      assert.equal(await page.locator('html').getAttribute('lang'), 'en')
      assertNoProblems(problems)
    } finally {
      await context.close()
    }
  })

  test('a phone shows one pane at a time with a tab bar', async () => {
    const { context, page, problems } = await openPage(browser, server.url, {
      locale: 'en-US',
      viewport: PHONE,
      mobile: true,
    })
    try {
      await page.goto('/')
      await page.locator('.nav-login').waitFor()
      assert.ok(await page.locator('.pane-tabs').isVisible())
      assert.ok(await page.locator('.welcome-card').isVisible())
      assert.ok(!(await page.locator('.pane-conversations').isVisible()))
      await shot(page, 'phone-logged-out')

      await openRegister(page)
      await shot(page, 'phone-register')
      await page.keyboard.press('Escape')

      await page.locator('.nav-login').click()
      await login(page, alice.username, alice.password)
      await expectLoggedIn(page, alice)
      await shot(page, 'phone-logged-in')

      for (const [tab, pane] of [
        ['Conversations', '.pane-conversations'],
        ['People', '.pane-people'],
      ]) {
        await page.locator('.pane-tab', { hasText: tab }).click()
        assert.ok(await page.locator(pane).isVisible(), `${tab} pane visible`)
        assert.ok(!(await page.locator('.pane-main').isVisible()), 'messages pane hidden')
        await shot(page, `phone-${tab.toLowerCase()}`)
      }

      await page.locator('.user-chip').click()
      await shot(page, 'phone-user-menu')
      assertNoProblems(problems)
    } finally {
      await context.close()
    }
  })

  test('first load: a quiet spinner while /me is pending, a retry banner if it fails', async () => {
    const { context, page, problems } = await openPage(browser, server.url, { locale: 'en-US' })
    try {
      let release
      const held = new Promise((r) => (release = r))
      await page.route('**/api/auth/me', async (route) => {
        await held
        await route.abort('connectionrefused')
      })
      await page.goto('/')
      await page.locator('.chat-view .spinner-border').waitFor()
      assert.equal(await page.locator('.nav-login').count(), 0, 'no logged-out flash while /me is pending')
      assert.equal(await page.locator('.welcome-card').count(), 0)
      await shot(page, 'loading')

      release()
      const banner = page.locator('.chat-view .alert-warning')
      await banner.waitFor()
      assert.match(await banner.innerText(), /Can’t reach the server/)
      await shot(page, 'load-failed')

      await page.unroute('**/api/auth/me')
      await banner.getByRole('button', { name: 'Retry' }).click()
      await banner.waitFor({ state: 'detached' })
      await page.locator('.welcome-card').waitFor()
      assertNoProblems(problems)
    } finally {
      await context.close()
    }
  })

  test('desktop shows all three panes', async () => {
    const { context, page, problems } = await openPage(browser, server.url, { locale: 'en-US', viewport: DESKTOP })
    try {
      await page.goto('/')
      await page.locator('.nav-login').click()
      await login(page, alice.username, alice.password)
      await expectLoggedIn(page, alice)
      for (const pane of ['.pane-conversations', '.pane-main', '.pane-people']) {
        assert.ok(await page.locator(pane).isVisible(), `${pane} visible`)
      }
      assert.ok(!(await page.locator('.pane-tabs').isVisible()), 'no tab bar on a desktop')
      const side = await page.locator('.pane-conversations').boundingBox()
      assert.ok(side && side.width > 240 && side.width < 300, `side pane ~260px wide, got ${side?.width}`)
      assertNoProblems(problems)
    } finally {
      await context.close()
    }
  })
})
