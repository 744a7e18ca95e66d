// Starts the real chatroom binary for the browser tests: `chatroom all` on a free
// loopback port with a fresh data folder, ready once GET /readyz answers 200.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const repoDir = path.resolve(webDir, '..')

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts the server (with extra flags, if any); resolves to { url, dataDir, stop, output }.
 * With CHATROOM_E2E_LAUNCHER set (the local cluster test, `make cluster-test`), the site is a
 * fresh cluster from that launcher instead: every service in its own processes behind nginx.
 */
export async function startServer({ args = [] } = {}) {
  if (process.env.CHATROOM_E2E_LAUNCHER) return launchSite(process.env.CHATROOM_E2E_LAUNCHER, args)
  const bin = path.resolve(webDir, process.env.CHATROOM_BIN ?? '../bin/chatroom')
  if (!existsSync(bin)) throw new Error(`no server binary at ${bin}: run "make build" or set CHATROOM_BIN`)

  const port = await freePort()
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chatroom-e2e-'))
  const url = `http://127.0.0.1:${port}`
  const child = spawn(bin, ['all', '--addr', `127.0.0.1:${port}`, '--data', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  let exited = null
  child.on('exit', (code, signal) => (exited = { code, signal }))

  async function stop() {
    if (!exited) {
      child.kill('SIGTERM')
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          resolve()
        }, 10_000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    rmSync(dataDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}):\n${output}`)
    try {
      const res = await fetch(`${url}/readyz`)
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`server not ready within 30 s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }

  const index = await (await fetch(url)).text()
  if (!index.includes('id="app"')) {
    await stop()
    throw new Error('the server binary has no web UI built in: run "make build" (npm run build before go build)')
  }
  return { url, dataDir, stop, output: () => output }
}

/** Asks the cluster test's launcher for a fresh site started with these flags. */
async function launchSite(launcher, args) {
  const res = await fetch(`${launcher}/sites`, { method: 'POST', body: JSON.stringify({ args }) })
  if (res.status !== 200) throw new Error(`launcher: ${res.status} ${await res.text()}`)
  const { url } = await res.json()
  async function stop() {
    await fetch(`${launcher}/sites?url=${encodeURIComponent(url)}`, { method: 'DELETE' })
  }
  return { url, dataDir: null, stop, output: () => `a local cluster at ${url}: its logs are in the Go test's output` }
}
