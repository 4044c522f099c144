import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { UI_HEADERS, uiRoot } from '../../../src/routes/control/ui.js'
import { ErrorEnvelope } from '../../../schemas/errors.js'
import { assertSchema, testApp } from '../../helpers/app.js'
import { CACHE_CONTROL, GENERATED_ID, assertStandardHeaders, control } from '../../helpers/http.js'

const UI_DIR = fileURLToPath(new URL('../../../ui/', import.meta.url))

/** The files the page is made of, with the content type each is served with. */
const ASSETS = [
  ['/__mock/ui', 'index.html', 'text/html; charset=utf-8'],
  ['/__mock/ui/app.js', 'app.js', 'application/javascript; charset=utf-8'],
  ['/__mock/ui/style.css', 'style.css', 'text/css; charset=utf-8']
] as const

function expectAsset (t: Test, res: LightMyRequestResponse, file: string, contentType: string): void {
  t.equal(res.statusCode, 200, 'status 200')
  t.equal(res.headers['content-type'], contentType, 'content-type')
  t.equal(res.body, readFileSync(`${UI_DIR}${file}`, 'utf8'), `the shipped ui/${file}, as is`)
  t.equal(res.headers['cache-control'], CACHE_CONTROL, 'revalidated on every load: the assets have no hashed names')
  t.match(res.headers.etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/, 'an ETag to revalidate with')
  t.ok(res.headers['last-modified'], 'and Last-Modified')
  t.match(res.headers['x-request-id'], GENERATED_ID, 'the standard x-request-id')
  for (const [name, value] of Object.entries(UI_HEADERS)) t.equal(res.headers[name], value, name)
}

t.test('the page and its assets, with their content types and cache headers', async (t) => {
  const { app } = await testApp(t)
  for (const [url, file, contentType] of ASSETS) {
    t.test(url, async (t) => expectAsset(t, await app.inject({ method: 'GET', url }), file, contentType))
  }
})

t.test('the page: no build step, relative asset links, a no-JavaScript text, no inline script', async (t) => {
  const { app } = await testApp(t)
  const html = (await app.inject({ method: 'GET', url: '/__mock/ui' })).body
  t.match(html, '<script type="module" src="ui/app.js"></script>', 'the script, relative to /__mock/ui')
  t.match(html, '<link rel="stylesheet" href="ui/style.css">', 'the stylesheet')
  t.match(html, /<noscript>\s*<p class="noscript">This page needs JavaScript: /, 'what a browser without JavaScript shows')
  t.equal(html.match(/<script/g)?.length, 1, 'one script element, none inline (the CSP forbids them)')
  t.notMatch(html, /\son[a-z]+=/, 'no inline event handlers')
  t.match(UI_HEADERS['content-security-policy'], "script-src 'self'", 'scripts from this origin only')
})

t.test('the script puts API values into the page as text and attributes, never as HTML', async (t) => {
  const script = readFileSync(`${UI_DIR}app.js`, 'utf8')
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'createContextualFragment', 'DOMParser']) {
    t.notOk(script.includes(sink), `no ${sink}`)
  }
  t.notMatch(script, /\beval\(|new Function\(/, 'no eval (the CSP forbids it anyway)')
  t.ok(script.includes('node.textContent = value'), 'el() sets text as textContent')
})

t.test('revalidation: a matching If-None-Match gets 304 without a body; HEAD gets the headers', async (t) => {
  const { app } = await testApp(t)
  for (const [url] of ASSETS) {
    const first = await app.inject({ method: 'GET', url })
    const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': first.headers.etag as string } })
    t.equal(again.statusCode, 304, `${url}: 304`)
    t.equal(again.body, '', `${url}: no body`)
    const head = await app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200, `${url}: HEAD 200`)
    t.equal(head.headers['content-length'], first.headers['content-length'], `${url}: HEAD gives the length`)
    t.equal(head.body, '', `${url}: HEAD has no body`)
  }
})

