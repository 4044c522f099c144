import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import { buildApp } from '../../src/app.js'
import { SystemClock } from '../../src/clock.js'
import type { Config } from '../../src/config.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY } from '../helpers/app.js'
import { browserTestOptions, launchBrowser, listenLocal, screenshot } from '../helpers/browser.js'

// A real browser on a loaded 2-core machine: the file gets more than tap's default 30 s.
t.setTimeout(180_000)

const ADMIN = 'admin-secret-token'
const OTHER_KEY = 'second-key-42'
/** Waits are generous (the machine is shared) but bounded, never sleeps. */
const WAIT = { timeout: 15_000 }

/** The app, on real time, listening on 127.0.0.1; closed when the test ends. */
async function liveApp (t: Test, config: Partial<Config>): Promise<{ app: FastifyInstance, base: string }> {
  const app = await buildApp({ logger: false, clock: new SystemClock(), config })
  t.teardown(() => app.close())
  return { app, base: await listenLocal(app) }
}

/** POSTs a bulk request through the real API, as the application under test would. */
async function submit (base: string, rows: Array<Record<string, unknown>>, key = KEY, collection: 'users' | 'companies' = 'users'): Promise<string> {
  const res = await fetch(`${base}/v1/${collection}/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ [collection]: rows })
  })
  if (res.status !== 202) throw new Error(`bulk request answered ${res.status}: ${await res.text()}`)
  return (await res.json() as { job_id: string }).job_id
}

/** The headers real clients send to the real-time endpoints. */
const REALTIME_HEADERS = { authorization: `Token ${KEY}`, 'content-type': 'application/json', 'x-api-version': '2020-09-22' }

/** Sends a real-time call through the real API; asserts the 202 and returns the request id the mock gave it. */
async function realtime (base: string, method: 'POST' | 'DELETE', path: string, body: unknown): Promise<string> {
  const res = await fetch(`${base}${path}`, { method, headers: REALTIME_HEADERS, body: JSON.stringify(body) })
  if (res.status !== 202) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return res.headers.get('x-request-id') as string
}

/** Uploads a history file to `POST /v1/imports` (multipart, field `file`), as a client would; returns the import job's id. */
async function importFile (base: string, filename: string, content: string): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([content], { type: 'text/csv' }), filename)
  const res = await fetch(`${base}/v1/imports`, { method: 'POST', headers: { authorization: `Token ${KEY}` }, body: form })
  if (res.status !== 200) throw new Error(`import answered ${res.status}: ${await res.text()}`)
  return (await res.json() as { job_id: string }).job_id
}

/** Creates an export job through the Export API; returns its id. */
async function createExport (base: string, body: Record<string, unknown>, key = KEY): Promise<string> {
  const res = await fetch(`${base}/api/v1/analytics/exports`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  if (res.status !== 201) throw new Error(`export request answered ${res.status}: ${await res.text()}`)
  return (await res.json() as { job_id: string }).job_id
}

/** A control API read, as the page makes it. */
async function controlGet<T> (base: string, path: string): Promise<T> {
  const res = await fetch(`${base}/__mock/${path}`, { headers: { authorization: `Token ${KEY}` } })
  return await res.json() as T
}

/**
 * Waits until a table has `count` rows. A locator, not `waitForFunction`:
 * the page's CSP forbids eval, with which Playwright polls a string predicate.
 */
async function waitForRows (page: Page, table: string, count: number): Promise<void> {
  const rows = page.locator(`#${table} tbody tr`)
  if (count > 0) await rows.nth(count - 1).waitFor(WAIT)
  await rows.nth(count).waitFor({ state: 'detached', ...WAIT })
}

function jobRow (page: Page, jobId: string, status?: string): ReturnType<Page['locator']> {
  return page.locator(`#jobs tbody tr[data-key="${jobId}"]${status === undefined ? '' : `[data-status="${status}"]`}`)
}

/** An export's row: its key is the key id and the job id, as export ids are only unique per key. */
function exportRow (page: Page, jobId: string, status?: string, key = KEY): ReturnType<Page['locator']> {
  return page.locator(`#exports tbody tr[data-key="${tenantOf(key).envId}/${jobId}"]${status === undefined ? '' : `[data-status="${status}"]`}`)
}

async function connect (page: Page, key: string, admin = ''): Promise<void> {
  await page.getByLabel('API key').fill(key)
  await page.locator('#admin').fill(admin)
  await page.getByRole('button', { name: 'Connect' }).click()
}

t.test('a job submitted through the API shows up live and completes; users are searched; nothing shows the key', browserTestOptions(), async (t) => {
  const { base } = await liveApp(t, { MOCK_STAGE_MS: 50 })
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))

  const response = await page.goto(`${base}/__mock/ui`)
  t.equal(response?.status(), 200, 'the page answers 200')
  t.equal(await page.title(), 'userpilot-mock inspector')
  await t.resolves(page.locator('#key:focus').waitFor(WAIT), 'the key field has the focus first')
  t.equal(await page.locator('#live-text').textContent(), 'Not connected')

  await connect(page, KEY)
  await page.locator('#live[data-state="live"]').waitFor(WAIT)
  t.match(await page.locator('#live-text').textContent(), /^Live · updated \d\d:\d\d:\d\d$/, 'the live indicator')
  const scope = await page.locator('#scope').textContent()
  t.equal(scope, `Key te…-1 (${tenantOf(KEY).envId})`, 'the key is shown masked, with its id')
  t.ok(await page.locator('#jobs-empty').isVisible(), '"No jobs." before any request')

  const jobId = await submit(base, [
    { user_id: 'u1', company_id: 'acme', metadata: { plan: 'free', seats: 3 } },
    { user_id: 'u2', metadata: { plan: 'pro' } },
    { user_id: 'u3', company_id: 'acme', metadata: { plan: 'enterprise', beta: true } }
  ])
  // No reload and no click: the page's polling finds the job, which runs on its own (50 ms a stage).
  await jobRow(page, jobId).waitFor(WAIT)
  await jobRow(page, jobId, 'completed').waitFor(WAIT)
  const row = jobRow(page, jobId)
  t.equal(await row.locator('.badge').first().textContent(), 'completed')
  t.equal(await row.locator('.progress-text').textContent(), '3 / 3 · 100%', 'progress text')
  t.same([await row.locator('progress').getAttribute('value'), await row.locator('progress').getAttribute('max')], ['3', '3'], 'the progress bar is full')
  t.equal(await row.locator('summary').textContent(), '5 changes')
  await row.locator('summary').click()
  t.same(await row.locator('.history li .badge').allTextContents(), ['queued', 'validating', 'processing', 'pending_refresh', 'completed'], 'the status history')
  t.ok(await row.getByRole('button', { name: /^Advance job/ }).isDisabled(), 'a completed job cannot be advanced')
  t.ok(await row.getByRole('button', { name: /^Fail job/ }).isDisabled(), 'nor failed')

  // Users and companies arrive with the job's rows.
  await page.locator('#users tbody tr').nth(2).waitFor(WAIT)
  t.equal(await page.locator('#users-count').textContent(), '(3)')
  t.ok(await page.locator('#companies-empty').isVisible(), 'a company_id alone makes no company')
  const companiesJob = await submit(base, [{ company_id: 'acme', metadata: { name: 'Acme Inc' } }], KEY, 'companies')
  await jobRow(page, companiesJob, 'completed').waitFor(WAIT)
  await page.locator('#companies tbody tr').first().waitFor(WAIT)
  t.same(await page.locator('#companies tbody tr td').allTextContents(), ['acme', '2', 'name "Acme Inc"', await page.locator('#companies tbody tr td').nth(3).textContent()], 'the company, its users and metadata')
  await page.getByLabel('Search companies by id or metadata').fill('zzz')
  await page.locator('#companies-empty').waitFor({ state: 'visible', ...WAIT })
  await page.getByLabel('Search companies by id or metadata').fill('acme inc')
  await page.locator('#companies tbody tr').first().waitFor(WAIT)
  await page.getByLabel('Search users by id, company or metadata').fill('u2')
  await waitForRows(page, 'users', 1)
  t.same(await page.locator('#users tbody tr code').allTextContents(), ['u2'], 'found by id')
  t.equal(await page.locator('#users tbody tr .meta').textContent(), 'plan "pro"', 'with its metadata')
  t.equal(await page.locator('#users-count').textContent(), '(1 of 3)')
  await page.getByLabel('Search users by id, company or metadata').fill('enterprise')
  await page.locator('#users tbody tr[data-key$="/u3"]').waitFor(WAIT)
  await waitForRows(page, 'users', 1)
  t.same(await page.locator('#users tbody tr .meta li').allTextContents(), ['plan "enterprise"', 'beta true'], 'found by a metadata value')
  await page.getByLabel('Search users by id, company or metadata').fill('nobody')
  await page.locator('#users-empty').waitFor({ state: 'visible', ...WAIT })
  await page.getByLabel('Search users by id, company or metadata').fill('')
  await waitForRows(page, 'users', 3)

  // The journal: the request, and its body only on demand.
  const entry = page.locator('#journal tbody tr').last()
  await entry.waitFor(WAIT)
  t.same(await entry.locator('td').evaluateAll((cells) => cells.slice(1, 4).map((cell) => cell.textContent)), ['POST', '/v1/users/bulk_identify', '202'])
  t.match(await entry.locator('td').nth(4).textContent(), /^\d+\.\d ms$/, 'the duration')
  t.notOk(await entry.locator('pre').isVisible(), 'the body is hidden until asked for')
  await entry.getByText(/^Show \(\d+ bytes\)$/).click()
  const shown = await entry.locator('pre').textContent() ?? ''
  t.match(shown, `authorization: Token *** (${tenantOf(KEY).envId})`, 'headers, with the key masked')
  t.match(shown, '"user_id": "u1"', 'the body, pretty-printed')

  // The key never reaches the document (the password field holds it as a property, not as markup).
  t.notMatch(await page.content(), KEY, 'the key is not in the page')
  t.notMatch(await page.locator('body').innerText(), KEY, 'nor in its text')
  t.equal(await page.evaluate('sessionStorage.getItem("userpilot-mock.key")'), KEY, 'kept for the session')

  await screenshot(page, 'inspector-1280x800')
  await page.setViewportSize({ width: 420, height: 900 })
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= 420'), 'no horizontal scrolling at 420 px')
  await screenshot(page, 'inspector-420')
  t.same(pageErrors, [], 'no script errors')
})

