#!/usr/bin/env bash
# Build (or find) the S3-compatible server the runbook tests store artifacts in:
# versitygw (github.com/versity/versitygw) with its posix backend, compiled from its Go
# module with CGO_ENABLED=0 and cached under ${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/s3/.
#
# Prints the path of the binary as the LAST line of stdout; build logs go to stderr.
# A warm cache costs no Go invocation. Environment: GO (default "go"), HXB_S3_CACHE.
set -euo pipefail

VERSION="v1.8.0"
GO="${GO:-go}"
cache_root="${HXB_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/s3}"
final="$cache_root/versitygw-$VERSION"

if [[ -x "$final/versitygw" ]]; then
    echo "$final/versitygw"
    exit 0
fi
command -v "$GO" >/dev/null 2>&1 || { echo "build_s3.sh: Go toolchain '$GO' not found" >&2; exit 3; }
mkdir -p "$cache_root"

build() {
    [[ -x "$final/versitygw" ]] && return 0
    local tmp
    tmp="$(mktemp -d "$cache_root/.tmp.versitygw.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "build_s3.sh: building versitygw $VERSION (CGO_ENABLED=0) ..." >&2
    # `go install module@version` builds with the module's own go.mod and go.sum, checked
    # against the Go checksum database: the same sources on every machine.
    CGO_ENABLED=0 GOFLAGS="-buildvcs=false" GOBIN="$tmp" \
        "$GO" install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSION" >&2
    mv -T "$tmp" "$final" 2>/dev/null || rm -rf "$tmp"
    trap - EXIT
}

if command -v flock >/dev/null 2>&1; then
    (exec 9>"$cache_root/.lock"; flock 9; build)
else
    build
fi
[[ -x "$final/versitygw" ]] || { echo "build_s3.sh: no binary at $final" >&2; exit 1; }
echo "$final/versitygw"
