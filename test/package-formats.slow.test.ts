// The package loads both ways: `import` (the ES build, dist/src) and `require`
// (the CommonJS build, dist/cjs), each with its own declarations. These tests read
// the build that `npm test` makes first (pretest); CI also installs the packed
// tarball (.ci/pack-check.sh) and runs a project per test runner (.ci/runner-recipes.sh).
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CJS = path.join(ROOT, 'dist/cjs')
// Out of the coverage run: tap covers every child it sees start, and the builds are not the source.
const UNCOVERED = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }

t.test('the name resolves to the ES build for import, the CommonJS build for require', async (t) => {
  t.equal(createRequire(import.meta.url).resolve('userpilot-mock'), path.join(CJS, 'src/index.cjs'))
  t.equal(fileURLToPath(import.meta.resolve('userpilot-mock')), path.join(ROOT, 'dist/src/index.js'))
})

t.test('from CommonJS: require() gives what import gives, and it works (the page, the bin and the version found)', async (t) => {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'test/fixtures/package-formats.cjs')], { cwd: ROOT, env: UNCOVERED })
  const report = JSON.parse(stdout) as Record<string, unknown>
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.equal(report.required, path.join(CJS, 'src/index.cjs'))
  t.same(report.cjsNames, report.esmNames, 'the same exports')
  t.ok((report.cjsNames as string[]).includes('startMockProcess') && (report.cjsNames as string[]).includes('connectMock'))
  t.equal(report.version, pkg.version, 'the version read from package.json')
  t.same([report.health, report.ui, report.bulk, report.flushed, report.users, report.controlError], [200, 200, 202, 1, ['u1'], 404])
  t.same([report.childHealth, report.childExit], [200, { code: 0, signal: null }], 'startMockProcess found the bin')
})

t.test('the CommonJS declarations: every import is a .cjs one that exists, the same files as the ES ones', async (t) => {
  const files: string[] = []
  for (const dir of ['src', 'schemas']) {
    for (const entry of await readdir(path.join(CJS, dir), { recursive: true })) if (entry.endsWith('.d.cts')) files.push(path.join(CJS, dir, entry))
  }
  t.ok(files.includes(path.join(CJS, 'src/index.d.cts')))
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    t.notMatch(text, /(from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]+\.js['"]/, `${path.relative(CJS, file)}: no relative .js import left`)
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.cjs['"]/g)) {
      t.ok(files.includes(path.resolve(path.dirname(file), `${specifier as string}.d.cts`)), `${path.relative(CJS, file)} → ${specifier as string}`)
    }
    const twin = path.join(ROOT, 'dist', path.relative(CJS, file)).replace(/\.d\.cts$/, '.d.ts')
    t.equal(text, (await readFile(twin, 'utf8')).replace(/\n\/\/# sourceMappingURL=.*$/, '').replace(/(['"])(\.{1,2}\/[^'"]+)\.js\1/g, '$1$2.cjs$1'), `${path.relative(CJS, file)}: its ES twin, imports renamed`)
  }
})

t.test('TypeScript consumers type-check both ways (module nodenext: a .cts and a .mts file)', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'types-check-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  const project = path.join(dir, 'project')
  await run('mkdir', ['-p', path.join(project, 'node_modules')])
  await symlink(ROOT, path.join(project, 'node_modules/userpilot-mock'))
  const body = `
async function use (): Promise<void> {
  const mock: MockServer = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  const view: IsolatedMock = mock.isolate({ prefix: 'types' })
  const users: Array<{ user_id: string }> = await view.users()
  const flushed: number = await view.flush()
  const child: MockProcess = await startMockProcess({ logs: 'stderr' })
  const remote: MockClient = connectMock(child.url)
  const key: string = remote.isolate().key
  // @ts-expect-error: a view's calls take no key
  await view.users('key', {})
  // @ts-expect-error: not a setting
  await startMock({ config: { MOCK_NOPE: 1 } })
  void [users, flushed, key]
  await mock.close()
  await child.close()
}
void use
`
  await writeFile(path.join(project, 'consumer.cts'), `import { startMock, startMockProcess, connectMock, type MockServer, type IsolatedMock, type MockProcess, type MockClient } from 'userpilot-mock'\n${body}`)
  await writeFile(path.join(project, 'consumer.mts'), `import { startMock, startMockProcess, connectMock, type MockServer, type IsolatedMock, type MockProcess, type MockClient } from 'userpilot-mock'\n${body}`)
  await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')] },
    files: ['consumer.cts', 'consumer.mts']
  }))
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc')
  const result = await run(process.execPath, [tsc, '-p', project, '--listFiles'], { cwd: project, env: UNCOVERED, maxBuffer: 16 * 1024 * 1024 }).catch((error: { stdout: string }) => error)
  const lines = result.stdout.split('\n')
  t.same(lines.filter((line) => line.includes('error TS')), [], 'no type errors (and each @ts-expect-error met one)')
  t.ok(lines.some((line) => line.endsWith('/dist/cjs/src/index.d.cts')), 'the .cts file got the CommonJS declarations')
  t.ok(lines.some((line) => line.endsWith('/dist/src/index.d.ts')), 'the .mts file got the ES declarations')
})
