// The inspector page's script: a plain browser ES module, served as is (no build step).
// It reads the control API with the key the user types in. Every value from the API
// reaches the page through textContent or an attribute, never as HTML.

/** The control API: this script lives at <base>/__mock/ui/app.js, so a path prefix in front of the mock still works. */
const API = new URL('../', import.meta.url)
const STORAGE = { key: 'userpilot-mock.key', admin: 'userpilot-mock.admin', all: 'userpilot-mock.all' }
const POLL_MS = 1000
const LIMITS = { jobs: 100, exports: 50, users: 200, companies: 200, events: 200, requests: 100 }
const TERMINAL = new Set(['completed', 'failed'])
/** What the jobs list calls each job type. */
const JOB_KINDS = { users: 'bulk users', companies: 'bulk companies', import: 'import' }

const $ = (id) => document.getElementById(id)

const state = {
  key: '',
  admin: '',
  all: false,
  connected: false,
  paused: false,
  timer: undefined,
  busy: false,
  /** A refresh asked for while one was running (after an action): run it right after. */
  again: false,
  /** Bumped on every (dis)connect, so that a late answer of an older scope is dropped. */
  generation: 0,
  users: [],
  companies: [],
  events: []
}

/** An error answer of the control API, with its first envelope entry. */
class ApiFailure extends Error {
  constructor (status, entry) {
    super(entry?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = entry?.error_code ?? 'http_error'
  }
}

// ---- Keys are shown masked, never in clear ----

/** `te…-1` for `test-key-1`: enough to tell keys apart, not enough to reuse one. */
function mask (key) {
  if (key.length <= 6) return '•'.repeat(4)
  return `${key.slice(0, 2)}…${key.slice(-2)}`
}

/** The key's id as the mock shows it (`NX-` + 8 hex of its SHA-256), when the browser allows WebCrypto here. */
async function keyIdOf (key) {
  if (globalThis.crypto?.subtle === undefined) return null
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  const hex = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
  return `NX-${hex.slice(0, 8)}`
}

// ---- The control API ----

function headers () {
  const result = {}
  if (state.key !== '') result.authorization = `Token ${state.key}`
  if (state.admin !== '') result['x-mock-admin'] = state.admin
  return result
}

async function api (method, path, query = {}) {
  const url = new URL(path, API)
  if (state.all) url.searchParams.set('all', '1')
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value))
  const response = await fetch(url, { method, headers: headers(), cache: 'no-store' })
  const text = await response.text()
  let body = null
  try {
    body = text === '' ? null : JSON.parse(text)
  } catch {
    body = null
  }
  if (!response.ok) throw new ApiFailure(response.status, body?.errors?.[0])
  return body
}

// ---- Small DOM helpers ----

function el (tag, props = {}, children = []) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (name === 'text') node.textContent = value
    else if (name === 'className') node.className = value
    else node.setAttribute(name, value)
  }
  for (const child of children) node.append(child)
  return node
}

/** Sets text only when it changed, so screen readers and selections are left alone. */
function setText (node, text) {
  if (node.textContent !== text) node.textContent = text
}

function pad (n, width = 2) {
  return String(n).padStart(width, '0')
}

/** Local wall time with milliseconds; the ISO time goes in the title. */
function clockTime (iso) {
  const date = new Date(iso)
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}

function timeCell (node, iso) {
  setText(node, clockTime(iso))
  node.title = iso
}

/**
 * Updates a table in place, one row per item by key: rows that stay keep
 * their elements, so focus, open <details> and button state survive a refresh.
 * Without `update`, rows are made once (their items never change).
 */
