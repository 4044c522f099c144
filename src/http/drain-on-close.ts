import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * Once the server starts closing, every answer says `Connection: close`.
 * Fastify marks only the requests that arrive after that; an answer to one
 * already in flight would keep its keep-alive connection, and with it the
 * shutdown, open for the whole keep-alive timeout.
 */
export const drainOnClose = fp(async function drainOnClose (app: FastifyInstance) {
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  // A callback hook: it runs for every answer, and an async one costs a promise each time.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'drain-on-close', fastify: '5.x' })
