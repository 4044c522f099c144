import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { packageVersion, VERSION } from '../src/version.js'

/** This package's own package.json, read independently of the code under test. */
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string, version: string }

/** A directory as the URL packageVersion walks up from (directory URLs end in a slash). */
function dirUrl (path: string): URL {
  return pathToFileURL(path.endsWith('/') ? path : `${path}/`)
}

t.test('the package is the one packageVersion looks for', async (t) => {
  t.equal(pkg.name, 'userpilot-mock')
  t.match(pkg.version, /^\d+\.\d+\.\d+/)
})

t.test('finds this package\'s version from src/', async (t) => {
  t.equal(packageVersion(), pkg.version, 'default: from the module itself')
  t.equal(VERSION, pkg.version)
  t.equal(packageVersion(new URL('../src/', import.meta.url)), pkg.version)
  t.equal(packageVersion(new URL('../src/jobs/', import.meta.url)), pkg.version, 'from deeper down')
  t.equal(packageVersion(new URL('../dist/src/', import.meta.url)), pkg.version, 'from where the build lives')
  t.equal(packageVersion(new URL('../no/such/dir/', import.meta.url)), pkg.version, 'missing directories on the way are skipped')
})

t.test('returns 0.0.0 when no matching package.json is above', async (t) => {
  // Outside the project: walking up from t.testdir() (under .tap/ in the project) would find ours.
  const root = mkdtempSync(join(tmpdir(), 'userpilot-mock-version-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const deep = join(root, 'a', 'b')
  mkdirSync(deep, { recursive: true })
  writeFileSync(join(root, 'a', 'package.json'), JSON.stringify({ name: 'someone-else', version: '9.9.9' }))
  t.equal(packageVersion(dirUrl(deep)), '0.0.0')
  t.equal(packageVersion(new URL('file:///')), '0.0.0', 'from the filesystem root')
})

t.test('skips package.json files that are not this package', async (t) => {
  const dir = t.testdir({
    mock: {
      'package.json': JSON.stringify({ name: 'userpilot-mock', version: '7.8.9' }),
      other: {
        'package.json': JSON.stringify({ name: 'another-package', version: '1.2.3' }),
        noversion: {
          'package.json': JSON.stringify({ name: 'userpilot-mock' }),
          broken: {
            'package.json': '{ not json',
            start: {}
          }
        }
      }
    }
  })
  const start = join(dir, 'mock', 'other', 'noversion', 'broken', 'start')
  t.equal(packageVersion(dirUrl(start)), '7.8.9', 'past invalid JSON, a missing version and another name')
  t.equal(packageVersion(dirUrl(join(dir, 'mock'))), '7.8.9', 'from its own directory')
})
