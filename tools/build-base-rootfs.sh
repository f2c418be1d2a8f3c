#!/usr/bin/env bash
# The base root filesystem of the test runbook image: Debian bookworm (minbase) with Python 3,
# made by debootstrap and packed as one tar layer. Cached; prints the tar's path last.
#   ${XDG_CACHE_HOME:-~/.cache}/hxb-lab/node/base-bookworm-python3.tar
set -euo pipefail
cache="${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/node"
final="$cache/base-bookworm-python3.tar"
if [[ -f "$final" ]]; then echo "$final"; exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: run make test-deps" >&2; exit 3; }
mkdir -p "$cache"
exec 9>"$cache/.base.lock"
flock 9
if [[ -f "$final" ]]; then echo "$final"; exit 0; fi
find "$cache" -maxdepth 1 -name '.tmp.rootfs.*' -mmin +30 -exec rm -rf {} + 2>/dev/null || true
tmp="$(mktemp -d "$cache/.tmp.rootfs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
echo "build-base-rootfs: debootstrap bookworm (minbase, python3) ..." >&2
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$tmp/root" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$tmp/debootstrap.log" 2>&1 \
    || { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
# What an image does not need: package caches, device nodes (the runtime provides /dev).
rm -rf "$tmp/root"/var/cache/apt/archives/*.deb "$tmp/root"/var/lib/apt/lists/* "$tmp/root"/dev/*
tar -C "$tmp/root" --numeric-owner -cf "$tmp/base.tar" .
mv "$tmp/base.tar" "$final"
echo "build-base-rootfs: built in $((SECONDS - t0))s" >&2
echo "$final"
