// Checks the Dockerfile without a Docker engine: reproduces its stages in temporary
// directories and runs the result the way the image would.
//
//   build stage: its COPY lines (from the build context, honouring .dockerignore)
//                and its RUN lines, in a directory standing for the stage's filesystem;
//   final stage: its COPY --from lines into a second directory, as the image would
//                hold them, then its CMD with the image's ENV (PORT set to a free port),
//                as the image's USER when this runs as root;
//   then:        the HEALTHCHECK's CMD until it exits 0 (bounded), one bulk identify
//                request (202 expected), SIGTERM (exit 0 expected), clean-up.
//
// A wrong path in COPY or CMD, a runtime dependency left in devDependencies (pruned
// away, so the server cannot start), a file the image's user cannot read, or a server
// that does not stop cleanly make it exit 1 with one line saying what. What it cannot
// reproduce: the base image itself (the Node.js running this script stands in for
// the image's), and any instruction other than FROM, WORKDIR, COPY, RUN, ENV, USER,
// EXPOSE, LABEL, HEALTHCHECK and CMD (it stops and says so).
//
//   node .ci/docker-check.mjs [--dockerfile Dockerfile] [--context .]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'

const started = Date.now()
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`
const { values: args } = parseArgs({ options: { dockerfile: { type: 'string' }, context: { type: 'string' } } })
const context = path.resolve(args.context ?? path.join(import.meta.dirname, '..'))
const dockerfilePath = path.resolve(args.dockerfile ?? path.join(context, 'Dockerfile'))

class CheckError extends Error {}
const fail = (message) => { throw new CheckError(message) }

// ---------------------------------------------------------------- parsing

/** Instructions of a Dockerfile: continuation lines joined, comments and parser directives dropped. */
function parseDockerfile (text) {
  const instructions = []
  let pending = ''
  let startLine = 0
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, index) => {
    if (pending === '' && /^\s*$/.test(raw)) return
    if (/^\s*#/.test(raw)) return // comments (and directives) are dropped, also inside continuations
    if (pending === '') startLine = index + 1
    const continued = /\\\s*$/.test(raw)
    pending += (continued ? raw.replace(/\\\s*$/, '') : raw) + (continued ? ' ' : '')
    if (!continued || index === lines.length - 1) {
      const match = /^\s*(\S+)\s*(.*)$/.exec(pending)
      instructions.push({ line: startLine, keyword: match[1].toUpperCase(), rest: match[2].trim() })
      pending = ''
    }
  })
  return instructions
}

/** Leading `--name=value` flags of an instruction, and what follows them. */
function takeFlags (rest) {
  const flags = {}
  let remaining = rest
  for (let match; (match = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(remaining)) !== null;) {
    flags[match[1]] = match[2] ?? true
    remaining = remaining.slice(match[0].length)
  }
  return { flags, remaining }
}

/** The exec (JSON array) form, or null for the shell form. */
function execForm (text, where) {
  if (!text.startsWith('[')) return null
  let value
  try { value = JSON.parse(text) } catch (error) { fail(`${where}: not a valid JSON array (${error.message})`) }
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string')) fail(`${where}: the JSON form needs a non-empty array of strings`)
  return value
}

/** Words of a shell-like line: whitespace separated, with "double" and 'single' quotes. */
function words (text) {
  const result = []
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|((?:[^\s"'\\]|\\.)+)/g
  let word = null
  let last = 0
  for (let match; (match = pattern.exec(text)) !== null;) {
    if (word !== null && /\s/.test(text.slice(last, match.index))) { result.push(word); word = null }
    const piece = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2] ?? match[3].replace(/\\(.)/g, '$1')
    word = (word ?? '') + piece
    last = pattern.lastIndex
  }
  if (word !== null) result.push(word)
  return result
}

/** `ENV A=1 B="two words"`, or the legacy `ENV A value with spaces`. */
function parseEnv (rest, where) {
  const parts = words(rest)
  if (parts.length === 0) fail(`${where}: ENV without a variable`)
  if (!parts[0].includes('=')) {
    const [name, ...value] = rest.split(/\s+/)
    return { [name]: value.join(' ') }
  }
  const env = {}
  for (const part of parts) {
    const at = part.indexOf('=')
    if (at < 1) fail(`${where}: cannot read ${JSON.stringify(part)}`)
    env[part.slice(0, at)] = part.slice(at + 1)
  }
  return env
}

/** Stages with what this check needs of each. */
function readStages (instructions) {
  const stages = []
  let stage = null
  for (const { line, keyword, rest } of instructions) {
    const where = `Dockerfile line ${line} (${keyword})`
    if (keyword === 'FROM') {
      const { remaining } = takeFlags(rest)
      const [image, as, name] = remaining.split(/\s+/)
      stage = { index: stages.length, image, name: as?.toUpperCase() === 'AS' ? name : undefined, steps: [], env: {}, workdir: '/', user: 'root', cmd: null, healthcheck: null }
      stages.push(stage)
      continue
    }
    if (stage === null) fail(`${where}: comes before the first FROM`)
    if (/\$/.test(rest) && ['COPY', 'WORKDIR', 'USER'].includes(keyword)) fail(`${where}: variables in ${keyword} are not supported by this check`)
    switch (keyword) {
      case 'WORKDIR':
      case 'COPY':
      case 'RUN':
        stage.steps.push({ where, keyword, rest })
        break
      case 'ENV':
        // Applies to the later steps of the stage and to the image.
        stage.steps.push({ where, keyword, env: parseEnv(rest, where) })
        Object.assign(stage.env, parseEnv(rest, where))
        break
      case 'USER':
        stage.user = rest.trim()
        break
      case 'CMD':
        stage.cmd = { where, exec: execForm(rest, where), shell: rest }
        break
      case 'HEALTHCHECK': {
        const { flags, remaining } = takeFlags(rest)
        if (/^NONE$/i.test(remaining)) { stage.healthcheck = null; break }
        const cmd = /^CMD\s+(.*)$/is.exec(remaining)
        if (cmd === null) fail(`${where}: expected HEALTHCHECK [options] CMD ...`)
        stage.healthcheck = { where, flags, exec: execForm(cmd[1].trim(), where), shell: cmd[1].trim() }
        break
      }
      case 'EXPOSE':
      case 'LABEL':
        break
      default:
        fail(`${where}: this check does not reproduce ${keyword}; teach .ci/docker-check.mjs about it`)
    }
  }
  if (stages.length === 0) fail('the Dockerfile has no FROM')
  return stages
}

// ---------------------------------------------------------------- .dockerignore

function globToRegExp (glob) {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*' && glob[i + 1] === '*') { source += '.*'; i++; if (glob[i + 1] === '/') i++ } else if (c === '*') source += '[^/]*'
    else if (c === '?') source += '[^/]'
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

function readDockerignore (dir) {
  const file = path.join(dir, '.dockerignore')
  if (!existsSync(file)) return () => false
  const rules = readFileSync(file, 'utf8').split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const negated = line.startsWith('!')
    const pattern = path.posix.normalize((negated ? line.slice(1) : line).trim()).replace(/^\/+/, '').replace(/\/+$/, '')
    return { negated, regexp: globToRegExp(pattern) }
  })
  /** Whether a context-relative path is left out of the build context (the last matching rule wins). */
  return (relative) => {
    const parts = relative.split('/')
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
    let ignored = false
    for (const rule of rules) if (prefixes.some((prefix) => rule.regexp.test(prefix))) ignored = !rule.negated
    return ignored
  }
}

// ---------------------------------------------------------------- the stages

/** A directory standing for one stage's filesystem. */
function stageRoot (base, stage) {
  const dir = path.join(base, `stage-${stage.index}${stage.name === undefined ? '' : `-${stage.name}`}`)
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755)
  return dir
}

const inRoot = (root, containerPath) => path.join(root, path.posix.resolve('/', containerPath))

function copyInto (sourcePath, destPath, filter) {
  mkdirSync(path.dirname(destPath), { recursive: true })
  cpSync(sourcePath, destPath, { recursive: true, force: true, verbatimSymlinks: true, filter })
}

/** COPY [--from=stage] src... dest, with Docker's rules for files, directories and a trailing slash. */
function copy (step, stage, roots, stages, isIgnored) {
  const { flags, remaining } = takeFlags(step.rest)
  const list = execForm(remaining, step.where) ?? words(remaining)
  if (list.length < 2) fail(`${step.where}: COPY needs a source and a destination`)
  const sources = list.slice(0, -1)
  const dest = list.at(-1)
  const destInImage = path.posix.resolve(stage.workdir, dest)
  const intoDir = dest.endsWith('/') || sources.length > 1
  let fromRoot = null
  if (flags.from !== undefined) {
    const from = stages.find((other) => other.name === flags.from || String(other.index) === flags.from)
    if (from === undefined || from.index >= stage.index) fail(`${step.where}: --from=${flags.from} is not an earlier stage (pulling another image is not reproduced)`)
    fromRoot = roots.get(from.index)
  }
  for (const source of sources) {
    if (/[*?[]/.test(source)) fail(`${step.where}: wildcards in COPY sources are not supported by this check`)
    let sourcePath
    let filter
    if (fromRoot === null) {
      const relative = path.posix.normalize(source).replace(/^\/+/, '').replace(/\/+$/, '')
      sourcePath = path.join(context, relative)
      if (relative.startsWith('..')) fail(`${step.where}: ${source} is outside the build context`)
      if (relative !== '.' && isIgnored(relative)) fail(`${step.where}: ${source} is excluded by .dockerignore, so the build would not find it`)
      filter = (file) => {
        const rel = path.relative(context, file).split(path.sep).join('/')
        return rel === '' || !isIgnored(rel)
      }
    } else {
      sourcePath = inRoot(fromRoot, source)
    }
    if (!existsSync(sourcePath)) fail(`${step.where}: ${source} does not exist${fromRoot === null ? ' in the build context' : ` in stage ${flags.from}`}`)
    const isDir = lstatSync(sourcePath).isDirectory()
    const target = inRoot(stage.root, isDir || !intoDir ? destInImage : path.posix.join(destInImage, path.basename(source)))
    copyInto(sourcePath, target, filter)
  }
}

/** The environment of a build step: what npm needs from this machine, then the stage's ENV so far. */
function buildEnv (stageEnv) {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'CI', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'npm_config_registry', 'npm_config_cache', 'npm_config_userconfig']
  const env = {}
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name]
  return { ...env, ...stageEnv }
}

/** Runs a command, collecting its output; resolves with its exit code and output. */
async function run (command, { cwd, env, uid, gid, timeoutMs }) {
  const [file, ...rest] = command
  const child = spawn(file, rest, { cwd, env, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code, signal] = await once(child, 'close').catch((error) => [null, error.message])
  clearTimeout(timer)
  return { code, signal, output }
}

const tail = (text, lines = 25) => text.trimEnd().split('\n').slice(-lines).map((line) => `    | ${line}`).join('\n')
const commandOf = (form) => form.exec ?? ['/bin/sh', '-c', form.shell]

async function buildStage (stage, roots, stages, isIgnored) {
  const env = { }
  for (const step of stage.steps) {
    const since = Date.now()
    if (step.keyword === 'ENV') { Object.assign(env, step.env); continue }
    if (step.keyword === 'WORKDIR') {
      stage.workdir = path.posix.resolve(stage.workdir, step.rest.trim())
      mkdirSync(inRoot(stage.root, stage.workdir), { recursive: true })
      continue
    }
    if (step.keyword === 'COPY') {
      copy(step, stage, roots, stages, isIgnored)
      continue
    }
    // RUN
    const command = execForm(step.rest, step.where) ?? ['/bin/sh', '-c', step.rest]
    const cwd = inRoot(stage.root, stage.workdir)
    mkdirSync(cwd, { recursive: true })
    console.log(`docker-check: ${step.where.replace(/ \(RUN\)$/, '')}: RUN ${step.rest}`)
    const result = await run(command, { cwd, env: buildEnv(env), timeoutMs: 15 * 60_000 })
    if (result.code !== 0) fail(`${step.where}: RUN exited with ${result.code ?? result.signal}:\n${tail(result.output)}`)
    console.log(`docker-check:   done in ${seconds(since)}`)
  }
}

/** Files the image's user could not read (the image's files belong to root unless --chown says otherwise). */
function unreadable (dir) {
  const found = []
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name)
      if (entry.isSymbolicLink()) continue
      const { mode } = statSync(full)
      if (entry.isDirectory()) {
        if ((mode & 0o005) !== 0o005) found.push(full)
        else walk(full)
      } else if ((mode & 0o004) === 0) found.push(full)
    }
  }
  walk(dir)
  return found
}

/** uid and gid for the image's USER: root, numbers, or `node` (1000:1000 in the official node images). */
function userIds (user) {
  if (process.getuid?.() !== 0) return { note: `not root here: ${user} is not reproduced` }
  const [name, group] = user.split(':')
  const known = { root: 0, node: 1000 }
  const id = (value) => /^\d+$/.test(value) ? Number(value) : known[value]
  const uid = id(name)
  if (uid === undefined) return { note: `user ${user} is unknown to this check: running as root` }
  return { uid, gid: group === undefined ? uid : id(group) ?? uid }
}

async function freePort () {
  const server = createServer()
  server.listen(0, '0.0.0.0')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}

// ---------------------------------------------------------------- main

const base = mkdtempSync(path.join(tmpdir(), 'docker-check-'))
chmodSync(base, 0o755)
let server = null
let cleaned = false
function cleanUp () {
  if (cleaned) return
  cleaned = true
  if (server !== null && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
  rmSync(base, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { cleanUp(); process.exit(130) })

try {
  if (!existsSync(dockerfilePath)) fail(`no Dockerfile at ${dockerfilePath}`)
  const stages = readStages(parseDockerfile(readFileSync(dockerfilePath, 'utf8')))
  const isIgnored = readDockerignore(context)
  const final = stages.at(-1)
  if (final.cmd === null) fail('the final stage has no CMD')
  if (final.healthcheck === null) fail('the final stage has no HEALTHCHECK')
  const roots = new Map()
  for (const stage of stages) {
    stage.root = stageRoot(base, stage)
    roots.set(stage.index, stage.root)
    const since = Date.now()
    await buildStage(stage, roots, stages, isIgnored)
    console.log(`docker-check: stage ${stage.name ?? stage.index} (${stage.image}) reproduced in ${seconds(since)}`)
  }

  // The image: the final stage's files, its ENV, WORKDIR, USER and CMD.
  const workdir = inRoot(final.root, final.workdir)
  for (let dir = path.dirname(final.root); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'node_modules'))) fail(`${path.join(dir, 'node_modules')} exists outside the image and would hide missing dependencies; remove it or set TMPDIR`)
    if (dir === path.dirname(dir)) break
  }
  const ids = userIds(final.user)
  if (final.user !== 'root' && final.user !== '0') {
    const bad = unreadable(final.root)
    if (bad.length > 0) fail(`USER ${final.user} could not read ${bad.length} file(s) of the image, e.g. ${path.relative(final.root, bad[0])}`)
  }
  if (ids.note !== undefined) console.log(`docker-check: note: ${ids.note}`)
  const port = await freePort()
  const env = { PATH: process.env.PATH, HOME: final.user === 'root' ? '/root' : `/home/${final.user.split(':')[0]}`, ...final.env, PORT: String(port) }
  const cmd = commandOf(final.cmd)
  const url = `http://127.0.0.1:${port}`

  const startedServer = Date.now()
  server = spawn(cmd[0], cmd.slice(1), { cwd: workdir, env, uid: ids.uid, gid: ids.gid, stdio: ['ignore', 'pipe', 'pipe'] })
  let serverOutput = ''
  server.stdout.on('data', (chunk) => { serverOutput += chunk })
  server.stderr.on('data', (chunk) => { serverOutput += chunk })
  const exited = once(server, 'exit').then(([code, signal]) => ({ code, signal }), (error) => ({ code: null, signal: error.message }))
  let exit = null
  exited.then((value) => { exit = value })

  // HEALTHCHECK, as Docker runs it: in the container, with its environment.
  const health = commandOf(final.healthcheck)
  const timeoutMs = /^(\d+)s$/.exec(final.healthcheck.flags.timeout ?? '')?.[1] * 1000 || 30_000
  let healthy = false
  let tries = 0
  let last = ''
  for (; tries < 60 && !healthy; tries++) {
    if (tries > 0) await delay(250)
    if (exit !== null) fail(`CMD ${JSON.stringify(cmd)} exited with ${exit.code ?? exit.signal} before the health check passed:\n${tail(serverOutput)}`)
    const result = await run(health, { cwd: workdir, env, uid: ids.uid, gid: ids.gid, timeoutMs })
    healthy = result.code === 0
    last = result.output
  }
  if (!healthy) fail(`the HEALTHCHECK did not pass in ${tries} tries (${seconds(startedServer)}): ${last.trim() || 'no output'}\n${tail(serverOutput)}`)
  console.log(`docker-check: HEALTHCHECK passed after ${tries} ${tries === 1 ? 'try' : 'tries'} (${seconds(startedServer)} from start)`)

  const response = await fetch(`${url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: 'Token docker-check', 'content-type': 'application/json' },
    body: JSON.stringify({ users: [{ user_id: 'docker-check-1', metadata: { plan: 'pro' } }] })
  })
  const body = await response.text()
  if (response.status !== 202) fail(`POST /v1/users/bulk_identify answered ${response.status}, expected 202: ${body.slice(0, 300)}`)
  const { job_id: jobId } = JSON.parse(body)

  server.kill('SIGTERM')
  const stopped = await Promise.race([exited, delay(15_000, null, { ref: false })])
  if (stopped === null) fail(`CMD did not exit within 15 s of SIGTERM:\n${tail(serverOutput)}`)
  if (stopped.code !== 0) fail(`CMD exited with ${stopped.code ?? stopped.signal} after SIGTERM, expected 0:\n${tail(serverOutput)}`)

  cleanUp()
  console.log(`docker-check: ok (${stages.length} stages reproduced; ${JSON.stringify(cmd)} as ${final.user}${ids.uid === undefined ? '' : ` (uid ${ids.uid})`}: healthy, 202 ${jobId}, exit 0 on SIGTERM; Node.js ${process.version} standing in for ${final.image}; ${seconds(started)})`)
} catch (error) {
  cleanUp()
  console.error(`docker-check: FAILED: ${error instanceof CheckError ? error.message : error.stack}`)
  process.exitCode = 1
}
