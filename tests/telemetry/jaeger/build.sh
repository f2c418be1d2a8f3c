#!/usr/bin/env bash
# Build (or find) the Jaeger binary the trace-backend tests start: Jaeger v2 (an
# OpenTelemetry Collector distribution), compiled with CGO_ENABLED=0 from the module pinned
# in go.mod/go.sum beside this script, and cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/jaeger/<version>/.
#
# Prints the path of the binary as the LAST line of stdout; build logs go to stderr.
# A warm cache costs no Go invocation. A build goes to a temporary directory renamed into
# place when complete, under a file lock, so parallel callers never see half a binary.
# Environment: GO (default "go"), HXB_JAEGER_CACHE (cache root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-go}"
cache_root="${HXB_JAEGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/jaeger}"
version="$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2; exit }' "$here/go.mod")"
[[ -n "$version" ]] || { echo "build.sh: no Jaeger version in $here/go.mod" >&2; exit 2; }
final="$cache_root/$version"

if [[ -x "$final/jaeger" ]]; then
    echo "$final/jaeger"
    exit 0
fi
command -v "$GO" >/dev/null 2>&1 || { echo "build.sh: Go toolchain '$GO' not found (Go >= 1.25 is needed)" >&2; exit 3; }
mkdir -p "$cache_root"

build() {
    [[ -x "$final/jaeger" ]] && return 0
    # Leftovers of killed builds (we hold the lock, so none of them is still running).
    find "$cache_root" -maxdepth 1 -name '.tmp.*' -mmin +10 -exec rm -rf {} + 2>/dev/null || true
    local tmp t0=$SECONDS
    tmp="$(mktemp -d "$cache_root/.tmp.$version.XXXXXX")"
    chmod 755 "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    echo "build.sh: building Jaeger $version (CGO_ENABLED=0, ~3 min cold) ..." >&2
    (cd "$here" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
        nice -n 10 "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/jaeger" \
        github.com/jaegertracing/jaeger/cmd/jaeger) >&2
    { echo "jaeger=$version"; echo "go=$("$GO" env GOVERSION)"; echo "build_seconds=$((SECONDS - t0))"; } > "$tmp/VERSIONS"
    mv -T "$tmp" "$final" 2>/dev/null || rm -rf "$tmp"
    trap - EXIT
    echo "build.sh: built Jaeger $version in $((SECONDS - t0))s" >&2
}

if command -v flock >/dev/null 2>&1; then
    (exec 9>"$cache_root/.lock"; flock 9; build)
else
    build
fi
[[ -x "$final/jaeger" ]] || { echo "build.sh: no binary at $final/jaeger" >&2; exit 1; }
echo "$final/jaeger"