function syncRows (table, items, keyOf, create, update) {
  const body = table.tBodies[0]
  const stale = new Map([...body.rows].map((row) => [row.dataset.key, row]))
  const seen = new Map()
  items.forEach((item, index) => {
    // Two items with one key (e.g. events of requests that sent the same x-request-id) still get a row each.
    const base = keyOf(item)
    const repeat = seen.get(base) ?? 0
    seen.set(base, repeat + 1)
    const key = repeat === 0 ? base : `${base}#${repeat}`
    let row = stale.get(key)
    stale.delete(key)
    const signature = JSON.stringify(item)
    // A made-once row whose key now names another item (a repeated key moved down) is made anew.
    if (row === undefined || (update === undefined && row.dataset.signature !== signature)) {
      row?.remove()
      row = create(item)
      row.dataset.key = key
    }
    // Unchanged items keep their cells untouched: a text selection survives the refresh.
    if (row.dataset.signature !== signature) {
      update?.(row, item)
      row.dataset.signature = signature
    }
    if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] ?? null)
  })
  for (const row of stale.values()) row.remove()
}

function plural (n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`
}

function showCount (name, shown, total, limit) {
  setText($(`${name}-count`), total >= limit ? `(${shown} of the first ${limit})` : `(${shown === total ? total : `${shown} of ${total}`})`)
  $(`${name}-empty`).hidden = shown > 0
  $(name).hidden = shown === 0
}

function metadataList (metadata) {
  const entries = Object.entries(metadata)
  if (entries.length === 0) return el('span', { className: 'muted', text: 'none' })
  return el('ul', { className: 'meta' }, entries.map(([name, value]) => el('li', {}, [
    el('span', { className: 'meta-key', text: name }), ' ', el('span', { className: 'meta-value', text: JSON.stringify(value) })
  ])))
}

function withKeyId (main, keyId, shown = main) {
  const cell = el('td')
  cell.append(el('code', { className: 'id', title: main, text: shown }))
  if (state.all) cell.append(el('span', { className: 'key-id', text: keyId }))
  return cell
}

// ---- Jobs ----

function createJobRow (job) {
  const label = job.job_id.split(':').at(-1)
  const progress = el('progress', { 'aria-label': `Progress of job ${label}` })
  const kind = el('span', { className: 'kind', 'data-type': job.type, text: JOB_KINDS[job.type] ?? job.type })
  const history = el('details', {}, [el('summary'), el('ol', { className: 'history' })])
  const advance = el('button', { type: 'button', 'data-action': 'advance', 'aria-label': `Advance job ${label}`, text: 'Advance' })
  const fail = el('button', { type: 'button', 'data-action': 'fail', className: 'danger', 'aria-label': `Fail job ${label}`, text: 'Fail' })
  // The id's `bulk:jobs:<key id>:` (or `import:jobs:…`) prefix says nothing the row does not: the uuid is shown, the whole id is the title.
  const id = withKeyId(job.job_id, job.key_id, label)
  id.dataset.label = 'Job'
  return el('tr', {}, [
    id,
    el('td', { 'data-label': 'Type' }, [kind, el('span', { className: 'filename', hidden: '' })]),
    el('td', { 'data-label': 'Status' }, [el('span', { className: 'badge' })]),
    el('td', { 'data-label': 'Progress' }, [progress, el('span', { className: 'progress-text' })]),
    el('td', { 'data-label': 'Submitted' }),
    el('td', { 'data-label': 'History' }, [history]),
    el('td', { 'data-label': 'Actions' }, [el('div', { className: 'buttons' }, [advance, fail])])
  ])
}

function updateJobRow (row, job) {
  const [, typeCell, statusCell, progressCell, submittedCell, historyCell, actionsCell] = row.cells
  // An import is known by the file it came from; a bulk job's file name is made up by the mock, so it is left out.
  const filename = typeCell.querySelector('.filename')
  filename.hidden = job.type !== 'import'
  setText(filename, job.type === 'import' ? job.filename : '')
  filename.title = job.type === 'import' ? `${job.filename}, ${formatBytes(job.file_size)}` : ''
  const badge = statusCell.firstElementChild
  setText(badge, job.status)
  badge.dataset.status = job.status
  row.dataset.status = job.status
  const progress = progressCell.querySelector('progress')
  const percent = job.total_rows === 0 ? 100 : Math.floor(job.completed_rows * 100 / job.total_rows)
  progress.max = Math.max(job.total_rows, 1)
  progress.value = job.total_rows === 0 ? 1 : job.completed_rows
  setText(progressCell.querySelector('.progress-text'), `${job.completed_rows} / ${job.total_rows} · ${percent}%`)
  timeCell(submittedCell, job.submitted_at)
  const list = historyCell.querySelector('ol')
  setText(historyCell.querySelector('summary'), `${plural(job.history.length, 'change')}${job.fail_at === null ? '' : ` · fails at ${job.fail_at}`}`)
  if (list.children.length !== job.history.length) {
    const start = Date.parse(job.submitted_at)
    list.replaceChildren(...job.history.map((change) => el('li', {}, [
      el('span', { className: 'badge', 'data-status': change.status, text: change.status }),
      ` ${clockTime(change.at)} (+${Date.parse(change.at) - start} ms)`
    ])))
  }
  for (const button of actionsCell.querySelectorAll('button')) {
    button.dataset.job = job.job_id
    button.disabled = TERMINAL.has(job.status)
  }
}

function renderJobs (jobs) {
  syncRows($('jobs'), jobs, (job) => job.job_id, createJobRow, updateJobRow)
  showCount('jobs', jobs.length, jobs.length, LIMITS.jobs)
}

// ---- Exports: live status, filters in short, a download link per written file ----

/** `1.2 kB`: file sizes as people read them (1 kB = 1000 bytes, as browsers show downloads). */
function formatBytes (bytes) {
  if (bytes < 1000) return plural(bytes, 'byte')
  const units = ['kB', 'MB', 'GB']
  let value = bytes / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** `2025-05-20 10:00:00 UTC`: filter bounds are instants the client sent, shown in UTC; the exact ISO time is the title. */
function utcSecond (iso) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`
}

