// CLI: sync USERS demo users (default 25,000) to USERPILOT_URL with USERPILOT_API_KEY,
// print one JSON summary line, exit 1 when a batch failed (2 when it could not start).
// Run: USERPILOT_URL=http://127.0.0.1:3000 USERPILOT_API_KEY=demo-key npx tsx examples/sync-app/main.ts
// No top-level await: without a package.json beside it (docker-compose.yml mounts only this
// folder), tsx loads the file as CommonJS.
import { demoUsers, syncUsers } from './sync.js'

async function main (): Promise<number> {
  try {
    const summary = await syncUsers(demoUsers(Number(process.env.USERS ?? 25_000)))
    console.log(JSON.stringify(summary))
    return summary.ok ? 0 : 1
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: (error as Error).message }))
    return 2
  }
}

main().then((code) => { process.exitCode = code })
