// People for the browser tests: accounts made through the API, each logged in in a
// browser context of its own, and what a person reads in the open conversation.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { webDir } from './server.mjs'
import { DESKTOP, openPage } from './browser.mjs'

export const avatarPng = readFileSync(path.join(webDir, 'e2e/fixtures/avatar.png'))

/** Registers `u` ({username, nickname, password, avatar?}) on the server. */
export async function register(server, u) {
  const form = new FormData()
  form.append('username', u.username)
  form.append('nickname', u.nickname)
  form.append('password', u.password)
  if (u.avatar) form.append('avatar', new Blob([avatarPng], { type: 'image/png' }), 'avatar.png')
  const res = await fetch(`${server.url}/api/auth/register`, { method: 'POST', body: form })
  assert.equal(res.status, 201, await res.text())
}

/**
 * Opens the app as `u` in a fresh context, logged in (through the API, which sets the
 * same cookie as the login form: the form itself is the accounts test's job), once the
 * first conversation has loaded. `init`: a script (or several) to run in every page before
 * the app. Resolves to { context, page, problems }.
 */
export async function enter(browser, server, u, { locale = 'en-US', viewport = DESKTOP, mobile = false, init } = {}) {
  const p = await openPage(browser, server.url, { locale, viewport, mobile })
  for (const script of [init].flat().filter(Boolean)) await p.context.addInitScript(script)
  const res = await p.context.request.post('/api/auth/login', {
    data: { username: u.username, password: u.password },
    headers: { Origin: server.url },
  })
  assert.equal(res.status(), 200)
  await p.page.goto('/')
  await p.page.locator('.user-chip').waitFor()
  await p.page.locator('.message-scroll[aria-busy="false"]').waitFor()
  return p
}

/** Texts of the messages shown in the open conversation, top to bottom. */
export function texts(page) {
  return page.locator('.message-scroll .message .message-text').allInnerTexts()
}

/** Types a message into the composer and sends it with Enter. */
export async function send(page, text) {
  const box = page.locator('.composer-input')
  await box.fill(text)
  await box.press('Enter')
}

/** The message whose text is exactly `text` in the open conversation. */
export function bubble(page, text) {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\n/g, '\\s+')
  const exact = new RegExp(`^${escaped}$`)
  return page.locator('.message-scroll .message').filter({ has: page.locator('.message-text', { hasText: exact }) })
}

/** Fails when a page had uncaught errors or CSP violations. */
export function assertNoProblems(...pages) {
  for (const p of pages) assert.deepEqual(p.problems, [], 'the page had errors or CSP violations')
}