/** The first few ids of a filter list, and how many more; the whole list is the title. */
function someIds (ids, shown = 3) {
  const head = ids.slice(0, shown).join(', ')
  return ids.length > shown ? `${head} +${ids.length - shown} more` : head
}

/** An export's filters in short, one line each; no filter: every kept event. */
function filterList (filters) {
  const lines = []
  if (filters.from !== null) lines.push(['from', utcSecond(filters.from), filters.from])
  if (filters.to !== null) lines.push(['to', utcSecond(filters.to), filters.to])
  for (const [field, name] of [['event_type', 'types'], ['user_id', 'users'], ['company_id', 'companies']]) {
    const ids = filters[field]
    if (ids !== null) lines.push([name, someIds(ids), ids.join(', ')])
  }
  if (lines.length === 0) return el('span', { className: 'muted', text: 'all events' })
  return el('ul', { className: 'meta' }, lines.map(([name, value, title]) => el('li', { title }, [
    el('span', { className: 'meta-key', text: name }), ' ', el('span', { className: 'meta-value', text: value })
  ])))
}

/** One link per written file: the browser downloads it (the signed link needs no key); when it expires is in the title. */
function fileList (chunks) {
  if (chunks.length === 0) return el('span', { className: 'muted', text: 'none yet' })
  return el('ul', { className: 'files' }, chunks.map((chunk) => {
    const expires = Number(new URL(chunk.url).searchParams.get('expires'))
    const link = el('a', { href: chunk.url, download: chunk.filename, className: 'id', text: chunk.filename })
    if (Number.isFinite(expires) && expires > 0) link.title = `Signed link, works until ${new Date(expires).toISOString()}`
    return el('li', {}, [link, el('span', { className: 'file-size', text: `${formatBytes(chunk.bytes)} · ${plural(chunk.events, 'event')}` })])
  }))
}

