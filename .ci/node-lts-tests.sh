#!/usr/bin/env bash
# Runs the test suite (npm test and npm run test:slow: build, then tap) on the Node.js major of the Docker image
# (read from the Dockerfile's first `FROM node:<major>...`), whatever Node.js this machine has.
# That Node.js comes from the npm registry's `node` package, installed into a temporary folder.
# Every test process records the Node.js it runs on, and the run fails unless all of them
# were that major. Extra arguments go to tap, e.g.: bash .ci/node-lts-tests.sh --disable-coverage
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
fail () { echo "node-lts-tests: FAILED: $*" >&2; exit 1; }

major=$(sed -nE 's/^FROM[[:space:]]+(--[^[:space:]]+[[:space:]]+)*node:([0-9]+).*/\2/ip' Dockerfile | head -n 1)
[ -n "$major" ] || fail "no 'FROM node:<major>' line in the Dockerfile"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/node-lts-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The `node` package downloads the binary for this platform in its preinstall script
# (node-<platform>-<arch>); if install scripts are blocked, take that package directly.
npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error "node@$major" > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "npm install node@$major failed"; }
bin="$tmp/node_modules/node/bin"
if [ ! -x "$bin/node" ]; then
  platform=$(node -p 'process.platform + "-" + process.arch')
  echo "node-lts-tests: node@$major left no binary (install scripts blocked?); installing node-$platform@$major"
  npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error "node-$platform@$major" > "$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log" >&2; fail "npm install node-$platform@$major failed"; }
  bin="$tmp/node_modules/node-$platform/bin"
fi
[ -x "$bin/node" ] || fail "no node binary in $bin"

export PATH="$bin:$PATH"
version=$(node --version)
[ "$(command -v node)" = "$bin/node" ] || fail "node on PATH is $(command -v node), not $bin/node"
[[ "$version" == "v$major."* ]] || fail "node --version says $version, expected v$major.x"
echo "node-lts-tests: Node.js $version from the npm registry ($bin/node), installed in $((SECONDS - started)) s"

# Each test process appends the version and path of the Node.js running it.
probe="$tmp/probe.cjs"
seen="$tmp/seen.txt"
printf '%s\n' "require('node:fs').appendFileSync(process.env.NODE_LTS_PROBE_FILE, process.version + ' ' + process.execPath + '\\n')" > "$probe"
: > "$seen"

status=0
# scripts/test.mjs gives the node:test reporter flag itself; a second one makes Node.js 24 fail
# ("--test-reporter must match the number of --test-reporter-destination").
for script in test test:slow; do
  NODE_LTS_PROBE_FILE="$seen" npm run "$script" -- "--node-arg=--require=$probe" "$@" || status=$?
done

processes=$(wc -l < "$seen")
others=$(grep -v "^v$major\.[0-9]*\.[0-9]* $bin/node\$" "$seen" | sort -u || true)
[ "$processes" -gt 0 ] || fail "no test process recorded its Node.js version"
[ -z "$others" ] || fail "some test processes ran on another Node.js: $others"
echo "node-lts-tests: $processes test processes, all on $version"
[ "$status" -eq 0 ] || fail "the tests exited with $status on Node.js $version ($((SECONDS - started)) s)"
echo "node-lts-tests: ok (npm test and test:slow passed on Node.js $version in $((SECONDS - started)) s)"
