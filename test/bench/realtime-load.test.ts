import t from 'tap'
import { COMPANIES_PER_KEY, identifyBody, identifyRequests, meanBodyBytes, realtimeHeaders } from '../../bench/lib/realtime-load.js'
import { testApp } from '../helpers/app.js'
import { control } from '../helpers/http.js'

t.test('realtimeHeaders are the three headers real clients send', async (t) => {
  t.strictSame(realtimeHeaders('k1'), { authorization: 'Token k1', 'content-type': 'application/json', 'x-api-version': '2020-09-22' })
})

t.test('identifyBody: a user, five flat metadata properties and a company; the variants change three values', async (t) => {
  const first = JSON.parse(identifyBody(9, 0))
  const second = JSON.parse(identifyBody(9, 1))
  t.strictSame(first, {
    user_id: 'user_9',
    metadata: { name: 'User Number 9', email: 'user.9@techstartup.example.com', plan: 'free', logins: 9, last_seen_at: '2026-01-01T09:00:00Z' },
    company: { id: `comp_${9 % COMPANIES_PER_KEY}`, name: `Company ${9 % COMPANIES_PER_KEY}` }
  })
  t.equal(second.user_id, first.user_id)
  t.strictSame(second.company, first.company)
  t.strictSame(Object.keys(first.metadata).filter((name) => first.metadata[name] !== second.metadata[name]), ['plan', 'logins', 'last_seen_at'])
  t.not(JSON.parse(identifyBody(10, 0)).company.id, first.company.id, 'users spread over companies')
})

t.test('identifyRequests: every user of every key once per variant, keys rotating fastest', async (t) => {
  const requests = identifyRequests(['a', 'b', 'c'], 4)
  t.equal(requests.length, 2 * 4 * 3)
  t.ok(requests.every((request) => request.method === 'POST' && request.path === '/v1/identify'))
  t.strictSame(requests.slice(0, 4).map((request) => request.headers.authorization), ['Token a', 'Token b', 'Token c', 'Token a'])
  const seen = requests.map((request) => `${request.headers.authorization} ${request.body}`)
  t.equal(new Set(seen).size, seen.length, 'no request repeats within one pass of the list')
  t.strictSame(requests.slice(0, 12).map((request) => JSON.parse(request.body as string).metadata.plan), Array(12).fill('free'), 'every profile is created before any is updated')
  t.strictSame(requests.slice(12).map((request) => JSON.parse(request.body as string).metadata.plan), Array(12).fill('pro'))
  t.strictSame(requests[12], { method: 'POST', path: '/v1/identify', headers: realtimeHeaders('a'), body: identifyBody(0, 1) })
})

t.test('meanBodyBytes averages the bodies, a GET counting 0', async (t) => {
  t.equal(meanBodyBytes([]), 0)
  t.equal(meanBodyBytes([{ method: 'GET', path: '/', headers: {} }, { method: 'POST', path: '/', headers: {}, body: 'abc' }]), 2)
})

t.test('the mock accepts the requests without a fidelity warning: profiles are created, then updated', async (t) => {
  const { app } = await testApp(t)
  for (const request of identifyRequests(['bench-k'], 2)) {
    const res = await app.inject({ method: request.method, url: request.path, headers: request.headers, payload: request.body })
    t.equal(res.statusCode, 202, res.body)
  }
  const users = (await control(app, 'GET', '/users', { key: 'bench-k' })).json()
  t.strictSame(users.map((user: { user_id: string, company_id: string, metadata: { plan: string } }) => [user.user_id, user.company_id, user.metadata.plan]),
    [['user_0', 'comp_0', 'pro'], ['user_1', 'comp_1', 'pro']])
  t.equal((await control(app, 'GET', '/events', { key: 'bench-k' })).json().length, 4, 'each identify kept as an event')
  t.strictSame((await control(app, 'GET', '/requests?warnings=true', { key: 'bench-k' })).json(), [])
  t.equal((await control(app, 'GET', '/requests', { key: 'bench-k' })).json().length, 4, 'each journaled')
})
