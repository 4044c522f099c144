import t from 'tap'
import { bodyText } from '../../src/http/body-parser.js'
import { auth, testApp } from '../helpers/app.js'

t.test('bodyText: an ASCII body is the same string as its UTF-8 decoding', async (t) => {
  const ascii = '{"users":[{"user_id":"u1","metadata":{"plan":"pro\\u00e9","n":1}}]}'
  t.equal(bodyText(Buffer.from(ascii, 'utf8')), ascii)
  t.equal(bodyText(Buffer.alloc(0)), '')
})

t.test('bodyText: a body with bytes above 0x7f is decoded as UTF-8, not byte by byte', async (t) => {
  const text = '{"name":"Zoë ✓ 😀"}'
  t.equal(bodyText(Buffer.from(text, 'utf8')), text)
  // A stray byte is replaced as UTF-8 decoding does, never read as Latin-1 ("\xff" would be "ÿ").
  t.equal(bodyText(Buffer.from([0x22, 0xff, 0x22])), '"\ufffd"')
})

t.test('a bulk body with characters beyond ASCII keeps them in the stored profile', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const headers = { ...auth(), 'content-type': 'application/json' }
  const metadata = { name: 'Zoë Ñandú', title: '数据 😀' }
  const accepted = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers, payload: Buffer.from(JSON.stringify({ users: [{ user_id: 'ü1', metadata }] }), 'utf8') })
  t.equal(accepted.statusCode, 202)
  await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers, payload: '' })
  const user = await app.inject({ method: 'GET', url: `/__mock/users/${encodeURIComponent('ü1')}`, headers: auth() })
  t.equal(user.statusCode, 200)
  t.same(user.json<{ metadata: unknown }>().metadata, metadata)
})
