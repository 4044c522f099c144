// Runs the image that .ci/docker-image.sh built the way a container engine would, with
// `buildah run --isolation chroot`: the image's filesystem, ENV, WORKDIR and USER, but the
// host's network, so PORT is set to a free port and service names are mapped to 127.0.0.1.
//
// The image:     every file under WORKDIR readable by USER; its CMD until GET /__mock/health
//                answers; the HEALTHCHECK's own command, read from the image, run inside it;
//                the seed request (202) and the inspector page (200); the server process's
//                uid and gid (not 0); SIGTERM (exit 0); the HEALTHCHECK again, which must
//                now fail (so it checks something).
// Compose files: each file's services on the image: built services with the file's
//                environment (and `deploy.replicas`), healthy by the file's health check;
//                services on the stand-in base with a command (the example app) run in that
//                image with the file's working_dir, bind mounts and environment and must
//                exit 0; a Redis service runs as this machine's redis-server with the file's
//                command; replicas must share their state (a job sent to one is completed
//                as seen from the other). What needs an engine (service DNS, published ports,
//                depends_on gating, restart policies, nginx) is named, not run.
//
//   node .ci/image-check.mjs --image NAME --base NAME --prefix NAME --pids FILE
//   (--base: the stand-in base image; --prefix: of the containers' names; --pids: see spawnTracked)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'

const { values: args } = parseArgs({ options: { image: { type: 'string' }, base: { type: 'string' }, prefix: { type: 'string' }, pids: { type: 'string' } } })
for (const name of ['image', 'base', 'prefix', 'pids']) {
  if (args[name] === undefined) { console.error(`image-check: FAILED: --${name} is required`); process.exit(2) }
}
const repo = path.resolve(import.meta.dirname, '..')
const composeFiles = ['docker-compose.yml', 'examples/replicas/docker-compose.yml']
const SEED = { users: [{ user_id: 'user_123', company_id: 'comp_techstartup_2024', metadata: { name: 'John Smith', tickets_pending: 3 } }] }
const started = Date.now()
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`
const say = (line) => console.log(`image-check: ${line}`)
/** An image reference without Docker Hub's implied parts: docker.io/library/node:24-slim is node:24-slim. */
const shortName = (reference) => reference.replace(/^(docker\.io\/)?(library\/)?/, '')
const base = shortName(args.base)

class CheckError extends Error {}
const fail = (message) => { throw new CheckError(message) }
const tail = (text, lines = 20) => text.trimEnd().split('\n').slice(-lines).map((line) => `    | ${line}`).join('\n')

// ---------------------------------------------------------------- processes

const containers = []
const servers = []
const tempDirs = []
// Every child runs in a process group of its own, so that the whole tree under `buildah run`
// can be ended at once; the groups still running are kept in the --pids file, for the
// shell's clean-up should this script die without its own.
const groups = new Set()
const saveGroups = () => writeFileSync(args.pids, [...groups].map((pgid) => `${pgid}\n`).join(''))

function spawnTracked (file, argv) {
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  if (child.pid !== undefined) {
    groups.add(child.pid)
    saveGroups()
    child.once('exit', () => { groups.delete(child.pid); saveGroups() })
  }
  return child
}

/** Runs a command to its end; its exit code and output (stdout and stderr together). */
async function run (file, argv, { timeoutMs = 60_000 } = {}) {
  const child = spawnTracked(file, argv)
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; killGroup(child.pid) }, timeoutMs)
  const [code, signal] = await once(child, 'close').catch((error) => [null, error.message])
  clearTimeout(timer)
  return { code, signal, output, timedOut }
}

async function buildah (argv, options) {
  const result = await run('buildah', argv, options)
  if (result.code !== 0) fail(`buildah ${argv.slice(0, 2).join(' ')} exited with ${result.code ?? result.signal}: ${result.output.trim().split('\n').at(-1)}`)
  return result.output.trim()
}

async function container (image, role) {
  const name = `${args.prefix}-${role}`
  await buildah(['from', '--pull=never', '--quiet', '--name', name, image])
  containers.push(name)
  return name
}

function killGroup (pgid) {
  try { process.kill(-pgid, 'SIGKILL') } catch { /* already gone */ }
}

const envFlags = (env) => Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`])

/** Parent pid of every process, from /proc. */
function parents () {
  const map = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch { /* gone meanwhile */ }
  }
  return map
}