function createExportRow (job) {
  const label = job.job_id
  const progress = el('progress', { max: '100', 'aria-label': `Progress of export ${label}` })
  const advance = el('button', { type: 'button', 'data-action': 'advance', 'aria-label': `Advance export ${label}`, text: 'Advance' })
  const fail = el('button', { type: 'button', 'data-action': 'fail', className: 'danger', 'aria-label': `Fail export ${label}`, text: 'Fail' })
  const id = withKeyId(job.job_id, job.key_id)
  id.dataset.label = 'Export'
  return el('tr', {}, [
    id,
    el('td', { 'data-label': 'Format' }, [el('code', { className: 'format', text: job.format })]),
    el('td', { 'data-label': 'Status' }, [el('span', { className: 'badge' }), el('span', { className: 'fail-at', hidden: '' })]),
    el('td', { 'data-label': 'Progress' }, [progress, el('span', { className: 'progress-text' })]),
    el('td', { 'data-label': 'Filters' }, [filterList(job.filters)]),
    el('td', { 'data-label': 'Created' }),
    el('td', { 'data-label': 'Files' }),
    el('td', { 'data-label': 'Actions' }, [el('div', { className: 'buttons' }, [advance, fail])])
  ])
}

function updateExportRow (row, job) {
  const [, , statusCell, progressCell, , createdCell, filesCell, actionsCell] = row.cells
  const badge = statusCell.querySelector('.badge')
  setText(badge, job.status)
  badge.dataset.status = job.status
  row.dataset.status = job.status
  const failAt = statusCell.querySelector('.fail-at')
  failAt.hidden = job.fail_at === null
  setText(failAt, job.fail_at === null ? '' : `fails at ${job.fail_at}`)
  progressCell.querySelector('progress').value = job.progress
  setText(progressCell.querySelector('.progress-text'), `${job.progress}% · ${plural(job.chunks.length, 'file')}`)
  timeCell(createdCell, job.created_at)
  createdCell.title = job.end_time === null ? job.created_at : `${job.created_at}, ended ${job.end_time}`
  // Files are only ever added: the list is made anew when one is, so a focused link stays put between files.
  const files = job.chunks.map((chunk) => chunk.filename).join('\n')
  if (filesCell.dataset.files !== files) {
    filesCell.replaceChildren(fileList(job.chunks))
    filesCell.dataset.files = files
  }
  for (const button of actionsCell.querySelectorAll('button')) {
    button.dataset.export = job.job_id
    button.disabled = TERMINAL.has(job.status)
  }
}

function renderExports (jobs) {
  // Export ids are uuids of one key; with ?all=1 the key id keeps two keys' rows apart all the same.
  syncRows($('exports'), jobs, (job) => `${job.key_id}/${job.job_id}`, createExportRow, updateExportRow)
  showCount('exports', jobs.length, jobs.length, LIMITS.exports)
}

// ---- Users and companies, searched on the page ----

function matches (query, ...fields) {
  if (query === '') return true
  return fields.some((field) => field !== null && field.toLowerCase().includes(query))
}

/** Searchable text of metadata; nested values (from real-time calls) as JSON, not `[object Object]`. */
function metadataText (metadata) {
  return Object.entries(metadata).map(([name, value]) => `${name}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : value}`).join(' ')
}

/** `2025-05-20 02:00 UTC`: deletions run at 02:00 UTC, so the time is shown in UTC, with its date. */
function utcMinute (iso) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

/** A profile row: its id (with the pending deletion under it), two cells of the caller's, and when and by what it last changed. */
function createProfileRow (id, keyId) {
  const idCell = withKeyId(id, keyId)
  idCell.append(el('span', { className: 'badge deletion', hidden: '' }))
  return el('tr', {}, [idCell, el('td'), el('td'), el('td', {}, [el('span', { className: 'time' }), el('span', { className: 'touched' })])])
}

