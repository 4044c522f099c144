#!/usr/bin/env bash
# Checks the package as npm would publish it: `npm pack` (which runs `prepare`, the build),
# install the tarball into a fresh project outside this repo, then use it there every way:
# the `userpilot-mock` command (--help lists the settings), `import { startMock }` and
# `require('userpilot-mock')`; then check its declarations for both with arethetypeswrong.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pack-check-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail () { echo "pack-check: FAILED: $*" >&2; exit 1; }

mkdir "$tmp/pack" "$tmp/project"
npm pack --pack-destination "$tmp/pack" --silent > "$tmp/pack.log" 2>&1 || { cat "$tmp/pack.log" >&2; fail "npm pack failed"; }
tarballs=("$tmp"/pack/*.tgz)
[ -f "${tarballs[0]}" ] || fail "npm pack made no tarball"
tarball=${tarballs[0]}
tar -tzf "$tarball" > "$tmp/files.txt"
echo "pack-check: packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB, $(wc -l < "$tmp/files.txt") files)"
grep -qx 'package/dist/bundle/server.js' "$tmp/files.txt" || fail "the tarball has no dist/bundle/server.js (the bin)"
grep -qx 'package/dist/src/index.js' "$tmp/files.txt" || fail "the tarball has no dist/src/index.js (the main export)"
for file in dist/cjs/src/index.cjs dist/cjs/src/index.d.cts; do
  grep -qx "package/$file" "$tmp/files.txt" || fail "the tarball has no $file (the CommonJS export)"
done

cd "$tmp/project"
npm init -y > /dev/null
npm install --no-audit --no-fund --loglevel=error "$tarball" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "npm install of the tarball failed"; }
echo "pack-check: installed into a fresh project ($((SECONDS - started)) s so far)"

help=$(npx --no-install userpilot-mock --help) || fail "npx userpilot-mock --help exited with $?"
for word in PORT MOCK_STAGE_MS; do
  grep -q "$word" <<<"$help" || fail "npx userpilot-mock --help does not list $word"
done
echo "pack-check: npx userpilot-mock --help lists PORT and MOCK_STAGE_MS"

node --input-type=module -e "
import { startMock } from 'userpilot-mock'
const m = await startMock()
const r = await fetch(m.url + '/__mock/health')
if (r.status !== 200) process.exit(1)
await m.close()
console.log('pack-check: ok (import { startMock } from the installed tarball: health 200; ' + process.argv[1] + ' s)')
" "$((SECONDS - started))" || fail "importing startMock from the installed package failed"

node -e "
const { startMock } = require('userpilot-mock')
startMock().then(async (m) => {
  const r = await fetch(m.url + '/__mock/health')
  await m.close()
  if (r.status !== 200) process.exit(1)
  console.log('pack-check: ok (require(\'userpilot-mock\') from the installed tarball: health 200; ' + process.argv[1] + ' s)')
}, (error) => { console.error(error); process.exit(1) })
" "$((SECONDS - started))" || fail "requiring startMock from the installed package failed"

# Declarations for every way TypeScript resolves the package (node10, node16 from CommonJS
# and from ESM, bundler), by the usual checker, installed at a pinned version for this check only.
npm install --prefix "$tmp/attw" --no-save --no-audit --no-fund --loglevel=error @arethetypeswrong/cli@0.18.5 > "$tmp/attw.log" 2>&1 \
  || { cat "$tmp/attw.log" >&2; fail "npm install @arethetypeswrong/cli failed"; }
"$tmp/attw/node_modules/.bin/attw" --format ascii --no-color --no-emoji "$tarball" || fail "arethetypeswrong found problems in the package's declarations"
echo "pack-check: ok (arethetypeswrong: no problems; $((SECONDS - started)) s in all)"
