#!/usr/bin/env bash
# Installs what earshot needs on Debian when it is missing, then builds.
# `ensure-deps.sh test` also installs what only the tests need.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < <(cat scripts/debian-packages.txt; [ "${1:-}" = test ] && cat scripts/debian-packages-test.txt)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "earshot: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm packages, when absent or older than the lock file; naudiodon's native binding must be built.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ ! -f node_modules/naudiodon/build/Release/naudiodon.node ]; then
  echo "earshot: installing npm packages" >&2
  npm ci --no-audit --no-fund >&2
fi

npx tsc -p tsconfig.json >&2