/** What users and companies both show: a scheduled deletion, and what touched the profile last. */
function updateTrail (row, profile) {
  const deletion = row.cells[0].querySelector('.deletion')
  deletion.hidden = profile.deletion_scheduled_at === null
  setText(deletion, profile.deletion_scheduled_at === null ? '' : `deletion at ${utcMinute(profile.deletion_scheduled_at)}`)
  deletion.title = profile.deletion_scheduled_at ?? ''
  const updated = row.cells[3]
  timeCell(updated.querySelector('.time'), profile.updated_at)
  const { type, id } = profile.last_touched_by
  // A job's id is long and its prefix says nothing: the start of its uuid, as in the jobs list; the whole id is the title.
  const shown = type === 'job' ? `${id.split(':').at(-1).slice(0, 8)}…` : id
  updated.querySelector('.touched').replaceChildren(`by ${type} `, el('span', { className: 'id', title: id, text: shown }))
}

function renderUsers () {
  const query = $('user-search').value.trim().toLowerCase()
  const shown = state.users.filter((user) => matches(query, user.user_id, user.company_id, metadataText(user.metadata)))
  syncRows($('users'), shown, (user) => `${user.key_id}/${user.user_id}`, (user) => createProfileRow(user.user_id, user.key_id), (row, user) => {
    const [, company, metadata] = row.cells
    setText(company, user.company_id ?? '—')
    metadata.replaceChildren(metadataList(user.metadata))
    updateTrail(row, user)
    labelCells(row, ['User', 'Company', 'Metadata', 'Updated'])
  })
  showCount('users', shown.length, state.users.length, LIMITS.users)
}

function renderCompanies () {
  const query = $('company-search').value.trim().toLowerCase()
  const shown = state.companies.filter((company) => matches(query, company.company_id, metadataText(company.metadata)))
  syncRows($('companies'), shown, (company) => `${company.key_id}/${company.company_id}`, (company) => createProfileRow(company.company_id, company.key_id), (row, company) => {
    const [, count, metadata] = row.cells
    setText(count, String(company.user_count))
    metadata.replaceChildren(metadataList(company.metadata))
    updateTrail(row, company)
    labelCells(row, ['Company', 'Users', 'Metadata', 'Updated'])
  })
  showCount('companies', shown.length, state.companies.length, LIMITS.companies)
}

/** The column names the narrow (card) layout shows before each cell. */
function labelCells (row, labels) {
  labels.forEach((label, index) => { row.cells[index].dataset.label = label })
}

// ---- Request journal ----

function prettyBody (body) {
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}

function createJournalRow (entry) {
  const headerLines = Object.entries(entry.headers).map(([name, value]) => `${name}: ${value}`).join('\n')
  const size = `${entry.body_bytes} bytes${entry.body_truncated ? ', truncated' : ''}`
  const warned = entry.warnings.length > 0
  const details = el('details', {}, [
    el('summary', { text: `Show (${size}${warned ? `, ${plural(entry.warnings.length, 'warning')}` : ''})` }),
    ...(warned ? [warningList(entry.warnings)] : []),
    el('p', { className: 'request-id' }, ['Request id ', el('span', { className: 'id', text: entry.request_id })]),
    el('pre', { text: `${headerLines}\n\n${entry.body === null ? '(no body)' : prettyBody(entry.body)}` })
  ])
  const statusClass = `http http-${String(entry.status)[0]}xx`
  const row = el('tr', {}, [
    el('td', { 'data-label': 'Time', title: entry.time, text: clockTime(entry.time) }),
    el('td', { 'data-label': 'Method', text: entry.method }),
    el('td', { 'data-label': 'Path' }, [el('code', { className: 'id', text: entry.path }), ...(state.all && entry.key_id !== null ? [el('span', { className: 'key-id', text: entry.key_id })] : [])]),
    el('td', { 'data-label': 'Status' }, [el('span', { className: statusClass, text: String(entry.status) })]),
    el('td', { 'data-label': 'Duration', text: `${entry.duration_ms.toFixed(1)} ms` }),
    warningCell(entry.warnings),
    el('td', { 'data-label': 'Body' }, [details])
  ])
  if (warned) row.dataset.warnings = String(entry.warnings.length)
  return row
}

