// Debian's Chromium driven by playwright-core, plus numbered screenshots of every step.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { repoDir } from './server.mjs'

export const shotsDir = path.join(repoDir, 'test-artifacts', 'e2e')
export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }

/** Chromium's stand-ins for a microphone and camera, allowed without asking. */
export const FAKE_MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']

/** Starts Chromium; `args` adds flags (e.g. FAKE_MEDIA_ARGS). */
export function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      ...args,
    ],
  })
}

/**
 * A screenshot function with its own numbering: shots('chat') saves
 * test-artifacts/e2e/chat-NN-name.png; without a prefix, NN-name.png.
 */
export function shots(prefix = '') {
  let n = 0
  return async function shot(page, name) {
    mkdirSync(shotsDir, { recursive: true })
    n += 1
    const file = path.join(shotsDir, `${prefix ? `${prefix}-` : ''}${String(n).padStart(2, '0')}-${name}.png`)
    // Let transitions settle so the picture shows what a person sees.
    await page.waitForTimeout(250)
    await page.screenshot({ path: file })
    return file
  }
}

/** Saves test-artifacts/e2e/NN-name.png (the accounts test's pictures). */
export const shot = shots()

/**
 * Opens a page in a fresh context and records what would break it for a person:
 * uncaught exceptions and Content-Security-Policy violations.
 */
export async function openPage(browser, baseURL, { locale, viewport = DESKTOP, mobile = false }) {
  const context = await browser.newContext({
    baseURL,
    locale,
    viewport,
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: 1,
  })
  const page = await context.newPage()
  const problems = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`)
  })
  return { context, page, problems }
}