t.test('admin token, fail / advance / flush / reset buttons, all keys, and the session', browserTestOptions(), async (t) => {
  // Manual clock: jobs move only when the page's buttons say so.
  const { base } = await liveApp(t, { MOCK_CLOCK: 'manual', MOCK_ADMIN_TOKEN: ADMIN })
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(`${base}/__mock/ui`)

  // Keyboard only: key, Tab to the token field, Tab to "All keys", Tab to Connect.
  await page.locator('#key:focus').waitFor(WAIT)
  await page.keyboard.type(KEY)
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate('document.activeElement.id'), 'admin')
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate('document.activeElement.id'), 'all')
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate('document.activeElement.id'), 'connect')
  await page.keyboard.press('Enter')

  // Without the admin token: a clear message, and the token field asks for it.
  await page.locator('#live[data-state="error"]').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(),
    'This mock protects its control API: send the header "X-Mock-Admin: <MOCK_ADMIN_TOKEN>". Enter the admin token again and press Connect.')
  t.equal(await page.evaluate('document.activeElement.id'), 'admin', 'the token field has the focus')
  t.ok(await page.getByRole('button', { name: 'Flush jobs' }).isDisabled(), 'actions wait for access')
  await page.keyboard.type('wrong')
  await page.keyboard.press('Enter')
  await page.getByRole('alert').filter({ hasText: 'X-Mock-Admin' }).waitFor(WAIT)
  await connect(page, KEY, ADMIN)
  await page.locator('#live[data-state="live"]').waitFor(WAIT)
  t.ok(await page.getByRole('alert').isHidden(), 'the message is gone')

  const first = await submit(base, [{ user_id: 'a1' }, { user_id: 'a2' }])
  await jobRow(page, first, 'queued').waitFor(WAIT)
  t.equal(await jobRow(page, first).locator('.progress-text').textContent(), '0 / 2 · 0%')
  await page.getByRole('button', { name: 'Flush jobs' }).click()
  await jobRow(page, first, 'completed').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), 'Flushed 1 job.')
  t.equal(await jobRow(page, first).locator('.progress-text').textContent(), '2 / 2 · 100%')

  const second = await submit(base, [{ user_id: 'b1' }])
  const label = second.split(':').at(-1) as string
  await jobRow(page, second, 'queued').waitFor(WAIT)
  await page.getByRole('button', { name: `Advance job ${label}` }).click()
  await jobRow(page, second, 'validating').waitFor(WAIT)
  const failButton = page.getByRole('button', { name: `Fail job ${label}` })
  await failButton.focus()
  await page.keyboard.press('Enter')
  await jobRow(page, second, 'failed').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), `Job ${label} is failed.`)
  t.equal(await jobRow(page, second).locator('.badge').first().textContent(), 'failed')
  t.ok(await failButton.isDisabled(), 'a failed job has no more actions')
  t.same(await page.locator('#jobs tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-status'))), ['failed', 'completed'], 'newest first')
  await screenshot(page, 'inspector-failed-job')

  // Another key's job is invisible to this key, and shown with "All keys".
  const foreign = await submit(base, [{ user_id: 'z1' }], OTHER_KEY)
  await page.getByLabel('All keys').check()
  await page.getByRole('button', { name: 'Connect' }).click()
  await jobRow(page, foreign).waitFor(WAIT)
  t.equal(await page.locator('#jobs tbody tr').count(), 3, 'every key\'s jobs')
  t.equal(await jobRow(page, foreign).locator('.key-id').textContent(), tenantOf(OTHER_KEY).envId, 'with their key id')
  t.match(await page.locator('#scope').textContent(), /^All keys · sent with key te…-1 \(NX-[0-9a-f]{8}\) · admin token set$/)

  // The session keeps key, token and scope across a reload.
  await page.reload()
  await page.locator('#live[data-state="live"]').waitFor(WAIT)
  await jobRow(page, foreign).waitFor(WAIT)
  t.ok(await page.getByLabel('All keys').isChecked(), 'still every key')

  // Reset asks first, then forgets every key's state.
  await page.getByRole('button', { name: 'Reset…' }).click()
  t.equal(await page.locator('#reset-question').textContent(), 'Forget the users, companies, scheduled deletions, jobs (bulk, import and export, with their files), events, lookups, journal and faults of EVERY key?')
  await page.getByRole('button', { name: 'Cancel' }).click()
  t.ok(await page.locator('#reset-confirm').isHidden(), 'cancelled')
  t.equal(await page.locator('#jobs tbody tr').count(), 3, 'nothing forgotten')
  await page.getByRole('button', { name: 'Reset…' }).click()
  await page.getByRole('button', { name: 'Yes, reset' }).click()
  await page.locator('#jobs-empty').waitFor({ state: 'visible', ...WAIT })
  await page.locator('#users-empty').waitFor({ state: 'visible', ...WAIT })
  await page.locator('#journal-empty').waitFor({ state: 'visible', ...WAIT })
  await page.locator('#events-empty').waitFor({ state: 'visible', ...WAIT })
  t.equal(await page.locator('#jobs tbody tr, #users tbody tr, #companies tbody tr, #events tbody tr, #journal tbody tr').count(), 0, 'every list is empty')
  t.equal(await page.getByRole('alert').textContent(), 'Every key was reset.')

  // Pause stops the polling; Forget drops the key from the session.
  await page.getByRole('button', { name: 'Pause' }).click()
  t.equal(await page.locator('#live-text').textContent(), 'Paused')
  t.equal(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed'), 'true')
  await page.getByRole('button', { name: 'Forget key' }).click()
  t.equal(await page.evaluate('sessionStorage.getItem("userpilot-mock.key")'), null, 'forgotten')
  t.equal(await page.locator('#live-text').textContent(), 'Not connected')
  t.same(pageErrors, [], 'no script errors')
})