/** The marker of a request that strayed from the docs: how many warnings, and their codes. */
function warningCell (warnings) {
  if (warnings.length === 0) return el('td', { 'data-label': 'Warnings', className: 'no-warnings' }, [el('span', { className: 'muted', text: '—' })])
  const codes = [...new Set(warnings.map((warning) => warning.code))].join(', ')
  return el('td', { 'data-label': 'Warnings' }, [
    el('span', { className: 'badge', 'data-status': 'warning', text: plural(warnings.length, 'warning') }),
    el('span', { className: 'codes', text: codes })
  ])
}

function warningList (warnings) {
  return el('ul', { className: 'warnings', 'aria-label': 'Warnings' }, warnings.map((warning) => el('li', {}, [
    el('code', { className: 'warning-code', text: warning.code }), ' ',
    el('span', { className: 'warning-message', text: warning.message }),
    ...(warning.path === undefined ? [] : [' ', el('span', { className: 'warning-path', text: `at ${warning.path}` })])
  ])))
}

function renderJournal (entries) {
  // Entries never change once journaled: rows are made once and only reordered.
  syncRows($('journal'), entries, (entry) => String(entry.id), createJournalRow)
  showCount('journal', entries.length, entries.length, LIMITS.requests)
  setText($('journal-empty'), $('journal-warnings').checked ? 'No requests with warnings.' : 'No requests.')
}

// ---- Events: filtered by type on the server (so the limit counts that type), searched on the page ----

/** An event's user or company: identify_company events have no user, events of users without a company none. */
function idOrDash (id) {
  return id === null ? el('span', { className: 'muted', text: '—' }) : el('code', { className: 'id', text: id })
}

function createEventRow (event) {
  const count = Object.keys(event.metadata).length
  const details = el('details', {}, [
    el('summary', { text: `Show (${plural(count, 'property', 'properties')})` }),
    metadataList(event.metadata),
    el('p', { className: 'request-id' }, [`${event.source}, request id `, el('span', { className: 'id', text: event.request_id })])
  ])
  const user = el('td', { 'data-label': 'User' }, [idOrDash(event.user_id)])
  if (state.all) user.append(el('span', { className: 'key-id', text: event.key_id }))
  return el('tr', {}, [
    el('td', { 'data-label': 'Time', title: event.inserted_at, text: clockTime(event.inserted_at) }),
    el('td', { 'data-label': 'Type' }, [el('span', { className: 'badge', 'data-type': event.event_type, text: event.event_type })]),
    el('td', { 'data-label': 'Event' }, [event.event_name === '' ? el('span', { className: 'muted', text: '—' }) : el('span', { className: 'event-name', text: event.event_name })]),
    user,
    el('td', { 'data-label': 'Company' }, [idOrDash(event.company_id)]),
    el('td', { 'data-label': 'Metadata' }, [details])
  ])
}

function renderEvents () {
  const query = $('event-search').value.trim().toLowerCase()
  const shown = state.events.filter((event) => matches(query, event.user_id, event.company_id, event.event_name))
  // Events never change once kept, like journal entries.
  syncRows($('events'), shown, (event) => `${event.key_id}/${event.request_id}/${event.event_type}`, createEventRow)
  showCount('events', shown.length, state.events.length, LIMITS.events)
  const filtered = query !== '' || $('event-type').value !== ''
  setText($('events-empty'), filtered ? 'No events match the filter.' : 'No events. Identify, company identify and track calls, and imported rows, show up here.')
}

/** The query of the events list: the type filter is the server's. */
function eventsQuery () {
  const type = $('event-type').value
  return type === '' ? { limit: LIMITS.events } : { limit: LIMITS.events, event_type: type }
}

function requestsQuery () {
  return $('journal-warnings').checked ? { limit: LIMITS.requests, warnings: 'true' } : { limit: LIMITS.requests }
}

// ---- Live state, messages, access ----

function setLive (mode, text) {
  $('live').dataset.state = mode
  setText($('live-text'), text)
}

