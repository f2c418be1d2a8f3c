#!/usr/bin/env bash
# The partial plotly.js bundles a report inlines when they draw all of its traces
# (hxb_lab/runbooks/_plotlyjs.py): those npm publishes for the plotly.js release that
# plotly.py ships, fetched with npm into ~/.cache/hxb-lab/plotlyjs/<release> and copied into
# hxb_lab/runbooks/plotlyjs/ (not committed; packaged in the wheel). Idempotent and quiet
# when warm. Without them, reports inline the full plotly.js (about 5 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
read -r version names < <("$PYTHON" -c '
from hxb_lab.runbooks._plotlyjs import BUNDLES, plotly_version
print(plotly_version(), " ".join(b.name for b in BUNDLES))')
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hxb-lab/plotlyjs/$version
target=hxb_lab/runbooks/plotlyjs
mkdir -p "$cache" "$target"
for name in $names; do
  file=plotly-$name.min.js
  if [[ ! -s $cache/$file ]]; then
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "plotly.js-$name-dist-min@$version" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work" "package/$file"
    mv "$work/package/$file" "$cache/$file"
    rm -rf "$work"
    echo "fetched plotly.js $name $version"
  fi
  cmp -s "$cache/$file" "$target/$file" || cp "$cache/$file" "$target/$file"
done