t.test('real-time calls: the events panel, warnings in the journal, a scheduled deletion', browserTestOptions(), async (t) => {
  const { base } = await liveApp(t, {})
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  const external: string[] = []
  page.on('request', (request) => { if (!request.url().startsWith(base)) external.push(request.url()) })
  await page.goto(`${base}/__mock/ui`)
  await connect(page, KEY)
  await page.locator('#live[data-state="live"]').waitFor(WAIT)
  t.equal(await page.locator('#events-empty').textContent(), 'No events. Identify, company identify and track calls, and imported rows, show up here.', 'the empty state')

  const identified = await realtime(base, 'POST', '/v1/identify', { user_id: 'u1', metadata: { plan: 'pro', prefs: { theme: 'dark', beta: true } }, company: { id: 'acme', name: 'Acme' } })
  await realtime(base, 'POST', '/v1/track', { user_id: 'ghost', event_name: 'Clicked Upgrade', metadata: { plan: 'pro' } })
  await realtime(base, 'POST', '/v1/track', { user_id: 'u1', event_name: 'Signed Up' })
  await realtime(base, 'DELETE', '/v1/users', { users: ['u1'] })
  const [deletion] = await controlGet<Array<{ deletion_scheduled_at: string }>>(base, 'deletions')
  const deletionAt = deletion?.deletion_scheduled_at as string

  // Events, newest first, found by the page's polling.
  const events = page.locator('#events tbody tr')
  await events.nth(2).waitFor(WAIT)
  t.equal(await page.locator('#events-count').textContent(), '(3)')
  const cells = async (): Promise<string[][]> => await events.evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll(':scope > td')].slice(1, 5).map((cell) => cell.textContent ?? '')))
  t.same(await cells(), [
    ['track', 'Signed Up', 'u1', 'acme'],
    ['track', 'Clicked Upgrade', 'ghost', '—'],
    ['identify_user', '—', 'u1', 'acme']
  ], 'type, name, user and company of each event')
  t.notOk(await events.nth(2).locator('.meta').isVisible(), 'metadata only when the row is opened')
  await events.nth(2).getByText('Show (2 properties)').click()
  t.same(await events.nth(2).locator('.meta li').allTextContents(), ['plan "pro"', 'prefs {"theme":"dark","beta":true}'], 'the metadata, nested object included')
  t.equal(await events.nth(2).locator('.request-id').textContent(), `backend-http, request id ${identified}`, 'the source and the request that sent it')

  // Filter by type (the server's), then search (the page's).
  await page.getByLabel('Event type').selectOption('identify_user')
  await waitForRows(page, 'events', 1)
  t.same((await cells())[0], ['identify_user', '—', 'u1', 'acme'], 'identify events only')
  t.ok(await events.first().locator('.meta').isVisible(), 'the opened row stays open across refreshes')
  await page.getByLabel('Event type').selectOption('track')
  await waitForRows(page, 'events', 2)
  t.same((await cells()).map((row) => row[0]), ['track', 'track'], 'track events only')
  await page.getByLabel('Event type').focus()
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate('document.activeElement.id'), 'event-search', 'Tab goes from the type to the search')
  const search = page.getByLabel('Search events by user, company or event name')
  await search.fill('ghost')
  await waitForRows(page, 'events', 1)
  t.same((await cells())[0], ['track', 'Clicked Upgrade', 'ghost', '—'], 'found by user id')
  t.equal(await page.locator('#events-count').textContent(), '(1 of 2)')
  await search.fill('signed up')
  await waitForRows(page, 'events', 1)
  t.equal(await events.first().locator('.event-name').textContent(), 'Signed Up', 'found by event name, whatever the case')
  await search.fill('zzz')
  await page.locator('#events-empty').waitFor({ state: 'visible', ...WAIT })
  t.equal(await page.locator('#events-empty').textContent(), 'No events match the filter.')
  await search.fill('')
  await page.getByLabel('Event type').selectOption('')
  await waitForRows(page, 'events', 3)

  // The journal: the unknown user's track carries its warning, shown as a badge and, opened, in full.
  const journal = page.locator('#journal tbody tr')
  await journal.nth(3).waitFor(WAIT)
  const track = journal.nth(2)
  t.equal(await track.locator('td').nth(2).textContent(), '/v1/track')
  t.equal(await track.getAttribute('data-warnings'), '1')
  t.equal(await track.locator('.badge[data-status="warning"]').textContent(), '1 warning', 'the badge with the count')
  t.equal(await track.locator('.codes').textContent(), 'unknown_user', 'and the code')
  t.equal(await journal.nth(0).getAttribute('data-warnings'), null, 'the delete sent the version header: no warning')
  t.notOk(await track.locator('.warnings').isVisible(), 'the warning text waits for the row to open')
  await track.getByText(/^Show \(\d+ bytes, 1 warning\)$/).click()
  t.same(await track.locator('.warnings li').allTextContents(), [
    'unknown_user No user with this user_id has been identified for this API key; Userpilot\'s docs say a tracked user must be identified first. The event is kept. at /user_id'
  ], 'code, message and path')
  t.match(await journal.nth(3).locator('.codes').textContent(), 'nested_metadata', 'the nested metadata of the identify is flagged too')

  // By keyboard: the toggle is a plain checkbox.
  await page.getByLabel(/^Only requests with warnings/).focus()
  await page.keyboard.press('Space')
  await waitForRows(page, 'journal', 2)
  t.same(await journal.evaluateAll((rows) => rows.map((row) => [row.querySelector('code')?.textContent, row.getAttribute('data-warnings')])),
    [['/v1/track', '1'], ['/v1/identify', '1']], 'only the requests with warnings')
  t.ok(await journal.first().locator('.warnings').isVisible(), 'the opened row stays open')
  await screenshot(page, 'inspector-realtime-1280')
  await page.getByLabel(/^Only requests with warnings/).uncheck()
  await waitForRows(page, 'journal', 4)

  // The user shows its scheduled deletion and the request that touched it last; so does its company.
  const user = page.locator('#users tbody tr[data-key$="/u1"]')
  t.equal(await user.locator('.deletion').textContent(), `deletion at ${deletionAt.slice(0, 10)} 02:00 UTC`, 'the scheduled deletion')
  t.equal(await user.locator('.deletion').getAttribute('title'), deletionAt, 'to the millisecond in its title')
  t.equal(await user.locator('.touched').textContent(), `by request ${identified}`, 'what touched it last')
  const company = page.locator('#companies tbody tr').first()
  t.ok(await company.locator('.deletion').isHidden(), 'no deletion pending for the company')
  t.equal(await company.locator('.touched').textContent(), `by request ${identified}`)

  await page.setViewportSize({ width: 420, height: 900 })
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= 420'), 'no horizontal scrolling at 420 px')
  t.ok(await journal.nth(0).locator('td.no-warnings').isHidden(), 'a card leaves out the warnings it has none of')
  await screenshot(page, 'inspector-realtime-420')
  await page.setViewportSize({ width: 1280, height: 800 })

  // Flush carries the deletion out at once.
  await page.getByRole('button', { name: 'Flush jobs and deletions' }).click()
  await page.getByRole('alert').filter({ hasText: 'Deleted' }).waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), 'Flushed 0 jobs. Deleted 1 user and 0 companies.')
  await user.waitFor({ state: 'detached', ...WAIT })
  t.equal(await page.locator('#companies tbody tr td').nth(1).textContent(), '0', 'the company is left without users')
  t.same(external, [], 'no request leaves the mock')
  t.same(pageErrors, [], 'no script errors')
})

