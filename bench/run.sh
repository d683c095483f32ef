#!/usr/bin/env bash
# `npm run bench`: installs what the bench needs when it is missing (blackbox_exporter, the anchor,
# and wrk), compiles the watchdog as the image does, and runs bench/bench.ts. Loopback only;
# every loop is bounded, so the run stops by itself (about 1-2 minutes plus the first compile).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PACKAGES=(prometheus-blackbox-exporter wrk)

log() { echo "[bench] $*"; }

missing=()
for cmd in "${PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    log "ERROR: missing ${missing[*]}; installing needs root. Run once: sudo apt-get install -y ${PACKAGES[*]}"
    exit 1
  fi
  # Debian's postinst would start a system blackbox_exporter on :9115. A policy-rc.d that exits
  # 101 means "start nothing" (scripts/ensure-services.sh uses the same guard); it is removed
  # afterwards only if this script put it there.
  own_policy=""
  [[ -e /usr/sbin/policy-rc.d ]] || { own_policy=/usr/sbin/policy-rc.d; printf '#!/bin/sh\nexit 101\n' >"$own_policy"; chmod 755 "$own_policy"; }
  trap '[[ -z "$own_policy" ]] || rm -f "$own_policy"' EXIT
  log "installing ${missing[*]}"
  # The package lists may be stale or absent on a fresh machine: update only when needed.
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; }
  apt_install || { apt-get update && apt_install; }
  [[ -z "$own_policy" ]] || rm -f "$own_policy"
  own_policy=""
  # Belt and braces, for a policy that allowed the start: a service installed a moment ago serves nobody.
  { systemctl stop prometheus-blackbox-exporter || /etc/init.d/prometheus-blackbox-exporter stop; } >/dev/null 2>&1 || true
fi

# Compile src/ and bench/ to bench/.build (incremental: later runs only redo changed files).
# tsc still writes the JavaScript when some file has type errors; those in src/ belong to work in
# progress elsewhere and do not stop the bench, those in bench/ do.
log "compiling to bench/.build"
if ! out="$(npx tsc -p bench/tsconfig.json 2>&1)"; then
  if grep -q '^bench/' <<<"$out"; then
    echo "$out" >&2
    exit 1
  fi
  log "note: $(grep -c 'error TS' <<<"$out") type error(s) outside bench/ (npx tsc --noEmit -p . shows them); benchmarking the emitted code"
fi
cp package.json bench/.build/package.json

# `bash bench/run.sh scale` runs the 1,000-probe bench (bench/scale.ts) instead, `soak --minutes N` the soak
# (bench/soak.ts), `containers --containers N` the container-probe bench (bench/containers.ts); arguments
# after the name go to it.
exec node "bench/.build/bench/${1:-bench}.js" "${@:2}"