/** The process under `root` that runs `argv` (buildah's chroot helpers sit in between). */
function findProcess (root, argv) {
  const map = parents()
  const below = new Set([root])
  for (let grew = true; grew;) {
    grew = false
    for (const [pid, ppid] of map) if (below.has(ppid) && !below.has(pid)) { below.add(pid); grew = true }
  }
  for (const pid of below) {
    try {
      const seen = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1)
      if (seen.length === argv.length && path.basename(seen[0]) === path.basename(argv[0]) && seen.slice(1).every((word, i) => word === argv[i + 1])) return pid
    } catch { /* gone meanwhile */ }
  }
  return undefined
}

/** Starts a long-running command (a server); `target`: the argv of the process to signal, when `file` only wraps it. */
async function startProcess (label, file, argv, target) {
  const child = spawnTracked(file, argv)
  let output = ''
  const keep = (chunk) => { output = (output + chunk).slice(-64_000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const server = { label, child, pid: undefined, exit: null, output: () => output }
  server.exited = once(child, 'exit').then(([code, signal]) => { server.exit = { code, signal }; return server.exit }, (error) => { server.exit = { code: null, signal: error.message }; return server.exit })
  servers.push(server)
  if (target === undefined) { server.pid = child.pid; return server }
  for (let i = 0; i < 100 && server.pid === undefined && server.exit === null; i++) {
    server.pid = findProcess(child.pid, target)
    if (server.pid === undefined) await delay(100)
  }
  if (server.pid === undefined) fail(`${label}: ${JSON.stringify(target)} did not start${server.exit === null ? ' within 10 s' : ` (exit ${server.exit.code ?? server.exit.signal})`}:\n${tail(output)}`)
  return server
}

/** SIGTERM to the server process itself (what `docker stop` sends to PID 1); its exit code. */
async function stop (server) {
  process.kill(server.pid, 'SIGTERM')
  const exit = await Promise.race([server.exited, delay(15_000, null, { ref: false })])
  if (exit === null) fail(`${server.label}: did not exit within 15 s of SIGTERM:\n${tail(server.output())}`)
  return exit
}

async function freePort () {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address()
  probe.close()
  await once(probe, 'close')
  return port
}

/** The command a health check runs, from Docker's `Test` form. */
function healthArgv (test, where) {
  if (!Array.isArray(test) || test.length < 2) fail(`${where}: no health check command`)
  if (test[0] === 'CMD') return test.slice(1)
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test[1]]
  return fail(`${where}: health check ${JSON.stringify(test)} is not CMD or CMD-SHELL`)
}

/** Polls until `check` resolves true, or the server dies, or the time is up. */
async function until (server, what, check, timeoutMs = 30_000) {
  const since = Date.now()
  let tries = 0
  while (Date.now() - since < timeoutMs) {
    tries++
    if (server?.exit !== null && server?.exit !== undefined) fail(`${server.label}: exited with ${server.exit.code ?? server.exit.signal} before ${what}:\n${tail(server.output())}`)
    if (await check().catch(() => false)) return { tries, took: seconds(since) }
    await delay(250)
  }
  return fail(`${server?.label ?? 'check'}: not done within ${timeoutMs / 1000} s (${tries} tries): ${what}${server === undefined ? '' : `:\n${tail(server.output())}`}`)
}

const healthy = async (port) => (await fetch(`http://127.0.0.1:${port}/__mock/health`)).status === 200

async function seed (port, key) {
  const response = await fetch(`http://127.0.0.1:${port}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(SEED)
  })
  const body = await response.text()
  if (response.status !== 202) fail(`POST /v1/users/bulk_identify on port ${port} answered ${response.status}, expected 202: ${body.slice(0, 300)}`)
  return JSON.parse(body)
}

// ---------------------------------------------------------------- the image

async function inspect (image) {
  const config = JSON.parse(await buildah(['inspect', '--type', 'image', image])).Docker?.config
  if (config === undefined) fail(`${image}: buildah inspect shows no Docker config (was it built with --format docker?)`)
  return config
}

/** uid of a user name (or number) in the container's /etc/passwd. */
async function uidOf (ctr, user) {
  if (/^\d+$/.test(user)) return Number(user)
  const mount = await buildah(['mount', ctr])
  const line = readFileSync(path.join(mount, 'etc/passwd'), 'utf8').split('\n').find((entry) => entry.split(':')[0] === user)
  if (line === undefined) fail(`USER ${user} is not in the image's /etc/passwd`)
  return Number(line.split(':')[2])
}

/** Local addresses listening on a TCP port, from /proc/net/tcp and tcp6 (the any-addresses spelled out). */
function listeners (port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  const found = []
  for (const [file, any] of [['/proc/net/tcp', '0.0.0.0'], ['/proc/net/tcp6', '::']]) {
    const rows = readFileSync(file, 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/))
    for (const fields of rows) {
      if (!fields[1]?.endsWith(`:${hex}`) || fields[3] !== '0A') continue // 0A: LISTEN
      const address = fields[1].split(':')[0]
      found.push(/^0+$/.test(address) ? any : file.endsWith('6') ? `[${address}]` : address.match(/../g).reverse().map((byte) => parseInt(byte, 16)).join('.'))
    }
  }
  return found
}

function ids (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)[1].split(/\s+/).map(Number)
  return { uid: field('Uid'), gid: field('Gid') }
}