t.test('without JavaScript the page says it needs it', browserTestOptions(), async (t) => {
  const { base } = await liveApp(t, {})
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 800, height: 600 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(`${base}/__mock/ui`)
  const notice = page.locator('.noscript')
  t.ok(await notice.isVisible(), 'the noscript text is shown')
  t.match(await notice.textContent(), /^This page needs JavaScript: /)
  for (const hidden of ['#main', '#live', '#pause', '.skip']) t.ok(await page.locator(hidden).isHidden(), `${hidden} is hidden`)
})

t.test('import and export jobs: the type in the jobs list, exports with live status, filters and a download link per file', browserTestOptions(), async (t) => {
  // Manual clock: jobs and exports move only when the page's buttons say so; two events per export file.
  const { base } = await liveApp(t, { MOCK_CLOCK: 'manual', MOCK_EXPORT_CHUNK_EVENTS: 2 })
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(`${base}/__mock/ui`)
  await connect(page, KEY)
  await page.locator('#live[data-state="live"]').waitFor(WAIT)
  t.ok(await page.locator('#exports-empty').isVisible(), 'the empty state before any export')
  t.equal(await page.locator('#exports-empty').textContent(), 'No exports. Jobs created with POST /api/v1/analytics/exports show up here.')
  t.equal(await page.locator('#exports-count').textContent(), '(0)')
  t.equal(await page.locator('#exports caption').textContent(), 'Export jobs with a download link per written file, newest first')
  t.equal(await page.locator('#jobs caption').textContent(), 'Bulk identify and import jobs, newest first')
  t.equal(await page.getByRole('button', { name: 'Flush jobs and deletions' }).getAttribute('title'), 'Runs every job (bulk, import and export) to its end and carries out the scheduled deletions now')

  // Four events to export, then a bulk job and an import beside them.
  await realtime(base, 'POST', '/v1/identify', { user_id: 'u1', metadata: { plan: 'pro' }, company: { id: 'acme' } })
  await realtime(base, 'POST', '/v1/track', { user_id: 'u1', event_name: 'Signed Up' })
  await realtime(base, 'POST', '/v1/track', { user_id: 'u2', event_name: 'Clicked Upgrade' })
  await realtime(base, 'POST', '/v1/track', { user_id: 'u1', event_name: 'Upgraded', metadata: { to: 'pro' } })
  const bulk = await submit(base, [{ user_id: 'u3' }])
  const imported = await importFile(base, 'history.csv', [
    'event_type,user_id,company_id,event_name,source,inserted_at,hostname,pathname,user_agent,url,metadata',
    'identify_user,u9,,,backend-http-import,2024-07-28T08:56:00Z,,,,,"{""plan"":""trial""}"',
    'page_view,u9,,,web-client,2024-07-28T09:00:00.250Z,,,Mozilla/5.0,https://app.example.com/settings,{}'
  ].join('\r\n') + '\r\n')
  t.match(imported, /^import:jobs:NX-[0-9a-f]{8}:[0-9a-f-]{36}$/, 'an import job id')

  // Import and bulk jobs share the jobs list, each with its type; an import names its file.
  await jobRow(page, imported, 'queued').waitFor(WAIT)
  await jobRow(page, bulk, 'queued').waitFor(WAIT)
  t.same(await page.locator('#jobs tbody tr .kind').evaluateAll((nodes) => nodes.map((node) => [node.textContent, node.getAttribute('data-type')])),
    [['import', 'import'], ['bulk users', 'users']], 'the type of each job, newest first')
  t.equal(await jobRow(page, imported).locator('.filename').textContent(), 'history.csv', 'the uploaded file')
  t.match(await jobRow(page, imported).locator('.filename').getAttribute('title'), /^history\.csv, \d+ bytes$/, 'and its size in the title')
  t.ok(await jobRow(page, bulk).locator('.filename').isHidden(), 'a bulk job\'s made-up file name is left out')
  t.equal(await jobRow(page, imported).locator('.progress-text').textContent(), '0 / 2 · 0%', 'the import counts its rows')

  // The export appears by itself, pending, with its format and no filter.
  const first = await createExport(base, { format: 'ndjson' })
  const row = exportRow(page, first)
  await exportRow(page, first, 'pending').waitFor(WAIT)
  t.equal(await page.locator('#exports-count').textContent(), '(1)')
  t.ok(await page.locator('#exports-empty').isHidden(), 'no empty state any more')
  const cells = async (): Promise<string[]> => await row.locator(':scope > td').evaluateAll((tds) => tds.slice(0, 7).map((td) => td.textContent ?? ''))
  const [, ...pending] = await cells()
  t.same(pending.filter((_, index) => index !== 4), ['ndjson', 'pending', '0% · 0 files', 'all events', 'none yet'], 'format, status, progress, filters and files')
  t.match(pending[4], /^\d\d:\d\d:\d\d\.\d{3}$/, 'the creation time')
  t.equal(await row.locator('td').first().locator('code').textContent(), first, 'the export id')
  t.same(await row.locator('td').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-label'))), ['Export', 'Format', 'Status', 'Progress', 'Filters', 'Created', 'Files', 'Actions'], 'each cell names its column for the card layout')

  // Advance, step by step: processing, one file, then the last file and completed.
  const advance = page.getByRole('button', { name: `Advance export ${first}` })
  await advance.click()
  await exportRow(page, first, 'processing').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), `Export ${first} is processing (0 files written).`)
  t.equal(await row.locator('.progress-text').textContent(), '0% · 0 files')
  await advance.click()
  await row.locator('.files li').first().waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), `Export ${first} is processing (1 file written).`)
  t.equal(await row.locator('.progress-text').textContent(), '50% · 1 file', 'half the events read')
  t.same([await row.locator('progress').getAttribute('value'), await row.locator('progress').getAttribute('max')], ['50', '100'], 'the bar says so too')
  await advance.click()
  await exportRow(page, first, 'completed').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), `Export ${first} is completed.`)
  t.equal(await row.locator('.progress-text').textContent(), '100% · 2 files')
  t.equal(await row.locator('.badge').first().textContent(), 'completed')
  t.ok(await advance.isDisabled(), 'a completed export cannot be advanced')
  t.ok(await page.getByRole('button', { name: `Fail export ${first}` }).isDisabled(), 'nor failed')

  // One link per file, named after it, with its size and events; the browser downloads it as is.
  const [exported] = await controlGet<Array<{ chunks: Array<{ filename: string, bytes: number, url: string }> }>>(base, 'exports')
  const chunks = exported?.chunks ?? []
  t.equal(chunks.length, 2, 'two files')
  const links = row.getByRole('link')
  t.same(await links.allTextContents(), chunks.map((chunk) => chunk.filename), 'the file names')
  t.same(await links.evaluateAll((nodes) => nodes.map((node) => [node.getAttribute('href'), node.getAttribute('download')])),
    chunks.map((chunk) => [chunk.url, chunk.filename]), 'each links to its presigned URL, to download')
  t.same(await row.locator('.file-size').allTextContents(), chunks.map((chunk) => `${chunk.bytes} bytes · 2 events`), 'size and events of each')
  t.match(await links.first().getAttribute('title'), /^Signed link, works until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'when the link expires')
  const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.getByRole('link', { name: chunks[0]?.filename }).click()])
  t.equal(download.suggestedFilename(), chunks[0]?.filename, 'saved under its name')
  const envId = tenantOf(KEY).envId
  const fields = (text: string): unknown[][] => text.trim().split('\n').map((line) => {
    const event = JSON.parse(line) as Record<string, unknown>
    return [event.app_token, event.event_type, event.event_name, event.user_id, event.company_id, event.source]
  })
  t.same(fields(readFileSync(await download.path(), 'utf8')), [
    [envId, 'identify_user', '', 'u1', 'acme', 'backend-http'],
    [envId, 'track', 'Signed Up', 'u1', 'acme', 'backend-http']
  ], 'the downloaded file holds the first two events, oldest first')
  // The second link, fetched by the page itself: no key needed, the signature is the permission.
  const second = await links.nth(1).getAttribute('href') as string
  const fetched = await page.evaluate(async (href) => {
    const res = await fetch(href)
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
  }, second)
  t.equal(fetched.status, 200, 'the link works from the page')
  t.same(fields(fetched.body), [
    [envId, 'track', 'Clicked Upgrade', 'u2', null, 'backend-http'],
    [envId, 'track', 'Upgraded', 'u1', 'acme', 'backend-http']
  ], 'and holds the other two')

  // A filtered CSV export, finished by Flush along with the bulk and import jobs.
  const filtered = await createExport(base, { format: 'csv', from: '2020-01-01T00:00:00.000Z', event_type: ['track'], user_id: ['u1'] })
  const csvRow = exportRow(page, filtered)
  await exportRow(page, filtered, 'pending').waitFor(WAIT)
  t.same(await csvRow.locator('td').nth(4).locator('li').allTextContents(), ['from 2020-01-01 00:00:00 UTC', 'types track', 'users u1'], 'the filters in short')
  t.equal(await csvRow.locator('td').nth(4).locator('li').first().getAttribute('title'), '2020-01-01T00:00:00.000Z', 'the exact bound in the title')
  t.same(await page.locator('#exports tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-status'))), ['pending', 'completed'], 'newest first')
  await page.getByRole('button', { name: 'Flush jobs and deletions' }).click()
  await exportRow(page, filtered, 'completed').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), 'Flushed 3 jobs.', 'the export, the bulk job and the import')
  await jobRow(page, imported, 'completed').waitFor(WAIT)
  await jobRow(page, bulk, 'completed').waitFor(WAIT)
  t.equal(await jobRow(page, imported).locator('.progress-text').textContent(), '2 / 2 · 100%')
  t.equal(await csvRow.locator('.progress-text').textContent(), '100% · 1 file')
  const csvHref = await csvRow.getByRole('link').getAttribute('href') as string
  const csv = await page.evaluate(async (href) => await (await fetch(href)).text(), csvHref)
  const lines = csv.split('\r\n')
  t.equal(lines[0], 'app_token,event_type,event_name,user_id,company_id,source,inserted_at,hostname,pathname,user_agent,metadata', 'the CSV header')
  t.same(lines.slice(1).map((line) => line.split(',').slice(0, 6)), [
    [envId, 'track', 'Signed Up', 'u1', 'acme', 'backend-http'],
    [envId, 'track', 'Upgraded', 'u1', 'acme', 'backend-http'],
    ['']
  ], 'only u1\'s track events')

  // The imported rows are events too, page views included.
  await page.getByLabel('Event type').selectOption('page_view')
  await waitForRows(page, 'events', 1)
  t.same(await page.locator('#events tbody tr td').evaluateAll((tds) => tds.slice(1, 4).map((td) => td.textContent)), ['page_view', '—', 'u9'], 'the imported page view')
  await page.getByLabel('Event type').selectOption('')

  // Fail: the export stops, says where it was told to, and offers no more actions.
  const doomed = await createExport(base, { format: 'parquet', company_id: ['c1', 'c2', 'c3', 'c4', 'c5'] })
  const doomedRow = exportRow(page, doomed)
  await exportRow(page, doomed, 'pending').waitFor(WAIT)
  t.equal(await doomedRow.locator('td').nth(4).textContent(), 'companies c1, c2, c3 +2 more', 'a long id list is cut short')
  t.equal(await doomedRow.locator('td').nth(4).locator('li').getAttribute('title'), 'c1, c2, c3, c4, c5', 'whole in the title')
  await page.getByRole('button', { name: `Fail export ${doomed}` }).click()
  await exportRow(page, doomed, 'failed').waitFor(WAIT)
  t.equal(await page.getByRole('alert').textContent(), `Export ${doomed} is failed.`)
  t.equal(await doomedRow.locator('td').nth(6).textContent(), 'none yet', 'no file was written')
  t.ok(await page.getByRole('button', { name: `Advance export ${doomed}` }).isDisabled(), 'a failed export cannot be advanced')
  await screenshot(page, 'inspector-exports-1280')

  // Another key's export: invisible to this key, shown with its key id under "All keys", and moved from there.
  const foreign = await createExport(base, { format: 'avro' }, OTHER_KEY)
  await page.getByLabel('All keys').check()
  await page.getByRole('button', { name: 'Connect' }).click()
  await exportRow(page, foreign, 'pending', OTHER_KEY).waitFor(WAIT)
  t.equal(await page.locator('#exports tbody tr').count(), 4, 'every key\'s exports')
  t.equal(await exportRow(page, foreign, undefined, OTHER_KEY).locator('.key-id').textContent(), tenantOf(OTHER_KEY).envId, 'with their key id')
  await page.getByRole('button', { name: `Advance export ${foreign}` }).click()
  await exportRow(page, foreign, 'processing', OTHER_KEY).waitFor(WAIT)

  await page.setViewportSize({ width: 420, height: 900 })
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= 420'), 'no horizontal scrolling at 420 px')
  await screenshot(page, 'inspector-exports-420')
  await page.setViewportSize({ width: 1280, height: 800 })

  // Reset forgets the exports with the rest.
  await page.getByRole('button', { name: 'Reset…' }).click()
  await page.getByRole('button', { name: 'Yes, reset' }).click()
  // The panels refresh each on its own: wait for both to be empty, not only the first.
  await page.locator('#exports-empty').waitFor({ state: 'visible', ...WAIT })
  await page.locator('#jobs-empty').waitFor({ state: 'visible', ...WAIT })
  t.equal(await page.locator('#exports tbody tr, #jobs tbody tr').count(), 0, 'no export and no job left')
  t.equal(await page.locator('#exports-count').textContent(), '(0)')
  t.same(pageErrors, [], 'no script errors')
})