function showMessage (text, kind = 'error') {
  const message = $('message')
  message.dataset.kind = kind
  setText(message, text)
  message.hidden = text === ''
}

function setControls (enabled) {
  for (const id of ['flush', 'reset', 'pause']) $(id).disabled = !enabled
  if (!enabled) $('reset-confirm').hidden = true
}

function clearData () {
  state.users = []
  state.companies = []
  state.events = []
  renderJobs([])
  renderExports([])
  renderUsers()
  renderCompanies()
  renderEvents()
  renderJournal([])
}

function stopPolling () {
  clearTimeout(state.timer)
  state.timer = undefined
}

function schedule () {
  stopPolling()
  if (state.connected && !state.paused) state.timer = setTimeout(refresh, POLL_MS)
}

/** A refused key or token: stop, say why, and ask again. */
function refuse (failure) {
  state.connected = false
  state.generation++
  stopPolling()
  setControls(false)
  setLive('error', 'Access refused')
  const field = failure.code.includes('admin') ? 'admin' : 'key'
  showMessage(`${failure.message} Enter the ${field === 'admin' ? 'admin token' : 'API key'} again and press Connect.`)
  $(field).focus()
}

async function refresh () {
  if (!state.connected) return
  if (state.busy) {
    state.again = true
    return
  }
  state.busy = true
  state.again = false
  const generation = state.generation
  try {
    const [jobs, exports, users, companies, events, requests] = await Promise.all([
      api('GET', 'jobs', { limit: LIMITS.jobs }),
      api('GET', 'exports', { limit: LIMITS.exports }),
      api('GET', 'users', { limit: LIMITS.users }),
      api('GET', 'companies', { limit: LIMITS.companies }),
      api('GET', 'events', eventsQuery()),
      api('GET', 'requests', requestsQuery())
    ])
    if (generation !== state.generation) return
    state.users = users
    state.companies = companies
    state.events = events
    renderJobs(jobs)
    renderExports(exports)
    renderUsers()
    renderCompanies()
    renderEvents()
    renderJournal(requests)
    if (!state.paused) setLive('live', `Live · updated ${clockTime(new Date().toISOString()).slice(0, 8)}`)
    if ($('message').dataset.kind === 'offline') showMessage('')
  } catch (error) {
    if (generation !== state.generation) return
    if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) return refuse(error)
    setLive('error', 'Mock unreachable, retrying')
    showMessage(`Could not read the control API: ${error.message}`, 'offline')
  } finally {
    state.busy = false
    if (state.again) refresh()
    else if (generation === state.generation) schedule()
  }
}

/** A filter the server applies changed: drop an answer under way (it used the old one) and ask again at once. */
function requery () {
  if (!state.connected) return
  state.generation++
  refresh()
}

async function describeScope () {
  const parts = []
  if (state.all) parts.push('All keys')
  if (state.key !== '') {
    const id = await keyIdOf(state.key)
    parts.push(`${state.all ? 'sent with key' : 'Key'} ${mask(state.key)}${id === null ? '' : ` (${id})`}`)
  }
  if (state.admin !== '') parts.push('admin token set')
  setText($('scope'), parts.join(' · '))
}

async function connect () {
  state.key = $('key').value.trim()
  state.admin = $('admin').value.trim()
  state.all = $('all').checked
  if (!state.all && state.key === '') {
    showMessage('Enter an API key, or tick "All keys".')
    $('key').focus()
    return
  }
  sessionStorage.setItem(STORAGE.key, state.key)
  sessionStorage.setItem(STORAGE.admin, state.admin)
  sessionStorage.setItem(STORAGE.all, state.all ? '1' : '')
  state.generation++
  state.connected = true
  state.paused = false
  syncPause()
  showMessage('')
  setControls(true)
  clearData()
  setLive('connecting', 'Connecting…')
  setText($('reset-question'), `Forget the users, companies, scheduled deletions, jobs (bulk, import and export, with their files), events, lookups, journal and faults of ${state.all ? 'EVERY key' : 'this key'}?`)
  await describeScope()
  stopPolling()
  await refresh()
}