async function checkImage (config) {
  const since = Date.now()
  const cmd = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])]
  if (cmd.length === 0) fail('the image has no CMD')
  const hc = config.Healthcheck
  if (hc === undefined || hc === null) fail('the image has no HEALTHCHECK (built without --format docker?)')
  const hcArgv = healthArgv(hc.Test, 'HEALTHCHECK')
  const hcTimeoutMs = (hc.Timeout || 30e9) / 1e6
  const user = (config.User || 'root').split(':')[0]

  const ctr = await container(args.image, 'image')
  // Files that USER cannot read are found by the server only when asked for them (the inspector page's files).
  const workdir = config.WorkingDir || '/'
  const unreadable = await run('buildah', ['run', '--isolation', 'chroot', ctr, '--', 'find', workdir, '(', '!', '-readable', '-o', '-type', 'd', '!', '-executable', ')', '-print'])
  if (unreadable.code !== 0 || unreadable.output.trim() !== '') fail(`USER ${config.User || 'root'} cannot read ${unreadable.output.trim().split('\n').length} path(s) under ${workdir}, e.g. ${unreadable.output.trim().split('\n')[0]}`)
  const port = await freePort()
  const env = { PORT: String(port) }
  say(`image: ${JSON.stringify(cmd)} as USER ${config.User || 'root'} in ${config.WorkingDir || '/'}, ENV ${(config.Env ?? []).filter((e) => !e.startsWith('PATH=')).join(' ')}; PORT=${port} here (host network)`)
  const server = await startProcess('image CMD', 'buildah', ['run', '--isolation', 'chroot', ...envFlags(env), ctr, '--', ...cmd], cmd)

  const up = await until(server, 'GET /__mock/health answered 200', () => healthy(port))
  const bound = listeners(port)
  // Published ports reach a container from outside it: loopback alone would not do.
  if (!bound.includes('0.0.0.0') && !bound.includes('::')) fail(`the server listens on ${bound.join(', ') || 'nothing visible'} (port ${port}), not on every interface: unreachable from outside a container`)
  say(`image: GET /__mock/health 200 after ${up.took}; listening on ${bound.join(', ') || 'no IPv4 address'}:${port}`)

  const check = await run('buildah', ['run', '--isolation', 'chroot', ...envFlags(env), ctr, '--', ...hcArgv], { timeoutMs: hcTimeoutMs + 10_000 })
  if (check.code !== 0) fail(`the HEALTHCHECK command exited with ${check.code ?? check.signal} inside the image: ${check.output.trim() || 'no output'}`)
  say(`image: HEALTHCHECK ${JSON.stringify(hc.Test)} exits 0 inside the image`)

  const accepted = await seed(port, 'ci-key')
  const page = await fetch(`http://127.0.0.1:${port}/__mock/ui`)
  if (page.status !== 200) fail(`GET /__mock/ui (the inspector page) answered ${page.status}`)
  say(`image: POST /v1/users/bulk_identify 202 (${accepted.job_id}); GET /__mock/ui 200; every file under ${workdir} readable by USER ${user}`)

  const { uid, gid } = ids(server.pid)
  const expected = await uidOf(ctr, user)
  if (uid.includes(0) || gid.includes(0)) fail(`the server runs with uid ${uid.join('/')} gid ${gid.join('/')}: root`)
  if (uid[1] !== expected) fail(`the server runs as uid ${uid[1]}, but USER ${user} is uid ${expected} in the image`)
  say(`image: server process ${server.pid} runs as uid ${uid[1]} gid ${gid[1]} (USER ${user}), not root`)

  const exit = await stop(server)
  if (exit.code !== 0) fail(`the server exited with ${exit.code ?? exit.signal} after SIGTERM, expected 0:\n${tail(server.output())}`)
  const after = await run('buildah', ['run', '--isolation', 'chroot', ...envFlags(env), ctr, '--', ...hcArgv], { timeoutMs: hcTimeoutMs + 10_000 })
  if (after.code === 0) fail('the HEALTHCHECK command still exits 0 with the server stopped: it checks nothing')
  say(`image: SIGTERM: exit 0; the HEALTHCHECK then exits ${after.code} (${seconds(since)})`)
}

