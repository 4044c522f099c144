import t, { type Test } from 'tap'
import { Type, type TSchema } from '@sinclair/typebox'
import {
  acceptedValues,
  ConfigError,
  ConfigSchema,
  configFromSources,
  describeSettings,
  flagName,
  parseConfig,
  type ConfigName
} from '../src/config.js'

const NAMES = Object.keys(ConfigSchema.properties) as ConfigName[]

/** The error a call throws (fails the test when it does not throw). */
function thrown (fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

/** Asserts the one-line ConfigError for `raw`, naming `name`, its flag, the value and what is accepted. */
function assertConfigError (t: Test, raw: Record<string, unknown>, name: ConfigName, flag: string, shown: string, accepts: string): void {
  const error = thrown(() => parseConfig(raw))
  t.ok(error instanceof ConfigError, 'a ConfigError')
  t.equal(error.name, 'ConfigError')
  t.equal(error.message, `invalid ${name} (${flag}) = ${shown}: expected ${accepts}`)
  t.notMatch(error.message, /[\r\n]/, 'one line')
}

t.test('parseConfig: every default', async (t) => {
  const config = parseConfig({})
  t.strictSame(config, {
    PORT: 3000,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    MOCK_API_KEYS: '',
    MOCK_STAGE_MS: 200,
    MOCK_CLOCK: 'auto',
    MOCK_METADATA: 'primitives',
    MOCK_CONCURRENCY: 'reject',
    MOCK_QUEUE_LIMIT: 100,
    MOCK_MAX_RECORDS: 10_000,
    MOCK_IMPORT_MAX_ROWS: 100_000,
    MOCK_BODY_LIMIT: 52_428_800,
    MOCK_STORE: 'memory',
    MOCK_JOB_RETENTION: 1000,
    MOCK_JOURNAL_SIZE: 1000,
    MOCK_JOURNAL_BODY_BYTES: 65_536,
    MOCK_EVENT_RETENTION: 10_000,
    MOCK_EXPORT_CHUNK_EVENTS: 10_000,
    MOCK_REALTIME_BODY_LIMIT: 1_048_576,
    MOCK_DELETIONS: 'scheduled',
    MOCK_RATE_LIMITS: 'off',
    MOCK_STRICT: 'false'
  })
  for (const name of ['MOCK_ROWS_PER_MIN', 'MOCK_PUBLIC_URL', 'MOCK_ADMIN_TOKEN'] as const) {
    t.notOk(name in config, `${name} is unset by default`)
  }
  // Each default is the schema's own.
  for (const name of NAMES) {
    const schema = ConfigSchema.properties[name] as TSchema
    if (schema.default !== undefined) t.equal(config[name], schema.default, `${name} default from the schema`)
  }
})

t.test('parseConfig: strings from the environment are coerced', async (t) => {
  const config = parseConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    LOG_LEVEL: 'debug',
    MOCK_API_KEYS: 'a,b',
    MOCK_STAGE_MS: '0',
    MOCK_ROWS_PER_MIN: '1200',
    MOCK_CLOCK: 'manual',
    MOCK_METADATA: 'strings',
    MOCK_CONCURRENCY: 'queue',
    MOCK_QUEUE_LIMIT: '3',
    MOCK_MAX_RECORDS: '5',
    MOCK_IMPORT_MAX_ROWS: '7',
    MOCK_BODY_LIMIT: '1024',
    MOCK_PUBLIC_URL: 'https://mock.example:8443/base/path',
    MOCK_STORE: 'redis://localhost:6379/0',
    MOCK_JOB_RETENTION: '0',
    MOCK_JOURNAL_SIZE: '10',
    MOCK_JOURNAL_BODY_BYTES: '0',
    MOCK_EVENT_RETENTION: '5',
    MOCK_EXPORT_CHUNK_EVENTS: '9',
    MOCK_REALTIME_BODY_LIMIT: '2048',
    MOCK_DELETIONS: 'immediate',
    MOCK_RATE_LIMITS: 'docs',
    MOCK_STRICT: 'true',
    MOCK_ADMIN_TOKEN: 's3cret'
  })
  t.strictSame(config, {
    PORT: 8080,
    HOST: '0.0.0.0',
    LOG_LEVEL: 'debug',
    MOCK_API_KEYS: 'a,b',
    MOCK_STAGE_MS: 0,
    MOCK_ROWS_PER_MIN: 1200,
    MOCK_CLOCK: 'manual',
    MOCK_METADATA: 'strings',
    MOCK_CONCURRENCY: 'queue',
    MOCK_QUEUE_LIMIT: 3,
    MOCK_MAX_RECORDS: 5,
    MOCK_IMPORT_MAX_ROWS: 7,
    MOCK_BODY_LIMIT: 1024,
    MOCK_PUBLIC_URL: 'https://mock.example:8443/base/path',
    MOCK_STORE: 'redis://localhost:6379/0',
    MOCK_JOB_RETENTION: 0,
    MOCK_JOURNAL_SIZE: 10,
    MOCK_JOURNAL_BODY_BYTES: 0,
    MOCK_EVENT_RETENTION: 5,
    MOCK_EXPORT_CHUNK_EVENTS: 9,
    MOCK_REALTIME_BODY_LIMIT: 2048,
    MOCK_DELETIONS: 'immediate',
    MOCK_RATE_LIMITS: 'docs',
    MOCK_STRICT: 'true',
    MOCK_ADMIN_TOKEN: 's3cret'
  })
  t.equal(parseConfig({ MOCK_STORE: 'rediss://cache:6380' }).MOCK_STORE, 'rediss://cache:6380')
  t.equal(parseConfig({ MOCK_PUBLIC_URL: 'http://mock:3000' }).MOCK_PUBLIC_URL, 'http://mock:3000')
  t.equal(parseConfig({ PORT: '65535' }).PORT, 65535, 'upper bound included')
  t.equal(parseConfig({ PORT: '0' }).PORT, 0, 'lower bound included')
})