t.test('/__mock/ui/ and /__mock/ui/index.html redirect to /__mock/ui, where the relative links work', async (t) => {
  const { app } = await testApp(t)
  for (const url of ['/__mock/ui/', '/__mock/ui/index.html']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 301, `${url}: 301`)
    t.equal(res.headers.location, '../ui', `${url}: relative, so a path prefix in front of the mock still works`)
    t.equal(new URL(res.headers.location as string, `http://mock${url}`).pathname, '/__mock/ui', 'which is /__mock/ui')
  }
})

t.test('unknown assets, dotfiles and paths out of ui/ are 404 in the error envelope', async (t) => {
  const { app } = await testApp(t)
  const cases = [
    ['/__mock/ui/nope.js', '/__mock/ui/nope.js'],
    ['/__mock/ui/.hidden', '/__mock/ui/.hidden'],
    ['/__mock/ui/%2e%2e/package.json', '/__mock/package.json'],
    ['/__mock/uix', '/__mock/uix']
  ] as const
  for (const [url, shown] of cases) {
    t.test(url, async (t) => {
      // The wording of the not-found message belongs to the error handler; here: the envelope, the code and the path.
      const res = await app.inject({ method: 'GET', url })
      t.equal(res.statusCode, 404, 'status 404')
      assertStandardHeaders(t, res)
      const body: unknown = res.json()
      assertSchema(t, ErrorEnvelope, body, 'an ErrorEnvelope')
      const entries = (body as ErrorEnvelope).errors
      t.equal(entries.length, 1, 'one entry')
      t.match(entries[0], { error: 'not_found', error_code: 'route_not_found' }, 'route_not_found')
      t.ok(entries[0]?.message.includes(shown), `the message names ${shown}`)
      t.notMatch(res.body, UI_DIR, 'no file system path')
    })
  }
})

t.test('the page needs no key nor admin token, even when the control API does', async (t) => {
  const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: 'admin-secret', MOCK_API_KEYS: 'only-key' })
  for (const [url, file, contentType] of ASSETS) {
    t.test(url, async (t) => expectAsset(t, await app.inject({ method: 'GET', url }), file, contentType))
  }
  const refused = await control(app, 'GET', '/jobs', { key: 'only-key' })
  t.equal(refused.statusCode, 401, 'while /__mock/jobs still asks for the admin token')
  t.equal(refused.json().errors[0].error_code, 'missing_admin_token')
  const allowed = await control(app, 'GET', '/jobs', { key: 'only-key', headers: { 'x-mock-admin': 'admin-secret' } })
  t.equal(allowed.statusCode, 200, 'and answers with it: what the page sends')
})

t.test('the page is not part of the OpenAPI document (it is not an API)', async (t) => {
  const { app } = await testApp(t)
  const paths = Object.keys((await app.inject({ method: 'GET', url: '/documentation/json' })).json().paths as Record<string, unknown>)
  t.ok(paths.includes('/__mock/jobs'), 'the control API is documented')
  t.same(paths.filter((path) => path.startsWith('/__mock/ui')), [], 'the page is not')
})

t.test('uiRoot finds ui/ from the source module (tsx) and from the build (dist/src)', async (t) => {
  t.equal(uiRoot(), UI_DIR, 'the default: this module, under src/routes/control')
  t.equal(uiRoot(new URL('../../../src/routes/control/ui.ts', import.meta.url)), UI_DIR, 'three levels under the root')
  t.equal(uiRoot(new URL('../../../dist/src/routes/control/ui.js', import.meta.url)), UI_DIR, 'four levels under the root, as tsc emits it')
  t.throws(() => uiRoot(new URL('file:///nowhere/a/b/c/ui.js')),
    { message: 'The inspector page (ui/index.html) is missing; looked in /nowhere/ui/ and /ui/' }, 'a missing folder is a clear error at start')
})
