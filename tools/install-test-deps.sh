#!/usr/bin/env bash
# Install what the test suite needs beyond Python packages: Debian packages and binaries
# built from Go modules (cached under ~/.cache/hxb-lab). Idempotent and quiet when warm.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests start for real (one per line in tools/debian-packages.txt).
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < tools/debian-packages.txt
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Binaries built from Go modules (kube-apiserver, etcd, kubectl).
if [[ -x tests/controlplane/build.sh ]]; then
  bash tests/controlplane/build.sh >/dev/null
fi
bash tests/runbooks/build_s3.sh >/dev/null  # versitygw: the S3 server of the runbook tests
bash tests/telemetry/jaeger/build.sh >/dev/null  # Jaeger v2: the trace backend of its tests
# The test node: kubelet, kube-scheduler, kube-controller-manager, pause; the base root
# filesystem of the runbook image (debootstrap). The image itself is built by the tests
# from the checkout's wheel and cached by its hash.
bash tests/controlplane/build.sh node >/dev/null
bash tools/build-base-rootfs.sh >/dev/null
# OpenSearch from Maven Central on Debian's Java 17, the log search tests' Elasticsearch API.
bash tools/build-opensearch.sh >/dev/null
