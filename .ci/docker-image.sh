#!/usr/bin/env bash
# Builds the Docker image from the repo's Dockerfile, unchanged, and runs it (.ci/image-check.mjs:
# the image, then the compose files' services on it).
#
# There is no Docker engine and no image registry here, and `podman run` cannot start a
# container in this sandbox (crun cannot set RLIMIT_NPROC without cap_sys_resource). buildah
# can: `buildah bud` and `buildah run` with --isolation chroot, on the host's network.
# --format docker, because the OCI image format has no HEALTHCHECK.
#
# The Dockerfile's base, node:<major>-slim, cannot be pulled, so a stand-in of that name is made:
# Debian (debootstrap --variant=minbase, from the mirror apt uses here), Node.js from the npm
# package node-linux-<arch>, the npm that Node.js release bundles (from the npm package npm),
# user node with uid and gid 1000 as in the official images, and this machine's CA bundle with
# NODE_EXTRA_CA_CERTS pointing at it (npm inside the build reaches the registry through a TLS
# proxy). It is cached between runs on this machine, keyed on everything that goes into it.
#
#   bash .ci/docker-image.sh     (as root; USERPILOT_MOCK_CI_CACHE=<dir> moves the cache,
#                                 default ${XDG_CACHE_HOME:-/var/cache}/userpilot-mock-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
say () { echo "docker-image: $*"; }
fail () { echo "docker-image: FAILED: $*" >&2; exit 1; }
since () { echo "$((SECONDS - $1)) s"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and buildah's chroot isolation need it)"

# ------------------------------------------------------------------ packages
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v redis-server >/dev/null || missing+=(redis-server) # the replicas stack's Redis
if [ ${#missing[@]} -gt 0 ]; then
  t=$SECONDS
  if ! apt_log=$({ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } 2>&1); then
    tail -n 20 <<<"$apt_log" >&2
    fail "apt-get install ${missing[*]} failed"
  fi
  say "installed ${missing[*]} ($(since "$t"))"
fi

# ------------------------------------------------------------------ what the Dockerfile needs
major=$(sed -nE 's/^FROM[[:space:]]+(--[^[:space:]]+[[:space:]]+)*node:([0-9]+)-slim([[:space:]].*)?$/\2/ip' Dockerfile | head -n 1)
[ -n "$major" ] || fail "no 'FROM node:<major>-slim' line in the Dockerfile"
# Every FROM is that base or an earlier stage: nothing else could be had here.
stages=" "
while read -r from_image as_word stage_name _; do
  [ "$from_image" = "node:$major-slim" ] || [[ "$stages" == *" $from_image "* ]] \
    || fail "FROM $from_image: no registry here, and the only stand-in made is node:$major-slim"
  if [ "${as_word,,}" = as ]; then stages+="$stage_name "; fi
done < <(sed -nE 's/^FROM[[:space:]]+(--[^[:space:]]+[[:space:]]+)*//ip' Dockerfile)

base=docker.io/library/node:$major-slim
suite=bookworm
arch=$(node -p process.arch)
node_package=node-linux-$arch
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || fail "no CA bundle at $ca_bundle"
# The newest release of that major (npm lists the matching versions in ascending order).
versions=$(npm view "$node_package@$major" version --json 2>/dev/null) || fail "npm view $node_package@$major failed (is the npm registry reachable?)"
node_version=$(node -e 'try { console.log([JSON.parse(process.argv[1])].flat().at(-1)) } catch {}' "$versions")
[[ "$node_version" =~ ^$major\.[0-9]+\.[0-9]+$ ]] || fail "npm view $node_package@$major gave no version of Node.js $major"
work=$(mktemp -d "${TMPDIR:-/tmp}/docker-image-XXXXXX")
prefix=userpilot-mock-ci-$$
image=localhost/userpilot-mock:ci-$$
clean_up () {
  local status=$?
  # What the checks still had running if they died without cleaning up: they keep the ids
  # of their process groups (one per command, buildah's helpers included) in this file.
  if [ -s "$work/pids" ]; then
    while read -r pgid; do kill -KILL -- "-$pgid" 2>/dev/null || true; done < "$work/pids"
  fi
  local name
  for name in $(buildah containers --format '{{.ContainerName}}' 2>/dev/null | grep "^$prefix-" || true); do
    buildah rm "$name" >/dev/null 2>&1 || true
  done
  buildah rmi "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap clean_up EXIT

# ------------------------------------------------------------------ the stand-in base
# The root filesystem of node:<major>-slim as far as the checks can tell; $1: an empty directory.
make_rootfs () {
  local root=$1 npm_version
  debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap $suite from $mirror failed"; }
  # The slim images keep no package caches or lists either.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  (cd "$work" && npm pack --silent "$node_package@$node_version" >/dev/null) || fail "npm pack $node_package@$node_version failed"
  mkdir "$work/node"
  tar -xzf "$work/$node_package-$node_version.tgz" -C "$work/node" --strip-components=1 || fail "cannot unpack $node_package-$node_version.tgz"
  install -m 0755 "$work/node/bin/node" "$root/usr/local/bin/node"
  # The npm that this Node.js release bundles: the newest "upgrade npm to" in its changelog.
  npm_version=$(grep -oE -m 1 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$work/node/CHANGELOG.md" | awk '{ print $4 }' || true)
  if [ -z "$npm_version" ]; then
    npm_version=$(npm view npm version)
    say "Node.js $node_version's changelog names no npm version: npm $npm_version (latest)"
  fi
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null) || fail "npm pack npm@$npm_version failed"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 || fail "cannot unpack npm-$npm_version.tgz"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  { chroot "$root" groupadd --gid 1000 node && chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node; } \
    || fail "could not add user node (1000:1000) to the stand-in"
  install -D -m 0644 "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
  [ "$(chroot "$root" node --version)" = "v$node_version" ] || fail "the stand-in's node is not v$node_version"
  [ "$(chroot "$root" npm --version)" = "$npm_version" ] || fail "the stand-in's npm is not $npm_version"
  say "stand-in root filesystem: Debian $suite (minbase), Node.js $node_version, npm $npm_version, user node 1000:1000"
}

# The Debian archive apt uses here (not its -security or -updates suites); the $(...) are apt's.
# shellcheck disable=SC2016
debian_mirror () { apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(ORIGIN) $(TARGET_OF)' | awk '$3 == "Debian" && $4 == "deb" && $2 !~ /-/ { print $1; exit }'; }

key=$({ echo "$major $node_version $suite $arch"; declare -f make_rootfs; sha256sum < "$ca_bundle"; } | sha256sum | cut -c 1-16)
cache=${USERPILOT_MOCK_CI_CACHE:-${XDG_CACHE_HOME:-/var/cache}/userpilot-mock-ci}
tarball=$cache/node-$major-slim-$key.tar
label=userpilot-mock.ci.stand-in

import_base () {
  local ctr old
  old=$(buildah inspect --type image --format '{{.FromImageID}}' "$base" 2>/dev/null || true)
  ctr=$(buildah from --quiet --name "$prefix-base" scratch)
  buildah add --quiet "$ctr" "$tarball" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$node_version" --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    --cmd '["node"]' --label "$label=$key" "$ctr"
  buildah commit --quiet --rm --format docker "$ctr" "$base" >/dev/null
  # The stand-in this one replaces, if no image is built on it any more.
  if [ -n "$old" ]; then buildah rmi "$old" >/dev/null 2>&1 || true; fi
}

t=$SECONDS
in_storage=$(buildah inspect --type image --format "{{index .Docker.Config.Labels \"$label\"}}" "$base" 2>/dev/null || true)
if [ "$in_storage" = "$key" ]; then
  say "stand-in $base: cached (image in container storage, key $key; Node.js $node_version)"
elif [ -f "$tarball" ]; then
  import_base
  say "stand-in $base: cached root filesystem $tarball imported ($(since "$t"))"
else
  mirror=$(debian_mirror)
  if [ -z "$mirror" ]; then apt-get update -qq >/dev/null && mirror=$(debian_mirror); fi
  [ -n "$mirror" ] || fail "apt has no Debian mirror configured here"
  say "stand-in $base: not cached (key $key), making it: debootstrap $suite from $mirror, Node.js $node_version"
  mkdir -p "$cache" "$work/rootfs"
  make_rootfs "$work/rootfs"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  rm -f "$cache"/node-"$major"-slim-*.tar # older keys of this major
  mv "$work/rootfs.tar" "$tarball"
  rm -rf "$work/rootfs" "$work/node"
  import_base
  say "stand-in $base: made in $(since "$t"), cached as $tarball ($(du -m "$tarball" | cut -f 1) MB)"
fi

# ------------------------------------------------------------------ the image
t=$SECONDS
buildah bud --isolation chroot --format docker --pull=never --layers=false -t "$image" -f Dockerfile . > "$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; fail "buildah bud of the Dockerfile failed (base: the stand-in $base)"; }
say "built $image from the Dockerfile in $(since "$t") (buildah bud --isolation chroot --format docker)"

: > "$work/pids"
node .ci/image-check.mjs --image "$image" --base "$base" --prefix "$prefix" --pids "$work/pids" \
  || fail "the image checks failed (above)"
say "ok ($(since "$started"))"