t.test('parseConfig: a boolean from the library API is its word', async (t) => {
  t.equal(parseConfig({ MOCK_STRICT: true }).MOCK_STRICT, 'true')
  t.equal(parseConfig({ MOCK_STRICT: false }).MOCK_STRICT, 'false')
})

t.test('parseConfig: typed values (the library API) pass as they are', async (t) => {
  const config = parseConfig({ PORT: 0, MOCK_STAGE_MS: 5, MOCK_CLOCK: 'manual' })
  t.equal(config.PORT, 0)
  t.equal(config.MOCK_STAGE_MS, 5)
  t.equal(config.MOCK_CLOCK, 'manual')
})

t.test('parseConfig: an empty string counts as unset', async (t) => {
  const config = parseConfig({ PORT: '', HOST: '', LOG_LEVEL: '', MOCK_STAGE_MS: '', MOCK_PUBLIC_URL: '', MOCK_ADMIN_TOKEN: '', MOCK_ROWS_PER_MIN: '' })
  t.equal(config.PORT, 3000)
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.LOG_LEVEL, 'info')
  t.equal(config.MOCK_STAGE_MS, 200)
  t.notOk('MOCK_PUBLIC_URL' in config)
  t.notOk('MOCK_ADMIN_TOKEN' in config)
  t.notOk('MOCK_ROWS_PER_MIN' in config)
})

t.test('parseConfig: ignores unknown names and leaves its input alone', async (t) => {
  const raw = { PORT: '81', PATH: '/usr/bin', FOO: 'bar' }
  const config = parseConfig(raw)
  t.notOk('PATH' in config)
  t.notOk('FOO' in config)
  t.strictSame(raw, { PORT: '81', PATH: '/usr/bin', FOO: 'bar' }, 'input not mutated')
})

