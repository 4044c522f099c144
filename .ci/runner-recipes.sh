#!/usr/bin/env bash
# Runs each project under examples/runners/ (node:test, tap, Vitest, Jest) as a user would:
# the package is packed once (`npm pack`, as npm would publish it); each project is copied
# to a temporary folder beside the tarball (its package.json asks for
# `file:../userpilot-mock.tgz`), installed from the registry with npm, and its `npm test`
# run. The installs run side by side (they wait on the network), the tests one after the
# other. One line per project; a failing one's output is printed in full; exit 1 if any failed.
#
#   RUNNERS="jest vitest" bash .ci/runner-recipes.sh   only these projects
#   RECIPES_CLEAN_CACHE=1 bash .ci/runner-recipes.sh   an empty npm cache (a first install's time)
set -uo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/runner-recipes-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail () { echo "runner-recipes: FAILED: $*" >&2; exit 1; }

read -r -a runners <<<"${RUNNERS:-$(cd examples/runners && for dir in */; do printf '%s ' "${dir%/}"; done)}"
[ ${#runners[@]} -gt 0 ] || fail "no project under examples/runners/"

npm pack --pack-destination "$tmp" --silent > "$tmp/pack.log" 2>&1 || { cat "$tmp/pack.log" >&2; fail "npm pack failed"; }
mv "$tmp"/userpilot-mock-*.tgz "$tmp/userpilot-mock.tgz" || fail "npm pack made no tarball"
if [ "${RECIPES_CLEAN_CACHE:-0}" = 1 ]; then export npm_config_cache="$tmp/npm-cache"; fi
echo "runner-recipes: packed in $((SECONDS - started)) s; installing ${runners[*]}"

# No lockfiles: a lockfile pins the tarball's integrity, and npm ci then installs the copy in
# its cache instead of the tarball just packed. The runners' own versions are exact in each package.json.
declare -A installing
for runner in "${runners[@]}"; do
  [ -f "examples/runners/$runner/package.json" ] || fail "examples/runners/$runner has no package.json"
  cp -R "examples/runners/$runner" "$tmp/$runner"
  rm -rf "$tmp/$runner/node_modules" "$tmp/$runner/package-lock.json"
  (cd "$tmp/$runner" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) > "$tmp/$runner.log" 2>&1 &
  installing[$runner]=$!
done

failed=()
for runner in "${runners[@]}"; do
  if ! wait "${installing[$runner]}"; then
    echo "runner-recipes: $runner: FAILED to install"
    cat "$tmp/$runner.log"
    failed+=("$runner")
  fi
done
echo "runner-recipes: installed in $((SECONDS - started)) s"

for runner in "${runners[@]}"; do
  [[ " ${failed[*]} " == *" $runner "* ]] && continue
  begun=$SECONDS
  if (cd "$tmp/$runner" && npm test) > "$tmp/$runner.log" 2>&1; then
    echo "runner-recipes: $runner: ok ($((SECONDS - begun)) s)"
  else
    echo "runner-recipes: $runner: FAILED ($((SECONDS - begun)) s)"
    cat "$tmp/$runner.log"
    failed+=("$runner")
  fi
done

[ ${#failed[@]} -eq 0 ] || fail "${failed[*]} ($((SECONDS - started)) s)"
echo "runner-recipes: ok (${runners[*]}; $((SECONDS - started)) s)"