// ---------------------------------------------------------------- compose files

/** A service's environment as name → string (null means "from the shell": left out). */
function environmentOf (service) {
  const env = service.environment ?? {}
  const entries = Array.isArray(env) ? env.map((item) => { const at = String(item).indexOf('='); return at < 0 ? [item, null] : [item.slice(0, at), item.slice(at + 1)] }) : Object.entries(env)
  return Object.fromEntries(entries.filter(([, value]) => value !== null && value !== undefined).map(([name, value]) => [name, String(value)]))
}

/** `host:port` of another service, in a URL, pointed at where it listens here. */
function reroute (env, routes, where) {
  const out = {}
  for (const [name, value] of Object.entries(env)) {
    let changed = value
    for (const [from, to] of routes) changed = changed.split(`//${from}`).join(`//${to}`)
    if (changed !== value) say(`${where}: ${name}=${value} -> ${changed} (no service DNS here)`)
    out[name] = changed
  }
  return out
}

async function checkCompose (file, config) {
  const since = Date.now()
  const dir = path.dirname(path.join(repo, file))
  const tag = path.dirname(file) === '.' ? 'compose' : path.basename(path.dirname(file))
  const { services } = parse(readFileSync(path.join(repo, file), 'utf8'))
  const routes = new Map()
  const unverified = []
  const replicas = new Map()

  // Registry-only services first (they are depended on), then built ones, then the apps.
  for (const [name, service] of Object.entries(services)) {
    if (service.build !== undefined || shortName(service.image ?? '') === base) continue
    if (!/^redis:/.test(service.image)) {
      unverified.push(`${name} (${service.image}: no registry here)`)
      continue
    }
    const command = service.command ?? ['redis-server']
    if (command[0] !== 'redis-server') fail(`${file}: service ${name}: command ${JSON.stringify(command)} does not start redis-server`)
    const port = await freePort()
    const redisDir = mkdtempSync(path.join(tmpdir(), 'image-check-redis-'))
    tempDirs.push(redisDir)
    const argv = [...command.slice(1), '--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--daemonize', 'no']
    const server = await startProcess(`${file} ${name}`, 'redis-server', argv)
    const test = service.healthcheck?.test
    const probe = test === undefined ? ['redis-cli', 'ping'] : healthArgv(test, `${file}: service ${name}`)
    if (probe[0] !== 'redis-cli') fail(`${file}: service ${name}: health check ${JSON.stringify(test)} is not redis-cli`)
    const ok = await until(server, 'redis answered its health check', async () => (await run(probe[0], ['-p', String(port), ...probe.slice(1)], { timeoutMs: 5000 })).code === 0)
    routes.set(`${name}:6379`, `127.0.0.1:${port}`)
    say(`${file} ${name}: this machine's redis-server standing in for ${service.image}, with the file's command ${JSON.stringify(command.slice(1))}, on port ${port}; its health check ${JSON.stringify(probe)} passed after ${ok.took}`)
  }

  // Ports first: a service's environment may name itself (MOCK_PUBLIC_URL) or another.
  const built = []
  for (const [name, service] of Object.entries(services)) {
    if (service.build === undefined) continue
    const env = environmentOf(service)
    const containerPort = env.PORT ?? (config.Env ?? []).find((e) => e.startsWith('PORT='))?.slice(5) ?? '3000'
    const ports = []
    for (let i = 0; i < (service.deploy?.replicas ?? 1); i++) ports.push(await freePort())
    routes.set(`${name}:${containerPort}`, `127.0.0.1:${ports[0]}`)
    built.push({ name, service, env, containerPort, ports })
  }

  for (const { name, service, env, containerPort, ports } of built) {
    const count = ports.length
    const list = []
    for (let i = 1; i <= count; i++) {
      const label = `${file} ${name}${count > 1 ? `-${i}` : ''}`
      const port = ports[i - 1]
      const runEnv = { ...reroute(env, routes, label), PORT: String(port) }
      say(`${label}: PORT=${containerPort} -> ${port} (host network)`)
      const ctr = await container(args.image, `${tag}-${name}-${i}`)
      const cmd = [...(config.Entrypoint ?? []), ...(service.command ?? config.Cmd)]
      const server = await startProcess(label, 'buildah', ['run', '--isolation', 'chroot', ...envFlags(runEnv), ctr, '--', ...cmd], cmd)
      const test = service.healthcheck?.test ?? config.Healthcheck?.Test
      const argv = healthArgv(test, label)
      const ok = await until(server, 'its health check passed', async () => (await run('buildah', ['run', '--isolation', 'chroot', ...envFlags(runEnv), ctr, '--', ...argv], { timeoutMs: 10_000 })).code === 0)
      say(`${label}: up on port ${port}; ${service.healthcheck === undefined ? "the image's" : "the file's"} health check passed after ${ok.took}`)
      list.push({ server, port, env: runEnv })
    }
    replicas.set(name, list)
  }

  for (const [name, service] of Object.entries(services)) {
    if (service.build !== undefined || shortName(service.image ?? '') !== base) continue
    if (service.command === undefined) fail(`${file}: service ${name} on ${base} has no command to run`)
    if (!Array.isArray(service.command)) fail(`${file}: service ${name}: only the exec (list) form of command is run here`)
    const mounts = (service.volumes ?? []).map((volume) => {
      if (typeof volume !== 'string' || !/^[./]/.test(volume)) fail(`${file}: service ${name}: only bind mounts (short form) are run here, not ${JSON.stringify(volume)}`)
      const [source, target, mode] = volume.split(':')
      return ['--volume', `${path.resolve(dir, source)}:${target}${mode === undefined ? '' : `:${mode}`}`]
    }).flat()
    const env = reroute(environmentOf(service), routes, `${file} ${name}`)
    const ctr = await container(args.base, `${tag}-${name}`)
    const workdir = service.working_dir === undefined ? [] : ['--workingdir', service.working_dir]
    const appSince = Date.now()
    say(`${file} ${name}: ${JSON.stringify(service.command)} in ${base}${service.working_dir === undefined ? '' : ` (${service.working_dir})`} ...`)
    const result = await run('buildah', ['run', '--isolation', 'chroot', ...mounts, ...workdir, ...envFlags(env), ctr, '--', ...service.command], { timeoutMs: 240_000 })
    if (result.code !== 0) fail(`${file} ${name}: exited with ${result.timedOut ? 'a timeout (240 s)' : result.code ?? result.signal}:\n${tail(result.output)}`)
    say(`${file} ${name}: exit 0 in ${seconds(appSince)}: ${result.output.trim().split('\n').at(-1).slice(0, 240)}`)
  }

  for (const [name, list] of replicas) {
    if (list.length < 2) continue
    const [first, second] = list
    const key = (first.env.MOCK_API_KEYS ?? '').split(',')[0] || 'ci-key'
    const accepted = await seed(first.port, key)
    const jobPath = new URL(accepted.links).pathname
    const headers = { authorization: `Token ${key}` }
    const done = await until(second.server, `job ${accepted.job_id} completed as replica 2 sees it`, async () => {
      const response = await fetch(`http://127.0.0.1:${second.port}${jobPath}`, { headers })
      return response.status === 200 && (await response.json()).status === 'completed'
    })
    const user = await fetch(`http://127.0.0.1:${second.port}/__mock/users/user_123`, { headers })
    if (user.status !== 200) fail(`${file} ${name}-2: GET /__mock/users/user_123 answered ${user.status} after the job sent to ${name}-1 completed`)
    say(`${file} ${name}: a job sent to replica 1 is completed as replica 2 sees it (${done.took}), and replica 2 has its user`)
  }

  for (const list of replicas.values()) {
    for (const { server } of list) {
      const exit = await stop(server)
      if (exit.code !== 0) fail(`${server.label}: exited with ${exit.code ?? exit.signal} after SIGTERM, expected 0:\n${tail(server.output())}`)
    }
  }
  for (const server of servers) if (server.exit === null) await stop(server)
  if (unverified.length > 0) say(`${file}: not run here: ${unverified.join(', ')}`)
  say(`${file}: ok (${seconds(since)})`)
}

// ---------------------------------------------------------------- main

async function cleanUp () {
  for (const pgid of groups) killGroup(pgid)
  for (const server of servers) await Promise.race([server.exited, delay(5000, null, { ref: false })])
  for (const name of containers) await run('buildah', ['rm', name])
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { cleanUp().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15))) })
}

try {
  const config = await inspect(args.image)
  await checkImage(config)
  for (const file of composeFiles) await checkCompose(file, config)
  await cleanUp()
  say(`ok (${seconds(started)})`)
} catch (error) {
  await cleanUp()
  console.error(`image-check: FAILED: ${error instanceof CheckError ? error.message : error.message ?? error}`)
  process.exitCode = 1
}