t.test('parseConfig: one-line ConfigError naming the setting, its flag and what it accepts', async (t) => {
  t.test('non-integer PORT', async (t) => {
    assertConfigError(t, { PORT: 'abc' }, 'PORT', '--port', '"abc"', 'an integer from 0 to 65535')
    assertConfigError(t, { PORT: '12abc' }, 'PORT', '--port', '"12abc"', 'an integer from 0 to 65535')
  })

  t.test('fractional, exponent, hex and boolean integers are refused, not truncated', async (t) => {
    for (const value of ['3.5', '1e3', '0x10', 'true', 'false', '1_000']) {
      assertConfigError(t, { PORT: value }, 'PORT', '--port', JSON.stringify(value), 'an integer from 0 to 65535')
    }
    assertConfigError(t, { MOCK_STAGE_MS: '0.5' }, 'MOCK_STAGE_MS', '--stage-ms', '"0.5"', 'an integer from 0 to 86400000')
    assertConfigError(t, { PORT: 3.5 }, 'PORT', '--port', '"3.5"', 'an integer from 0 to 65535')
  })

  t.test('out-of-range PORT', async (t) => {
    assertConfigError(t, { PORT: '65536' }, 'PORT', '--port', '"65536"', 'an integer from 0 to 65535')
    assertConfigError(t, { PORT: '-1' }, 'PORT', '--port', '"-1"', 'an integer from 0 to 65535')
  })

  t.test('bad MOCK_CLOCK (values are case-sensitive)', async (t) => {
    assertConfigError(t, { MOCK_CLOCK: 'sometimes' }, 'MOCK_CLOCK', '--clock', '"sometimes"', 'one of auto, manual')
    assertConfigError(t, { MOCK_CLOCK: 'MANUAL' }, 'MOCK_CLOCK', '--clock', '"MANUAL"', 'one of auto, manual')
  })

  t.test('bad LOG_LEVEL', async (t) => {
    assertConfigError(t, { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', '--log-level', '"verbose"', 'one of fatal, error, warn, info, debug, trace, silent')
  })

  t.test('bad MOCK_STORE', async (t) => {
    assertConfigError(t, { MOCK_STORE: 'postgres://db/mock' }, 'MOCK_STORE', '--store', '"postgres://db/mock"', '`memory` or a redis:// URL')
    assertConfigError(t, { MOCK_STORE: 'redis://' }, 'MOCK_STORE', '--store', '"redis://"', '`memory` or a redis:// URL')
  })

  t.test('bad MOCK_PUBLIC_URL', async (t) => {
    const accepts = 'an http:// or https:// base URL such as http://mock:3000'
    for (const value of ['mock:3000', 'ftp://mock', 'http://mock:3000?x=1', 'http://', 'http://mock/a b']) {
      assertConfigError(t, { MOCK_PUBLIC_URL: value }, 'MOCK_PUBLIC_URL', '--public-url', JSON.stringify(value), accepts)
    }
  })

  t.test('negative MOCK_STAGE_MS', async (t) => {
    assertConfigError(t, { MOCK_STAGE_MS: '-5' }, 'MOCK_STAGE_MS', '--stage-ms', '"-5"', 'an integer from 0 to 86400000')
  })

  t.test('MOCK_IMPORT_MAX_ROWS out of range', async (t) => {
    assertConfigError(t, { MOCK_IMPORT_MAX_ROWS: '0' }, 'MOCK_IMPORT_MAX_ROWS', '--import-max-rows', '"0"', 'an integer from 1 to 10000000')
    assertConfigError(t, { MOCK_IMPORT_MAX_ROWS: '10000001' }, 'MOCK_IMPORT_MAX_ROWS', '--import-max-rows', '"10000001"', 'an integer from 1 to 10000000')
  })

  t.test('MOCK_ROWS_PER_MIN below its minimum', async (t) => {
    assertConfigError(t, { MOCK_ROWS_PER_MIN: '0' }, 'MOCK_ROWS_PER_MIN', '--rows-per-min', '"0"', 'an integer from 1 to 100000000')
  })

  t.test('a value that is not a string (library API)', async (t) => {
    assertConfigError(t, { HOST: {} }, 'HOST', '--host', '"[object Object]"', 'a non-empty string')
  })

  t.test('a line break in the value is escaped, keeping the message on one line', async (t) => {
    assertConfigError(t, { PORT: '80\n81' }, 'PORT', '--port', '"80\\n81"', 'an integer from 0 to 65535')
  })

  t.test('a long value is cut', async (t) => {
    const long = 'x'.repeat(500)
    const error = thrown(() => parseConfig({ LOG_LEVEL: long }))
    t.match(error.message, /^invalid LOG_LEVEL \(--log-level\) = "x+: expected one of fatal/)
    t.ok(error.message.includes('x'.repeat(79)))
    t.notOk(error.message.includes('x'.repeat(80)), 'at most 80 characters of the value are shown')
  })

  t.test('the first invalid setting is reported', async (t) => {
    const error = thrown(() => parseConfig({ PORT: 'nope', MOCK_CLOCK: 'nope' }))
    t.match(error.message, /^invalid PORT \(--port\)/)
  })
})

t.test('ConfigError is an Error with its own name', async (t) => {
  const error = new ConfigError('message')
  t.ok(error instanceof Error)
  t.equal(error.name, 'ConfigError')
  t.equal(error.message, 'message')
})

t.test('flagName derives the CLI flag from the setting name', async (t) => {
  t.equal(flagName('PORT'), '--port')
  t.equal(flagName('HOST'), '--host')
  t.equal(flagName('LOG_LEVEL'), '--log-level')
  t.equal(flagName('MOCK_STAGE_MS'), '--stage-ms')
  t.equal(flagName('MOCK_ROWS_PER_MIN'), '--rows-per-min')
  t.equal(flagName('MOCK_API_KEYS'), '--api-keys')
  const flags = NAMES.map(flagName)
  for (const flag of flags) t.match(flag, /^--[a-z]+(-[a-z]+)*$/, `${flag} is a kebab-case flag`)
  t.equal(new Set(flags).size, NAMES.length, 'every flag is distinct')
})

t.test('configFromSources', async (t) => {
  t.test('flags win over the environment', async (t) => {
    const config = configFromSources(
      { PORT: '8080', MOCK_STAGE_MS: '10', HOST: '0.0.0.0' },
      { PORT: '9090', MOCK_STAGE_MS: '0' }
    )
    t.equal(config.PORT, 9090)
    t.equal(config.MOCK_STAGE_MS, 0)
    t.equal(config.HOST, '0.0.0.0', 'the environment fills what flags leave out')
  })

  t.test('undefined flags fall back to the environment, then to defaults', async (t) => {
    const config = configFromSources({ MOCK_CLOCK: 'manual', PATH: '/bin' }, { MOCK_CLOCK: undefined })
    t.equal(config.MOCK_CLOCK, 'manual')
    t.equal(config.PORT, 3000)
    t.notOk('PATH' in config)
  })

  t.test('flags alone', async (t) => {
    t.equal(configFromSources({}, { LOG_LEVEL: 'warn' }).LOG_LEVEL, 'warn')
  })

  t.test('a bad flag value is reported by setting and flag', async (t) => {
    const error = thrown(() => configFromSources({ PORT: '80' }, { PORT: 'eighty' }))
    t.ok(error instanceof ConfigError)
    t.equal(error.message, 'invalid PORT (--port) = "eighty": expected an integer from 0 to 65535')
  })
})

t.test('describeSettings lists every setting with flag, default and description', async (t) => {
  const settings = describeSettings()
  t.same(settings.map((setting) => setting.name), NAMES, 'every key of ConfigSchema, in order')
  for (const setting of settings) {
    const schema = ConfigSchema.properties[setting.name] as TSchema
    t.equal(setting.flag, flagName(setting.name), `${setting.name} flag`)
    t.equal(setting.default, schema.default === undefined ? '(unset)' : String(schema.default), `${setting.name} default`)
    t.equal(setting.description, schema.description, `${setting.name} description`)
    t.ok(setting.description.length > 0, `${setting.name} has a description`)
  }
  const byName = new Map(settings.map((setting) => [setting.name, setting]))
  t.equal(byName.get('MOCK_STAGE_MS')?.default, '200')
  t.equal(byName.get('MOCK_STAGE_MS')?.flag, '--stage-ms')
  t.equal(byName.get('MOCK_ROWS_PER_MIN')?.default, '(unset)')
  t.equal(byName.get('MOCK_PUBLIC_URL')?.default, '(unset)')
  t.equal(byName.get('MOCK_ADMIN_TOKEN')?.default, '(unset)')
  t.equal(byName.get('MOCK_METADATA')?.default, 'primitives')
  t.equal(byName.get('MOCK_API_KEYS')?.default, '', 'an empty default is shown as empty')
})

t.test('acceptedValues reads each kind of schema', async (t) => {
  t.equal(acceptedValues(Type.Union([Type.Literal('a'), Type.Literal('b')])), 'one of a, b', 'enum')
  t.equal(acceptedValues(Type.Integer({ minimum: 1, maximum: 5 })), 'an integer from 1 to 5', 'integer')
  t.equal(acceptedValues(Type.String({ accepts: 'a colour name' })), 'a colour name', 'accepts text')
  t.equal(acceptedValues(Type.String()), 'a non-empty string', 'plain string')
  t.equal(acceptedValues(ConfigSchema.properties.MOCK_METADATA), 'one of primitives, strings')
  t.equal(acceptedValues(ConfigSchema.properties.MOCK_CONCURRENCY), 'one of reject, queue')
  t.equal(acceptedValues(ConfigSchema.properties.MOCK_JOB_RETENTION), 'an integer from 0 to 1000000')
  t.equal(acceptedValues(ConfigSchema.properties.MOCK_ADMIN_TOKEN), 'a non-empty string')
  t.equal(acceptedValues(ConfigSchema.properties.HOST), 'a non-empty string')
})
