import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

/** Headers of the page and its assets: script and style from this origin only, no MIME sniffing, no referrer. */
export const UI_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer'
}

/**
 * The `ui/` folder at the package root, found from this module's URL: the
 * source (src/routes/control/ui.ts, run by tsx) sits three levels below the
 * root, the build (dist/src/routes/control/ui.js) four.
 */
export function uiRoot (moduleUrl: string | URL = import.meta.url): string {
  const candidates = ['../../../ui/', '../../../../ui/'].map((relative) => fileURLToPath(new URL(relative, moduleUrl)))
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')))
  if (found === undefined) throw new Error(`The inspector page (ui/index.html) is missing; looked in ${candidates.join(' and ')}`)
  return found
}

/**
 * `GET /__mock/ui`: the inspector page, and its assets under `/__mock/ui/`.
 * No auth: the page holds no data; its script calls the control API with
 * the key (and admin token) the user types in. Not in the OpenAPI document:
 * it is a page, not an API.
 */
export const controlUi: FastifyPluginAsync = async (app) => {
  // The assets change with the package version, not with a hashed name:
  // the standard `max-age=0, private, must-revalidate` stays, and ETag /
  // Last-Modified make the revalidation cheap.
  await app.register(fastifyStatic, {
    root: uiRoot(),
    prefix: '/ui/',
    index: false,
    cacheControl: false,
    setHeaders: (response) => {
      for (const [name, value] of Object.entries(UI_HEADERS)) response.setHeader(name, value)
    }
  })

  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => {
    return reply.sendFile('index.html')
  })

  // The page's relative links (ui/app.js) resolve only from `/__mock/ui`; a relative Location works behind a path prefix too.
  for (const alias of ['/ui/', '/ui/index.html']) {
    app.get(alias, { schema: { hide: true } }, async (_request, reply) => {
      return reply.redirect('../ui', 301)
    })
  }
}
