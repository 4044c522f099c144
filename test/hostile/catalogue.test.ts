import t, { type Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { Value } from '@sinclair/typebox/value'
import { ErrorEnvelope, type ErrorEntry } from '../../schemas/errors.js'
import { auth, testApp, users } from '../helpers/app.js'
import { BOUNDARY, CACHE_CONTROL, JSON_UTF8, multipartBody } from '../helpers/http.js'

/**
 * Issue 7, part 1: hostile or broken inputs, each answered with the right 4xx
 * in the errors[] envelope, never a 5xx, echoing at most a short escaped
 * excerpt, storing nothing, and leaving the server (and the key) healthy.
 */

/** The app a case runs against: the defaults, or a 4 KB body limit. */
type AppName = 'default' | 'small'

interface Case {
  name: string
  /** The request, for the API key the case runs under (each case has its own). */
  request: (key: string) => InjectOptions
  status: number
  /** The error_code of each entry, in order. */
  codes: string[]
  app?: AppName
  /** A long input that the answer may quote only in part (never 130 characters of it in a row). */
  echo?: string
}

const SMALL_LIMIT = 4096
const LONG = 10_000
const USERS = '/v1/users/bulk_identify'
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`

/**
 * What an error entry must never carry raw: C0/C1 control characters, lone
 * surrogates, and bidirectional overrides (which reorder how a log line reads).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/u

// --- request builders ---

function json (payload: string, url = USERS, headers: Record<string, string> = {}): (key: string) => InjectOptions {
  return (key) => ({ method: 'POST', url, headers: { ...auth(key), 'content-type': 'application/json', ...headers }, payload })
}

function typed (contentType: string | undefined, payload: string, url = USERS): (key: string) => InjectOptions {
  return (key) => ({ method: 'POST', url, headers: { ...auth(key), ...(contentType === undefined ? {} : { 'content-type': contentType }) }, payload })
}

function call (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}): (key: string) => InjectOptions {
  return (key) => ({ method, url, headers: { ...auth(key), ...headers } })
}

function upload (content: string, collection = 'users'): (key: string) => InjectOptions {
  const payload = multipartBody([{ name: 'file', filename: 'rows.ndjson', content }])
  return (key) => ({ method: 'POST', url: `/v1/${collection}/bulk_identify`, headers: { ...auth(key), 'content-type': MULTIPART }, payload })
}

/** A historical import (POST /v1/imports) of one file, CSV unless its name says otherwise. */
function importFile (content: string | Buffer, filename = 'rows.csv'): (key: string) => InjectOptions {
  const payload = multipartBody([{ name: 'file', filename, content }])
  return (key) => ({ method: 'POST', url: '/v1/imports', headers: { ...auth(key), 'content-type': MULTIPART }, payload })
}

/** An import CSV file: the header, then rows. */
const importCsv = (header: string, ...rows: string[]): string => [header, ...rows].join('\n') + '\n'
const IMPORT_HEADER = 'event_type,user_id,source,inserted_at'
const IMPORT_TIME = '2024-07-28 08:55:35.874555'

/** `{"users":[{"user_id":"u1","metadata":<metadata>}]}` as raw JSON text. */
function withMetadata (metadata: string): string {
  return `{"users":[{"user_id":"u1","metadata":${metadata}}]}`
}

const nested = (depth: number, inner = '1'): string => '{"a":'.repeat(depth) + inner + '}'.repeat(depth)
const arrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
/** A body of exactly `bytes` bytes: one user whose id is padded. */
const sized = (bytes: number): string => {
  const shell = '{"users":[{"user_id":""}]}'
  return `{"users":[{"user_id":"${'p'.repeat(bytes - shell.length)}"}]}`
}

const longKey = 'k'.repeat(LONG)
const longText = 'z'.repeat(LONG)
const longJobId = 'j'.repeat(5000)
const tooMany = JSON.stringify({ users: users(10_001) })
const tooManyLines = users(10_001).map((row) => JSON.stringify(row)).join('\n')

/** The catalogue; the count is asserted below so that it stays visible. */
const CASES: Case[] = [
  // Truncated and malformed JSON
  { name: 'JSON cut off mid-object', request: json('{"users":[{"user_id":"u1"'), status: 400, codes: ['malformed_json'] },
  { name: 'JSON cut off after 10,000 characters of a string', request: json(`{"users":[{"user_id":"${longText}`), status: 400, codes: ['malformed_json'], echo: longText },
  { name: 'a trailing comma', request: json('{"users":[{"user_id":"u1"},]}'), status: 400, codes: ['malformed_json'] },
  { name: 'single-quoted strings', request: json("{'users':[{'user_id':'u1'}]}"), status: 400, codes: ['malformed_json'] },
  { name: 'NaN as a metadata value', request: json(withMetadata('{"a":NaN}')), status: 400, codes: ['malformed_json'] },
  { name: 'a body of whitespace only', request: json('   \n\t  '), status: 400, codes: ['malformed_json'] },
  { name: 'a byte-order mark before the JSON', request: json('\ufeff{"users":[{"user_id":"u1"}]}'), status: 400, codes: ['malformed_json'] },
  { name: 'a raw tab inside a JSON string', request: json('{"users":[{"user_id":"a\tb"}]}'), status: 400, codes: ['malformed_json'] },
  { name: 'a broken \\u escape', request: json('{"users":[{"user_id":"\\uZZZZ"}]}'), status: 400, codes: ['malformed_json'] },
  { name: 'an empty JSON body', request: json(''), status: 400, codes: ['empty_body'] },
  { name: 'two JSON documents in one body', request: json('{"users":[{"user_id":"u1"}]}{"users":[]}'), status: 400, codes: ['malformed_json'] },

  // Wrong types at every field
  { name: 'body: null', request: json('null'), status: 400, codes: ['invalid_body'] },
  { name: 'body: a number', request: json('42'), status: 400, codes: ['invalid_body'] },
  { name: 'users: an object', request: json('{"users":{"0":{"user_id":"u1"}}}'), status: 400, codes: ['invalid_users'] },
  { name: 'users: a string', request: json('{"users":"u1,u2"}'), status: 400, codes: ['invalid_users'] },
  { name: 'rows: null, a number, an array', request: json('{"users":[null,1,["u1"]]}'), status: 400, codes: ['invalid_user', 'invalid_user', 'invalid_user'] },
  { name: 'user_id: a number, a boolean, an object, null', request: json('{"users":[{"user_id":1},{"user_id":false},{"user_id":{}},{"user_id":null}]}'), status: 400, codes: ['invalid_user_id', 'invalid_user_id', 'invalid_user_id', 'invalid_user_id'] },
  { name: 'company_id: an array', request: json('{"users":[{"user_id":"u1","company_id":["c1"]}]}'), status: 400, codes: ['invalid_company_id'] },
  { name: 'metadata: a string and an array', request: json('{"users":[{"user_id":"a","metadata":"x"},{"user_id":"b","metadata":[]}]}'), status: 400, codes: ['invalid_metadata', 'invalid_metadata'] },
  { name: 'companies endpoint: company_id a number, metadata null', request: json('{"companies":[{"company_id":7},{"company_id":"c","metadata":null}]}', '/v1/companies/bulk_identify'), status: 400, codes: ['invalid_company_id', 'invalid_metadata'] },
  { name: 'an NDJSON line of the wrong type', request: upload('{"user_id":"u1"}\n[1,2]\n"u3"\n'), status: 400, codes: ['invalid_user', 'invalid_user'] },

  // Very long strings and keys
  { name: 'a 10,000-character metadata key', request: json(withMetadata(`{"${longKey}":1}`)), status: 400, codes: ['invalid_metadata_key'], echo: longKey },
  { name: 'a 10,000-character metadata key with an array value', request: json(withMetadata(`{"${longKey}":[1]}`)), status: 400, codes: ['invalid_metadata_key'], echo: longKey },
  { name: 'a 10,000-character X-Mock-Job-Outcome', request: json('{"users":[{"user_id":"u1"}]}', USERS, { 'x-mock-job-outcome': longText }), status: 400, codes: ['invalid_outcome_header'], echo: longText },
  { name: 'a 10,000-character Content-Type', request: typed(longText, '{"users":[{"user_id":"u1"}]}'), status: 415, codes: ['unsupported_content_type'], echo: longText },
  { name: 'a 10,000-character Bearer token', request: (key) => ({ ...json('{"users":[{"user_id":"u1"}]}')(key), headers: { authorization: `Bearer ${longText}`, 'content-type': 'application/json' } }), status: 401, codes: ['invalid_auth_scheme'], echo: longText },
  { name: 'a 10,000-character unknown path', request: call('GET', `/${longText}`), status: 404, codes: ['route_not_found'], echo: longText },
  { name: 'a 10,000-character malformed NDJSON line', request: upload(`{"user_id":"${longText}\n`), status: 400, codes: ['malformed_json'], echo: longText },

  // Deeply nested values
  { name: 'a metadata value nested 3,000 objects deep', request: json(withMetadata(`{"deep":${nested(3000)}}`)), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'a body of 100,000 nested arrays', request: json(arrays(100_000)), status: 400, codes: ['invalid_body'] },
  { name: 'a user_id nested 1,000 arrays deep', request: json(`{"users":[{"user_id":${arrays(1000)}}]}`), status: 400, codes: ['invalid_user_id'] },

  // Prototype-poisoning keys
  { name: '__proto__ at the top level carrying the users', request: json('{"__proto__":{"users":[{"user_id":"u1"}]}}'), status: 400, codes: ['missing_users'] },
  { name: '__proto__ at the top level carrying the companies', request: json('{"__proto__":{"companies":[{"company_id":"c1"}]}}', '/v1/companies/bulk_identify'), status: 400, codes: ['missing_companies'] },
  { name: 'users as an object with a __proto__ array', request: json('{"users":{"__proto__":[{"user_id":"u1"}]}}'), status: 400, codes: ['invalid_users'] },
  { name: 'metadata {"__proto__": {polluted}}', request: json(withMetadata('{"__proto__":{"polluted":true}}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'metadata {"constructor": {"prototype": {polluted}}}', request: json(withMetadata('{"constructor":{"prototype":{"polluted":true}}}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'metadata {"prototype": {polluted}}', request: json(withMetadata('{"prototype":{"polluted":true}}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'an NDJSON line {"__proto__": {user_id}}', request: upload('{"__proto__":{"user_id":"u1"}}\n'), status: 400, codes: ['missing_user_id'] },
  { name: 'a fault rule with __proto__ at the top level', request: json('{"__proto__":{"times":5}}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  {
    name: 'a fault rule with __proto__ inside match',
    request: json('{"match":{"__proto__":{"path":"/v1/background_jobs"}}}', '/__mock/faults'),
    status: 400,
    codes: ['invalid_body']
  },

  // Unicode edge cases in ids and keys
  { name: 'a metadata key with NUL and an object value', request: json(withMetadata('{"\\u0000k":{}}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'a metadata key that is a lone surrogate, with an array value', request: json(withMetadata('{"\\ud800":[1]}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'a metadata key holding a terminal escape, with an object value', request: json(withMetadata('{"\\u001b[2J":{}}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'a metadata key with a right-to-left override, with an array value', request: json(withMetadata('{"\\u202eabc":[1]}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'a metadata key with a C1 control (CSI), with an object value', request: json(withMetadata('{"\\u009b31m":{}}')), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'an empty metadata key', request: json(withMetadata('{"":"x"}')), status: 400, codes: ['invalid_metadata_key'] },
  { name: 'a job id of NUL', request: call('GET', '/v1/background_jobs/%00'), status: 404, codes: ['job_not_found'] },
  { name: 'a job id with a right-to-left override', request: call('GET', '/v1/background_jobs/%E2%80%AEdi_boj'), status: 404, codes: ['job_not_found'] },

  // Duplicate JSON keys: the last one wins, as JSON.parse reads them
  { name: 'users twice, the last a string', request: json('{"users":[{"user_id":"u1"}],"users":"x"}'), status: 400, codes: ['invalid_users'] },
  { name: 'user_id twice, the last a number', request: json('{"users":[{"user_id":"u1","user_id":5}]}'), status: 400, codes: ['invalid_user_id'] },
  { name: 'a metadata key twice, the last an array', request: json(withMetadata('{"a":1,"a":[1]}')), status: 400, codes: ['invalid_metadata_value'] },

  // 0 and 10,001 rows
  { name: '0 users', request: json('{"users":[]}'), status: 400, codes: ['empty_users'] },
  { name: '0 companies', request: json('{"companies":[]}', '/v1/companies/bulk_identify'), status: 400, codes: ['empty_companies'] },
  { name: '10,001 users', request: json(tooMany), status: 413, codes: ['too_many_records'] },
  { name: '10,001 NDJSON lines', request: upload(tooManyLines), status: 413, codes: ['too_many_records'] },
  { name: 'an NDJSON file of blank lines only', request: upload('\n\n  \r\n'), status: 400, codes: ['empty_file'] },

  // Bodies just over the limit (MOCK_BODY_LIMIT 4096; exactly 4096 passes, below)
  { name: 'a body one byte over the limit', app: 'small', request: json(sized(SMALL_LIMIT + 1)), status: 413, codes: ['body_too_large'] },
  { name: 'a 1 MB body over a 4 KB limit', app: 'small', request: json(sized(1_000_000)), status: 413, codes: ['body_too_large'] },
  { name: 'malformed JSON over the limit: 413 before 400', app: 'small', request: json(`{"users":[${'x'.repeat(SMALL_LIMIT)}`), status: 413, codes: ['body_too_large'] },
  { name: 'a multipart NDJSON file over the limit', app: 'small', request: upload(users(400).map((row) => JSON.stringify(row)).join('\n')), status: 413, codes: ['file_too_large'] },

  // Missing and wrong content types
  { name: 'no Content-Type with a JSON body', request: typed(undefined, '{"users":[{"user_id":"u1"}]}'), status: 415, codes: ['unsupported_content_type'] },
  { name: 'text/plain', request: typed('text/plain', '{"users":[{"user_id":"u1"}]}'), status: 415, codes: ['unsupported_content_type'] },
  { name: 'application/x-www-form-urlencoded', request: typed('application/x-www-form-urlencoded', 'users=u1'), status: 415, codes: ['unsupported_content_type'] },
  { name: 'application/json-patch+json', request: typed('application/json-patch+json', '{"users":[{"user_id":"u1"}]}'), status: 415, codes: ['unsupported_content_type'] },
  { name: 'an empty Content-Type', request: typed('', '{"users":[{"user_id":"u1"}]}'), status: 415, codes: ['unsupported_content_type'] },
  { name: 'multipart/form-data without a boundary', request: typed('multipart/form-data', '{"users":[{"user_id":"u1"}]}'), status: 400, codes: ['malformed_multipart'] },
  { name: 'multipart/form-data with a JSON body', request: typed(MULTIPART, '{"users":[{"user_id":"u1"}]}'), status: 400, codes: ['malformed_multipart'] },
  { name: 'a control call with text/plain', request: typed('text/plain', '{"times":1}', '/__mock/faults'), status: 415, codes: ['unsupported_content_type'] },

  // Invalid and very long job ids
  { name: 'GET a 5,000-character job id', request: call('GET', `/v1/background_jobs/${longJobId}`), status: 414, codes: ['max_param_length'], echo: longJobId },
  { name: 'GET a 600-character job id', request: call('GET', `/v1/background_jobs/${'j'.repeat(600)}`), status: 400, codes: ['invalid_parameter'] },
  { name: 'GET ../../etc/passwd (normalized away: no such route)', request: call('GET', '/v1/background_jobs/../../etc/passwd'), status: 404, codes: ['route_not_found'] },
  { name: 'GET %2e%2e%2f%2e%2e%2fetc%2fpasswd', request: call('GET', '/v1/background_jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd'), status: 404, codes: ['job_not_found'] },
  { name: 'GET a job id of broken percent-encoding %E0%A4%A', request: call('GET', '/v1/background_jobs/%E0%A4%A'), status: 400, codes: ['bad_url'] },
  { name: 'GET a 1,000-character job id ending in broken percent-encoding', request: call('GET', `/v1/background_jobs/${'x'.repeat(1000)}%E0%A4%A`), status: 400, codes: ['bad_url'], echo: 'x'.repeat(1000) },
  { name: 'GET the job id __proto__', request: call('GET', '/v1/background_jobs/__proto__'), status: 404, codes: ['job_not_found'] },
  { name: 'advance a 5,000-character job id', request: call('POST', `/__mock/jobs/${longJobId}/advance`), status: 414, codes: ['max_param_length'], echo: longJobId },
  { name: 'fail the job ..%2F..%2Fetc%2Fpasswd', request: call('POST', '/__mock/jobs/..%2F..%2Fetc%2Fpasswd/fail'), status: 404, codes: ['job_not_found'] },
  { name: 'fail a job id of broken percent-encoding', request: call('POST', '/__mock/jobs/%E0%A4%A/fail'), status: 400, codes: ['bad_url'] },
  { name: 'advance the job id NUL', request: call('POST', '/__mock/jobs/%00/advance'), status: 404, codes: ['job_not_found'] },
  { name: 'advance the job id constructor', request: call('POST', '/__mock/jobs/constructor/advance'), status: 404, codes: ['job_not_found'] },
  { name: 'GET a 600-character control job id', request: call('GET', `/__mock/jobs/${'j'.repeat(600)}`), status: 400, codes: ['invalid_parameter'] },

  // Malformed control API input and fault rules
  { name: 'faults: malformed JSON', request: json('{"times":', '/__mock/faults'), status: 400, codes: ['malformed_json'] },
  { name: 'faults: an empty body', request: json('', '/__mock/faults'), status: 400, codes: ['empty_body'] },
  { name: 'faults: times 0', request: json('{"times":0}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: times -1', request: json('{"times":-1}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: times 1e9', request: json('{"times":1e9}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: times "x"', request: json('{"times":"x"}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: times 1.5', request: json('{"times":1.5}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: status 99', request: json('{"status":99}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: status 600', request: json('{"status":600}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: status "x"', request: json('{"status":"x"}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: delay_ms -1', request: json('{"delay_ms":-1}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: delay_ms 1e12', request: json('{"delay_ms":1e12}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: the body an array', request: json('[{"times":1}]', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: the body null', request: json('null', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: a header value with CRLF and Set-Cookie', request: json(JSON.stringify({ status: 429, headers: { 'x-note': 'x\r\nSet-Cookie: a=b' } }), '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: a header name with CRLF', request: json(JSON.stringify({ status: 429, headers: { 'x-a\r\nSet-Cookie': 'a=b' } }), '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: a 10,000-character unknown field', request: json(JSON.stringify({ times: 1, [longKey]: 1 }), '/__mock/faults'), status: 400, codes: ['invalid_body'], echo: longKey },
  { name: 'faults: a path not starting with /', request: json('{"match":{"path":"v1/users/bulk_identify"}}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: a method with CRLF', request: json(JSON.stringify({ match: { method: 'GET\r\n' } }), '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'faults: an unknown field', request: json('{"times":1,"exec":"rm -rf /"}', '/__mock/faults'), status: 400, codes: ['invalid_body'] },
  { name: 'advance: {"to": "nope"}', request: json('{"to":"nope"}', '/__mock/jobs/some-job/advance'), status: 400, codes: ['invalid_body'] },
  { name: 'fail: {"at": "completed"}', request: json('{"at":"completed"}', '/__mock/jobs/some-job/fail'), status: 400, codes: ['invalid_body'] },
  { name: 'advance: malformed JSON', request: json('{"to":', '/__mock/jobs/some-job/advance'), status: 400, codes: ['malformed_json'] },
  { name: 'advance: a bare string body', request: json('"completed"', '/__mock/jobs/some-job/advance'), status: 400, codes: ['invalid_body'] },
  { name: 'reset ?all=maybe', request: call('POST', '/__mock/reset?all=maybe'), status: 400, codes: ['invalid_parameter'] },
  { name: 'reset ?all=1&all=1', request: call('POST', '/__mock/reset?all=1&all=1'), status: 400, codes: ['invalid_parameter'] },
  { name: 'jobs ?limit=-1', request: call('GET', '/__mock/jobs?limit=-1'), status: 400, codes: ['invalid_parameter'] },
  { name: 'users ?limit=100000', request: call('GET', '/__mock/users?limit=100000'), status: 400, codes: ['invalid_parameter'] },
  { name: 'background_jobs ?offset=abc', request: call('GET', '/v1/background_jobs?offset=abc'), status: 400, codes: ['invalid_parameter'] },
  { name: 'requests ?limit=0&offset=-5', request: call('GET', '/__mock/requests?limit=0&offset=-5'), status: 400, codes: ['invalid_parameter', 'invalid_parameter'] },

  // Historical import files: the CSV and NDJSON readers (SPEC 1.13)
  { name: 'import CSV: a quoted cell never closed', request: importFile(importCsv(IMPORT_HEADER, `identify_user,"u1,backend-http,${IMPORT_TIME}`, 'more')), status: 400, codes: ['malformed_csv'] },
  { name: 'import CSV: a quote inside an unquoted cell', request: importFile(importCsv(IMPORT_HEADER, `identify_user,u"1,backend-http,${IMPORT_TIME}`)), status: 400, codes: ['malformed_csv'] },
  { name: 'import CSV: text after a closing quote', request: importFile(importCsv(IMPORT_HEADER, `identify_user,"u1"x,backend-http,${IMPORT_TIME}`)), status: 400, codes: ['malformed_csv'] },
  { name: 'import CSV: a quote left open over 2 MB', request: importFile(importCsv(IMPORT_HEADER, `identify_user,"u1,backend-http,${IMPORT_TIME}`, 'z'.repeat(2_000_000))), status: 400, codes: ['row_too_large'] },
  { name: 'import CSV: a 100,000-character cell', request: importFile(importCsv(IMPORT_HEADER, `identify_user,${'c'.repeat(100_000)},backend-http,${IMPORT_TIME}`)), status: 400, codes: ['cell_too_large'], echo: 'c'.repeat(100_000) },
  { name: 'import CSV: rows with more and fewer cells than the header', request: importFile(importCsv(IMPORT_HEADER, `identify_user,u1,backend-http,${IMPORT_TIME},extra`, 'identify_user,u2')), status: 400, codes: ['wrong_cell_count', 'wrong_cell_count'] },
  { name: 'import CSV: formula cells as the header', request: importFile(importCsv('=cmd|\' /C calc\'!A0,@SUM(1),+1,-1', 'a,b,c,d')), status: 400, codes: ['missing_column', 'missing_column', 'missing_column'] },
  { name: 'import CSV: a formula as event_type', request: importFile(importCsv(IMPORT_HEADER, `"=HYPERLINK(""http://evil.example"",""x"")",u1,backend-http,${IMPORT_TIME}`)), status: 400, codes: ['invalid_event_type'] },
  { name: 'import CSV: a right-to-left override and NUL in a cell', request: importFile(importCsv(IMPORT_HEADER, `\u202eidentify_user\u0000,u1,backend-http,${IMPORT_TIME}`)), status: 400, codes: ['invalid_event_type'] },
  { name: 'import CSV: invalid UTF-8 bytes in a cell', request: importFile(Buffer.concat([Buffer.from(`${IMPORT_HEADER}\nidentify_user`), Buffer.from([0xff, 0xc0]), Buffer.from(`,u1,backend-http,${IMPORT_TIME}\n`)])), status: 400, codes: ['invalid_event_type'] },
  { name: 'import CSV: both metadata forms in one header', request: importFile(importCsv(`${IMPORT_HEADER},metadata,metadata.plan`, `identify_user,u1,backend-http,${IMPORT_TIME},{},pro`)), status: 400, codes: ['mixed_metadata_columns'] },
  { name: 'import CSV: a column twice', request: importFile(importCsv(`${IMPORT_HEADER},user_id`, `identify_user,u1,backend-http,${IMPORT_TIME},u2`)), status: 400, codes: ['duplicate_column'] },
  { name: 'import CSV: a 10,000-character metadata column name', request: importFile(importCsv(`${IMPORT_HEADER},metadata.${longKey}`, `identify_user,u1,backend-http,${IMPORT_TIME},x`)), status: 400, codes: ['invalid_metadata_key'], echo: longKey },
  { name: 'import CSV: a metadata cell that is not JSON', request: importFile(importCsv(`${IMPORT_HEADER},metadata`, `identify_user,u1,backend-http,${IMPORT_TIME},{plan:pro}`)), status: 400, codes: ['invalid_metadata'] },
  { name: 'import CSV: a metadata cell nested 3,000 objects deep', request: importFile(importCsv(`${IMPORT_HEADER},metadata`, `identify_user,u1,backend-http,${IMPORT_TIME},"${nested(3000).replace(/"/g, '""')}"`)), status: 400, codes: ['invalid_metadata_value'] },
  { name: 'import CSV: bad timestamps', request: importFile(importCsv(IMPORT_HEADER, 'identify_user,u1,backend-http,2024-02-30T00:00:00Z', 'identify_user,u1,backend-http,2024-07-28T25:00:00Z', 'identify_user,u1,backend-http,1722156935874', 'identify_user,u1,backend-http,28/07/2024')), status: 400, codes: ['invalid_inserted_at', 'invalid_inserted_at', 'invalid_inserted_at', 'invalid_inserted_at'] },
  { name: 'import NDJSON: a wrong type at every field', request: importFile('{"event_type":"track","user_id":[],"event_name":7,"metadata":"x","source":{},"inserted_at":true}\n', 'rows.ndjson'), status: 400, codes: ['invalid_user_id', 'invalid_event_name', 'invalid_metadata', 'invalid_source', 'invalid_inserted_at'] },
  { name: 'import NDJSON: rows of the wrong type', request: importFile('[1]\nnull\n"row"\n', 'rows.ndjson'), status: 400, codes: ['invalid_row', 'invalid_row', 'invalid_row'] },
  { name: 'import NDJSON: an unparsable url', request: importFile(`{"event_type":"page_view","user_id":"u1","url":"http://[::1","source":"backend-http","inserted_at":"${IMPORT_TIME}"}\n`, 'rows.ndjson'), status: 400, codes: ['invalid_url'] },
  { name: 'import NDJSON: a line {"__proto__": {the row}}', request: importFile(`{"__proto__":{"event_type":"identify_user","user_id":"u1","source":"backend-http","inserted_at":"${IMPORT_TIME}"}}\n`, 'rows.ndjson'), status: 400, codes: ['missing_event_type', 'missing_source', 'missing_inserted_at'] },
  { name: 'import NDJSON: a 10,000-character malformed line', request: importFile(`{"event_type":"${longText}\n`, 'rows.ndjson'), status: 400, codes: ['malformed_json'], echo: longText },
  { name: 'import: a file of blank lines only', request: importFile('\n\r\n  \n', 'rows'), status: 400, codes: ['empty_file'] },
  { name: 'import: 100,001 rows', request: importFile(importCsv('event_type,source,inserted_at', ...Array.from({ length: 100_001 }, () => 'a,b,c'))), status: 413, codes: ['too_many_rows'] },
  { name: 'import: a JSON body', request: json('{"rows":[]}', '/v1/imports'), status: 415, codes: ['unsupported_content_type'] },
  { name: 'import: a file over the limit', app: 'small', request: importFile(importCsv(IMPORT_HEADER, ...Array.from({ length: 200 }, (_, i) => `identify_user,u${i},backend-http,${IMPORT_TIME}`))), status: 413, codes: ['file_too_large'] }
]

/** Asserts the answer to a hostile case: exact status and codes, the envelope, short and escaped. */
function expectRejected (t: Test, res: LightMyRequestResponse, c: Case): void {
  t.equal(res.statusCode, c.status, `status ${c.status}`)
  t.ok(res.statusCode >= 400 && res.statusCode < 500, 'a 4xx, never a 5xx')
  t.equal(res.headers['content-type'], JSON_UTF8, 'content-type')
  t.equal(res.headers['cache-control'], CACHE_CONTROL, 'cache-control')
  let body: unknown
  try {
    body = res.json()
  } catch {
    body = res.body
  }
  t.same([...Value.Errors(ErrorEnvelope, body)].map((error) => `${error.path}: ${error.message}`), [], 'an ErrorEnvelope')
  const entries = Value.Check(ErrorEnvelope, body) ? body.errors : []
  t.same(entries.map((entry) => entry.error_code), c.codes, 'the error codes')
  const unsafe = entries.filter((entry: ErrorEntry) => entry.message.length > 300 || entry.details.length > 200 || UNSAFE.test(entry.message) || UNSAFE.test(entry.details))
  t.same(unsafe, [], 'every message ≤ 300 and details ≤ 200 characters, no raw control characters, lone surrogates or bidi overrides')
  if (c.echo !== undefined) t.notOk(res.body.includes(c.echo.slice(0, 130)), 'the long input is quoted only in part')
  t.notMatch(res.body, /node_modules|\.ts:\d|at [\w.<>]+ \(/, 'no stack trace')
}

/** Nothing was stored or queued for the case's key, and the key still gets a 202. */
async function expectHealthy (t: Test, app: FastifyInstance, key: string): Promise<void> {
  for (const path of ['/__mock/jobs', '/__mock/users', '/__mock/companies', '/__mock/faults']) {
    const res = await app.inject({ method: 'GET', url: path, headers: auth(key) })
    t.equal(res.statusCode, 200, `GET ${path}`)
    t.same(res.json(), [], `${path}: nothing for this key`)
  }
  const followUp = await app.inject(json('{"users":[{"user_id":"after"}]}')(key))
  t.equal(followUp.statusCode, 202, 'a valid request of the same key is then accepted')
}

const protoNames = Object.getOwnPropertyNames(Object.prototype)

t.test('the catalogue holds at least 40 hostile inputs', async (t) => {
  t.ok(CASES.length >= 40, `${CASES.length} cases`)
  t.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'each name once')
})

t.test('hostile inputs: the right 4xx envelope, nothing stored, the server healthy', async (t) => {
  const apps: Record<AppName, FastifyInstance> = {
    default: (await testApp(t)).app,
    small: (await testApp(t, { MOCK_BODY_LIMIT: SMALL_LIMIT })).app
  }
  for (const [index, c] of CASES.entries()) {
    const key = `hostile-${index}`
    t.test(c.name, async (t) => {
      const app = apps[c.app ?? 'default']
      expectRejected(t, await app.inject(c.request(key)), c)
      await expectHealthy(t, app, key)
    })
  }
  t.test('afterwards: both apps answer health, and no object was polluted', async (t) => {
    for (const app of Object.values(apps)) {
      const res = await app.inject({ method: 'GET', url: '/__mock/health' })
      t.equal(res.statusCode, 200)
      t.equal(res.json<{ status: string }>().status, 'ok')
    }
    const plain: Record<string, unknown> = {}
    for (const name of ['polluted', 'users', 'companies', 'times', 'path', 'user_id', 'to', 'at']) t.equal(plain[name], undefined, `({}).${name}`)
    t.same(Object.getOwnPropertyNames(Object.prototype), protoNames, 'Object.prototype unchanged')
  })
})

t.test('hostile but valid inputs: accepted, stored as plain data', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })

  async function acceptAndFlush (t: Test, key: string, request: InjectOptions, status = 202): Promise<void> {
    const res = await app.inject(request)
    t.equal(res.statusCode, status, `status ${status}`)
    const flushed = await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth(key) })
    t.equal(flushed.statusCode, 200)
  }
  async function storedUsers (key: string): Promise<Array<{ user_id: string, company_id: string | null, metadata: Record<string, unknown> }>> {
    return (await app.inject({ method: 'GET', url: '/__mock/users', headers: auth(key) })).json()
  }

  t.test('__proto__ and constructor.prototype next to users at the top level are ignored', async (t) => {
    const key = 'accept-top'
    await acceptAndFlush(t, key, json('{"__proto__":{"polluted":true},"users":[{"user_id":"u1"}],"constructor":{"prototype":{"polluted":true}}}')(key))
    const [stored, ...more] = await storedUsers(key)
    t.same(more, [], 'one user')
    t.match(stored, { user_id: 'u1', company_id: null })
    t.same(stored?.metadata, {})
  })

  t.test('a row with __proto__ carrying company_id: the row has no company', async (t) => {
    const key = 'accept-row'
    await acceptAndFlush(t, key, json('{"users":[{"user_id":"u1","__proto__":{"company_id":"evil","metadata":{"a":1}}}]}')(key))
    const [stored] = await storedUsers(key)
    t.equal(stored?.company_id, null)
    t.same(stored?.metadata, {})
  })

  t.test('an NDJSON row with __proto__ carrying company_id: the row has no company', async (t) => {
    const key = 'accept-ndjson'
    await acceptAndFlush(t, key, upload('{"user_id":"u1","__proto__":{"company_id":"evil"}}\n')(key))
    const [stored] = await storedUsers(key)
    t.equal(stored?.user_id, 'u1')
    t.equal(stored?.company_id, null)
  })

  t.test('ids and metadata keys named __proto__, constructor, prototype are plain data', async (t) => {
    const key = 'accept-names'
    await acceptAndFlush(t, key, json('{"users":[{"user_id":"__proto__","company_id":"constructor","metadata":{"__proto__":"x","constructor":"y","prototype":"z"}}]}')(key))
    const res = await app.inject({ method: 'GET', url: '/__mock/users/__proto__', headers: auth(key) })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { user_id: '__proto__', company_id: 'constructor', metadata: { __proto__: 'x', constructor: 'y', prototype: 'z' } })
    t.same(Object.keys(res.json<{ metadata: object }>().metadata), ['__proto__', 'constructor', 'prototype'])
  })

  t.test('user ids with NUL, a lone surrogate, a right-to-left override, an escape: stored exactly', async (t) => {
    const key = 'accept-unicode'
    const ids = ['\u0000', '\ud800', '\u202eevil', '\u001b[2J', '\u200f']
    await acceptAndFlush(t, key, json(JSON.stringify({ users: ids.map((id) => ({ user_id: id })) }))(key))
    t.same((await storedUsers(key)).map((user) => user.user_id), ids)
    const nul = await app.inject({ method: 'GET', url: '/__mock/users/%00', headers: auth(key) })
    t.equal(nul.json<{ user_id: string }>().user_id, '\u0000', 'found by its percent-encoded id')
  })

  t.test('invalid UTF-8 bytes in an id: decoded as U+FFFD', async (t) => {
    const key = 'accept-utf8'
    const payload = Buffer.concat([Buffer.from('{"users":[{"user_id":"a'), Buffer.from([0xff, 0xc0, 0xaf]), Buffer.from('"}]}')])
    await acceptAndFlush(t, key, { ...json('')(key), payload })
    t.same((await storedUsers(key)).map((user) => user.user_id), ['a\ufffd\ufffd\ufffd'])
  })

  t.test('an import with formula cells and a __proto__ column: stored as the text sent', async (t) => {
    const key = 'accept-import'
    const cells = ['=cmd|\' /C calc\'!A0', '+1+1', '-2', '@SUM(A1)']
    const file = importCsv(`${IMPORT_HEADER},metadata.formula,__proto__`, ...cells.map((cell, i) => `identify_user,"=u${i}",backend-http,${IMPORT_TIME},"${cell}","{""polluted"":true}"`))
    await acceptAndFlush(t, key, importFile(file)(key), 200)
    t.same((await storedUsers(key)).map((user) => [user.user_id, user.metadata]), cells.map((cell, i) => [`=u${i}`, { formula: cell }]))
  })

  t.test('users twice: the last one wins', async (t) => {
    const key = 'accept-duplicate'
    await acceptAndFlush(t, key, json('{"users":"x","users":[{"user_id":"last"}]}')(key))
    t.same((await storedUsers(key)).map((user) => user.user_id), ['last'])
  })

  t.test('a fault rule with a header named __proto__: queued, and that header is never sent', async (t) => {
    const key = 'accept-fault-header'
    const queued = await app.inject(json('{"status":429,"headers":{"__proto__":"x","x-ok":"1"}}', '/__mock/faults')(key))
    t.equal(queued.statusCode, 201)
    const res = await app.inject(call('GET', '/v1/background_jobs')(key))
    t.equal(res.statusCode, 429)
    t.equal(res.headers['x-ok'], '1')
    t.notOk(Object.keys(res.headers).includes('__proto__'))
  })

  t.test('no object was polluted', async (t) => {
    const plain: Record<string, unknown> = {}
    t.equal(plain.polluted, undefined)
    t.equal(plain.company_id, undefined)
    t.same(Object.getOwnPropertyNames(Object.prototype), protoNames)
  })
})

t.test('a body of exactly MOCK_BODY_LIMIT bytes is accepted', async (t) => {
  const { app } = await testApp(t, { MOCK_BODY_LIMIT: SMALL_LIMIT })
  const payload = sized(SMALL_LIMIT)
  t.equal(Buffer.byteLength(payload), SMALL_LIMIT)
  const res = await app.inject(json(payload)('at-limit'))
  t.equal(res.statusCode, 202)
  t.equal(res.json<{ file_size: number }>().file_size, SMALL_LIMIT)
})

t.test('advance with {"__proto__": {"to": "completed"}}: 400, the job does not move', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const accepted = await app.inject(json('{"users":[{"user_id":"u1"}]}')('smuggle'))
  const jobId = accepted.json<{ job_id: string }>().job_id
  const res = await app.inject(json('{"__proto__":{"to":"completed"}}', `/__mock/jobs/${jobId}/advance`)('smuggle'))
  t.equal(res.statusCode, 400)
  const job = await app.inject(call('GET', `/__mock/jobs/${jobId}`)('smuggle'))
  t.equal(job.json<{ status: string }>().status, 'queued')
})

t.test('a fault body nested 2,000 deep: never a 5xx, when queued or when applied', async (t) => {
  const { app } = await testApp(t)
  const objects = await app.inject(json(`{"status":429,"body":${nested(2000)}}`, '/__mock/faults')('deep-objects'))
  t.ok(objects.statusCode < 500, `queued objects: ${objects.statusCode}`)
  const queued = await app.inject(json(`{"status":429,"body":${arrays(2000)}}`, '/__mock/faults')('deep-arrays'))
  t.ok(queued.statusCode < 500, `queued arrays: ${queued.statusCode}`)
  const applied = await app.inject(call('GET', '/v1/background_jobs')('deep-arrays'))
  t.ok(applied.statusCode < 500, `applied: ${applied.statusCode}`)
})
