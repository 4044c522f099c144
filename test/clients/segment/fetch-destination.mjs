// Puts Segment's published Userpilot destination (compiled CommonJS) into vendor/userpilot.
// @segment/action-destinations cannot be installed as a dependency here (one of its
// pinned AWS SDK versions is missing from the registry), and only one folder of its
// tarball is needed: so the tarball is packed, checked against the integrity pinned in
// package.json, and only that folder's .js files are kept. Runs as `prepare` on `npm ci`.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const here = import.meta.dirname
const { userpilotDestination: pinned } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'))
const spec = `${pinned.package}@${pinned.version}`
const target = join(here, 'vendor', 'userpilot')
const stamp = join(target, '.source')

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === `${spec} ${pinned.integrity}\n`) {
  console.log(`vendor/userpilot already holds ${spec}`)
  process.exit(0)
}

/** Runs a command; its failure ends this script with the command's output. */
function run (command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', shell: process.platform === 'win32' })
  if (result.status !== 0) {
    console.error(`${command} ${args.join(' ')} failed:\n${result.stdout ?? ''}${result.stderr ?? result.error ?? ''}`)
    process.exit(1)
  }
  return result.stdout
}

const work = mkdtempSync(join(tmpdir(), 'segment-destination-'))
try {
  // npm_execpath is the npm running this lifecycle script: same registry, cache and proxy settings.
  const npm = process.env.npm_execpath === undefined ? ['npm', []] : [process.execPath, [process.env.npm_execpath]]
  const [packed] = JSON.parse(run(npm[0], [...npm[1], 'pack', spec, '--json', '--pack-destination', work], here))
  const tarball = join(work, packed.filename)
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`
  if (integrity !== pinned.integrity) {
    console.error(`${spec}: integrity ${integrity} is not the pinned ${pinned.integrity}`)
    process.exit(1)
  }
  run('tar', ['-xzf', tarball, '-C', work, 'package/dist/destinations/userpilot'], here)
  const extracted = join(work, 'package', 'dist', 'destinations', 'userpilot')
  // Declarations and source maps point at files that are not here; only the code runs.
  for (const entry of readdirSync(extracted, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && !entry.name.endsWith('.js')) rmSync(join(entry.parentPath, entry.name))
  }
  rmSync(target, { recursive: true, force: true })
  cpSync(extracted, target, { recursive: true })
  writeFileSync(stamp, `${spec} ${pinned.integrity}\n`)
  console.log(`vendor/userpilot: ${spec} (${pinned.integrity})`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
