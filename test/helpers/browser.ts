import { existsSync, mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'

/** Debian's `chromium` package (installed by .ci/run); playwright-core downloads no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium'

/** This network is closed: nothing may try to phone home, and there is no GPU nor sandbox in CI containers. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic'
]

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))

/**
 * tap options of a browser test: skipped with a reason when Chromium is not
 * installed, except in CI (CI set), where the launch then fails loudly.
 */
export function browserTestOptions (timeout = 60_000): { timeout: number, skip: string | false } {
  const skip = !existsSync(CHROMIUM) && process.env.CI === undefined
    ? `${CHROMIUM} is missing: install Debian's chromium package (see .ci/run) to run the inspector's browser test`
    : false
  return { timeout, skip }
}

/** A headless Chromium, closed when the test ends. */
export async function launchBrowser (t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
  t.teardown(() => browser.close())
  return browser
}

/** Makes the app listen on a free port of 127.0.0.1; returns its base URL. */
export async function listenLocal (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** Saves a full-page screenshot under test-artifacts/; returns its path. */
export async function screenshot (page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = `${ARTIFACTS}${name}.png`
  await page.screenshot({ path, fullPage: true })
  return path
}
