#!/usr/bin/env bash
# Build (or find) the binaries of the test Kubernetes control plane:
# kube-apiserver, etcd and kubectl, compiled from Go modules (see README.md).
#
# Prints the directory that holds the three binaries as the LAST line of stdout;
# everything else (build logs) goes to stderr.
#
#   - KUBEBUILDER_ASSETS set and holding kube-apiserver and etcd: that directory is
#     used as is (envtest convention). If it has no kubectl, kubectl is built and a
#     cache directory of symlinks (envtest binaries + built kubectl) is printed.
#   - otherwise: ${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/controlplane/<k8s>-etcd<etcd>/
#     is printed, built first if it does not exist. A build goes to a temporary
#     directory that is renamed into place only when complete, so an interrupted
#     build is never taken for a finished one. A warm cache costs no Go invocation.
#
# Environment: GO (go binary, default "go"), HXB_CONTROLPLANE_CACHE (cache root,
# default ${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/controlplane).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-go}"
cache_root="${HXB_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/controlplane}"

# Versions come from the wrapper modules themselves (no Go invocation needed).
mod_version() { # <go.mod> <module path>
    awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { v = ($1 == "require") ? $3 : $2; if (v ~ /^v[0-9]/) { print v; exit } }' "$1"
}
k8s_version="$(mod_version "$here/go.mod" k8s.io/kubernetes)"
etcd_version="$(mod_version "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
if [[ -z "$k8s_version" || -z "$etcd_version" ]]; then
    echo "build.sh: cannot read versions from $here/go.mod and $here/etcd/go.mod" >&2
    exit 2
fi

have_bins() { # <dir> <name>...
    local d="$1"; shift
    local b
    for b in "$@"; do [[ -x "$d/$b" && -f "$d/$b" ]] || return 1; done
}

log() { echo "build.sh: $*" >&2; }

tmp="" # the temporary build directory, removed on failure by an EXIT trap

# ---- build helpers ---------------------------------------------------------------
go_env() {
    export CGO_ENABLED=0
    # A stray GOFLAGS=-mod=vendor or similar must not leak in; go.sum is committed.
    export GOFLAGS="-mod=readonly -buildvcs=false"
}

k8s_ldflags() {
    local v="$k8s_version" major minor
    major="${v#v}"; major="${major%%.*}"
    minor="${v#v*.}"; minor="${minor%%.*}"
    local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    local flags="-s -w"
    local pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
    done
    echo "$flags"
}

build_k8s() { # <outdir> <pkg name>...  (kube-apiserver, kubectl)
    local out="$1"; shift
    local pkgs=() n
    for n in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
    log "building ${*} $k8s_version (CGO_ENABLED=0) ..."
    (cd "$here" && go_env && "$GO" build -trimpath -ldflags "$(k8s_ldflags)" -o "$out/" "${pkgs[@]}") >&2
}

build_etcd() { # <outdir>
    local out="$1"
    log "building etcd $etcd_version (CGO_ENABLED=0) ..."
    (cd "$here/etcd" && go_env && "$GO" build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3) >&2
}

# Run "$@" holding an exclusive lock on <lockfile> when flock(1) is available, so that
# parallel test workers do not build the same thing twice.
with_lock() { # <lockfile> <cmd>...
    local lock="$1"; shift
    if command -v flock >/dev/null 2>&1; then
        (
            exec 9>"$lock"
            flock 9
            "$@"
        )
    else
        "$@"
    fi
}

publish() { # <tmpdir> <final dir>: atomic rename; a concurrent winner is fine.
    local tmp="$1" final="$2"
    if ! mv -T "$tmp" "$final" 2>/dev/null; then
        rm -rf "$tmp"
        have_bins "$final" "${@:3}" || { log "could not publish $final"; return 1; }
    fi
}