function forget () {
  for (const name of Object.values(STORAGE)) sessionStorage.removeItem(name)
  state.generation++
  state.connected = false
  state.key = ''
  state.admin = ''
  state.all = false
  $('key').value = ''
  $('admin').value = ''
  $('all').checked = false
  stopPolling()
  setControls(false)
  clearData()
  showMessage('')
  setLive('idle', 'Not connected')
  setText($('scope'), 'No key yet. The key and token stay in this tab only (session storage).')
  $('key').focus()
}

function syncPause () {
  $('pause').setAttribute('aria-pressed', String(state.paused))
  setText($('pause'), state.paused ? 'Resume' : 'Pause')
}

/** What a flush did: the jobs it ended (bulk, import and export alike), and the profiles whose scheduled deletion it carried out. */
function flushMessage (result) {
  const { users, companies } = result.deleted
  const deleted = users + companies === 0 ? '' : ` Deleted ${plural(users, 'user')} and ${plural(companies, 'company', 'companies')}.`
  return `Flushed ${plural(result.finished, 'job')}.${deleted}`
}

/** Runs a control action, reports a refusal, then refreshes at once. */
async function act (run, done) {
  try {
    const result = await run()
    if (done !== undefined) showMessage(done(result), 'info')
  } catch (error) {
    if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) return refuse(error)
    showMessage(error.message)
  }
  await refresh()
}

function wire () {
  $('access-form').addEventListener('submit', (event) => {
    event.preventDefault()
    connect()
  })
  $('forget').addEventListener('click', forget)
  $('pause').addEventListener('click', () => {
    state.paused = !state.paused
    syncPause()
    if (state.paused) {
      stopPolling()
      setLive('paused', 'Paused')
    } else {
      refresh()
    }
  })
  $('flush').addEventListener('click', () => act(() => api('POST', 'clock/flush'), flushMessage))
  $('reset').addEventListener('click', () => {
    $('reset-confirm').hidden = false
    $('reset-no').focus()
  })
  $('reset-no').addEventListener('click', () => {
    $('reset-confirm').hidden = true
    $('reset').focus()
  })
  $('reset-yes').addEventListener('click', async () => {
    $('reset-confirm').hidden = true
    $('reset').focus()
    await act(() => api('POST', 'reset'), (result) => result.reset === 'all' ? 'Every key was reset.' : 'This key was reset.')
  })
  $('jobs').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]')
    if (button === null || button.dataset.job === undefined) return
    const { action, job } = button.dataset
    act(() => api('POST', `jobs/${encodeURIComponent(job)}/${action}`), (result) => `Job ${result.job_id.split(':').at(-1)} is ${result.status}.`)
  })
  $('exports').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]')
    if (button === null || button.dataset.export === undefined) return
    const { action, export: job } = button.dataset
    act(() => api('POST', `exports/${encodeURIComponent(job)}/${action}`), (result) => `Export ${result.job_id} is ${result.status}${result.status === 'processing' ? ` (${plural(result.chunks.length, 'file')} written)` : ''}.`)
  })
  $('user-search').addEventListener('input', renderUsers)
  $('company-search').addEventListener('input', renderCompanies)
  $('event-search').addEventListener('input', renderEvents)
  $('event-type').addEventListener('change', requery)
  $('journal-warnings').addEventListener('change', requery)
}

function start () {
  wire()
  for (const node of [$('main'), $('live'), $('pause'), document.querySelector('.skip')]) node.hidden = false
  clearData()
  const key = sessionStorage.getItem(STORAGE.key)
  if (key === null) {
    $('key').focus()
    return
  }
  $('key').value = key
  $('admin').value = sessionStorage.getItem(STORAGE.admin) ?? ''
  $('all').checked = sessionStorage.getItem(STORAGE.all) === '1'
  connect()
}

start()
