import t from 'tap'
import { PAGE_DEFAULTS } from '../../schemas/jobs.js'
import { pageOf } from '../../src/http/page.js'
import { auth, testApp } from '../helpers/app.js'

t.test('pageOf: the query values, or the schema defaults when absent', async (t) => {
  t.same(pageOf({}), { limit: PAGE_DEFAULTS.limit, offset: PAGE_DEFAULTS.offset })
  t.same(pageOf({ limit: 5 }), { limit: 5, offset: 0 })
  t.same(pageOf({ limit: 7, offset: 3 }), { limit: 7, offset: 3 })
})

t.test('an empty JSON body on a route other than a bulk one asks for a JSON object', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ method: 'POST', url: '/__mock/faults', headers: { ...auth(), 'content-type': 'application/json' }, payload: '' })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { errors: [{ error: 'invalid_request', error_code: 'empty_body', message: 'The request body is empty: send a JSON object.', details: 'body' }] })
})