# ---- node: kubelet, kube-scheduler, kube-controller-manager (`build.sh node`) ---------
# The parts that make the plane run pods (tests/support/node.py), and `pause`, the program of
# the pods' sandbox image (pause/). Their own cache directory, so the control-plane tests
# never wait for them.
if [[ "${1:-}" == node ]]; then
    node_bins=(kubelet kube-scheduler kube-controller-manager pause)
    final="$cache_root/$k8s_version-node"
    if have_bins "$final" "${node_bins[@]}"; then
        echo "$final"
        exit 0
    fi
    command -v "$GO" >/dev/null 2>&1 || { log "Go toolchain '$GO' not found (Go >= 1.25 is needed)"; exit 3; }
    mkdir -p "$cache_root"
    do_node() {
        have_bins "$final" "${node_bins[@]}" && return 0
        tmp="$(mktemp -d "$cache_root/.tmp.$k8s_version-node.XXXXXX")"
        chmod 755 "$tmp"
        trap 'rm -rf "$tmp"' EXIT
        local t0=$SECONDS
        build_k8s "$tmp" kubelet kube-scheduler kube-controller-manager
        log "building the pause program ..."
        (cd "$here/pause" && go_env && "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/pause" .) >&2
        { echo "kubernetes=$k8s_version"; echo "go=$("$GO" env GOVERSION)"; echo "build_seconds=$((SECONDS - t0))"; } > "$tmp/VERSIONS"
        publish "$tmp" "$final" "${node_bins[@]}"
        trap - EXIT
        log "built the node binaries in $((SECONDS - t0))s"
    }
    with_lock "$cache_root/.lock" do_node
    echo "$final"
    exit 0
fi

# ---- KUBEBUILDER_ASSETS ------------------------------------------------------------
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && have_bins "$KUBEBUILDER_ASSETS" kube-apiserver etcd; then
    assets="$(cd "$KUBEBUILDER_ASSETS" && pwd -P)"
    if have_bins "$assets" kubectl; then
        echo "$assets"
        exit 0
    fi
    # envtest without kubectl: a directory of symlinks plus a kubectl built here.
    key="$(printf '%s' "$assets" | cksum | awk '{print $1}')"
    final="$cache_root/envtest-$key-kubectl-$k8s_version"
    if ! have_bins "$final" kube-apiserver etcd kubectl; then
        mkdir -p "$cache_root"
        do_envtest() {
            have_bins "$final" kube-apiserver etcd kubectl && return 0
            tmp="$(mktemp -d "$cache_root/.tmp.envtest.XXXXXX")"
            chmod 755 "$tmp"
            trap 'rm -rf "$tmp"' EXIT
            build_k8s "$tmp" kubectl
            ln -s "$assets/kube-apiserver" "$tmp/kube-apiserver"
            ln -s "$assets/etcd" "$tmp/etcd"
            publish "$tmp" "$final" kube-apiserver etcd kubectl
            trap - EXIT
        }
        with_lock "$cache_root/.lock" do_envtest
    fi
    echo "$final"
    exit 0
fi

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; using own build"
fi

# ---- own build -----------------------------------------------------------------------
final="$cache_root/$k8s_version-etcd$etcd_version"
if have_bins "$final" kube-apiserver etcd kubectl; then
    echo "$final"
    exit 0
fi

command -v "$GO" >/dev/null 2>&1 || { log "Go toolchain '$GO' not found (Go >= 1.25 is needed)"; exit 3; }
mkdir -p "$cache_root"

do_build() {
    have_bins "$final" kube-apiserver etcd kubectl && return 0
    # Leftovers of killed builds (we hold the lock, so none of them is still running).
    find "$cache_root" -maxdepth 1 -name '.tmp.*' -mmin +10 -exec rm -rf {} + 2>/dev/null || true
    tmp="$(mktemp -d "$cache_root/.tmp.$k8s_version-etcd$etcd_version.XXXXXX")"
    chmod 755 "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    local t0=$SECONDS
    build_etcd "$tmp"
    build_k8s "$tmp" kube-apiserver kubectl
    {
        echo "kubernetes=$k8s_version"
        echo "etcd=$etcd_version"
        echo "go=$("$GO" env GOVERSION)"
        echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "build_seconds=$((SECONDS - t0))"
    } > "$tmp/VERSIONS"
    publish "$tmp" "$final" kube-apiserver etcd kubectl
    trap - EXIT
    log "built in $((SECONDS - t0))s"
}
with_lock "$cache_root/.lock" do_build

echo "$final"
