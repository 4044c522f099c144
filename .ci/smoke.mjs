// Starts the built server the way `npm start` does, on a free port, and checks
// that it becomes healthy, accepts a bulk request, completes the job, and exits 0 on SIGTERM.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

const fail = (message) => { console.error(`smoke: ${message}`); process.exit(1) }
const deadline = setTimeout(() => fail('timed out after 30 s'), 30_000)

// `npm start` is `node [flags] dist/bundle/server.js`: the same arguments, with node itself run directly.
const start = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start.trim().split(/\s+/).slice(1)
const child = spawn(process.execPath, [...start, '--port', '0', '--stage-ms', '20'], { stdio: ['ignore', 'pipe', 'inherit'] })
let url
for await (const line of createInterface({ input: child.stdout })) {
  const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
  if (match) { url = match[1]; break }
}
if (!url) fail('the server exited before listening')
child.stdout.resume()

const health = await (await fetch(`${url}/__mock/health`)).json()
if (health.status !== 'ok') fail(`health: ${JSON.stringify(health)}`)

const headers = { authorization: 'Token smoke-key', 'content-type': 'application/json' }
const accepted = await fetch(`${url}/v1/users/bulk_identify`, { method: 'POST', headers, body: JSON.stringify({ users: [{ user_id: 'smoke-1' }, { user_id: 'smoke-2', metadata: { plan: 'pro' } }] }) })
if (accepted.status !== 202) fail(`bulk identify answered ${accepted.status}`)
const job = await accepted.json()

let status
for (let i = 0; i < 100; i++) {
  status = await (await fetch(job.links, { headers })).json()
  if (status.status === 'completed') break
  await new Promise((resolve) => setTimeout(resolve, 50))
}
if (status.status !== 'completed' || status.completed_rows !== 2) fail(`job did not complete: ${JSON.stringify(status)}`)

child.kill('SIGTERM')
const [code] = await once(child, 'exit')
if (code !== 0) fail(`exit code ${code} after SIGTERM`)
clearTimeout(deadline)
console.log(`smoke: ok (${url}: healthy, 202, job completed, clean exit)`)
