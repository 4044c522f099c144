import t from 'tap'
import { parseVariants } from '../../bench/lib/variants.js'

t.test('parseVariants: a bundle folder each, with settings after a colon', async (t) => {
  t.same(parseVariants('before=dist/bundle-before, after=dist/bundle/,silent=dist/bundle:LOG_LEVEL=silent;MOCK_JOB_RETENTION=0'), [
    { name: 'before', folder: 'dist/bundle-before', entry: 'dist/bundle-before/server.js', env: {} },
    { name: 'after', folder: 'dist/bundle', entry: 'dist/bundle/server.js', env: {} },
    { name: 'silent', folder: 'dist/bundle', entry: 'dist/bundle/server.js', env: { LOG_LEVEL: 'silent', MOCK_JOB_RETENTION: '0' } }
  ])
  t.same(parseVariants('odd=dist/bundle:X=a=b').at(0)?.env, { X: 'a=b' }, 'a value may hold =')
})

t.test('parseVariants: what it refuses, saying why', async (t) => {
  t.throws(() => parseVariants(''), { message: 'name at least one variant' })
  t.throws(() => parseVariants('dist/bundle'), { message: 'a variant is name=folder[:ENV=value;…]: dist/bundle' })
  t.throws(() => parseVariants('a=dist/bundle:LOG_LEVEL'), { message: 'a setting is ENV=value: LOG_LEVEL (in a)' })
  t.throws(() => parseVariants('a=dist/x,a=dist/y'), { message: 'variant names must differ from each other and from "bare": a, a' })
  t.throws(() => parseVariants('bare=dist/bundle'), /from "bare"/)
})
