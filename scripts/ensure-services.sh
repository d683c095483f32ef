#!/usr/bin/env bash
# Installs and starts the real programs the test suite talks to (Prometheus,
# Alertmanager, dockerd, a busybox image, and chromium for the status page's browser test). Idempotent: every step checks first,
# so running it on an already-prepared machine only prints "ok" lines.
# Network rule: everything stays on loopback; dockerd runs with --bridge=none.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP_DIR="$REPO_ROOT/.test-tmp"
IMAGE="watchdog-test/busybox:1"
PACKAGES=(prometheus prometheus-alertmanager docker.io busybox-static docker-compose chromium)

log() { echo "[ensure-services] $*"; }

mkdir -p "$TMP_DIR"

# --- 1. packages --------------------------------------------------------------
missing=()
for cmd in prometheus promtool prometheus-alertmanager amtool dockerd docker-compose chromium; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
# Only the static busybox works inside an empty imported rootfs (no libc there).
if [[ ! -x /bin/busybox ]] || ! dpkg -s busybox-static >/dev/null 2>&1; then
  missing+=("/bin/busybox(static)")
fi

if ((${#missing[@]} > 0)); then
  log "missing: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    log "ERROR: installing packages needs root. Run as root, or run once:"
    log "  sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}"
    exit 1
  fi
  # Debian's postinst scripts start system services (prometheus on :9090,
  # alertmanager on :9093, node-exporter on :9100, and a dockerd that would
  # create a docker0 bridge). policy-rc.d exit 101 tells invoke-rc.d and
  # deb-systemd-invoke "do not start anything"; we start our own instances.
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
    trap 'if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  fi
  log "apt-get update"
  apt-get update
  log "apt-get install ${PACKAGES[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
  if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; created_policy=0; fi

  # Belt and braces: if a service manager started them anyway (e.g. an existing
  # policy-rc.d that allows it), stop them so no system daemon is left on the
  # well-known ports. docker is NOT stopped here: that could kill a dockerd this
  # script started on an earlier run; a system one is caught by the docker0 check.
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
      systemctl stop "$svc" "$svc.socket" >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/$svc ]]; then
      /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
    fi
  done
  log "packages installed (system services stopped / not started)"
else
  log "packages: ok (prometheus, alertmanager, dockerd, docker-compose, chromium, static busybox present)"
fi

# Tests pick random free ports, but report a system daemon on the default ones
# because it usually means a package's service got started behind our back.
if command -v ss >/dev/null 2>&1; then
  for port in 9090 9093; do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      log "warning: something is listening on :$port (a system prometheus/alertmanager?); tests do not use it"
    fi
  done
fi

# A docker0 bridge means some dockerd ran without --bridge=none (e.g. a system
# service): containers could then get non-loopback addresses.
if [[ -e /sys/class/net/docker0 ]]; then
  log "WARNING: a docker0 bridge exists: a dockerd without --bridge=none is or was running."
  log "         Stop it (systemctl stop docker docker.socket) and run this script again."
fi

# --- 2. dockerd ---------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "dockerd: ok (already answering)"
else
  if [[ $(id -u) -ne 0 ]]; then
    log "ERROR: dockerd is not running and starting it needs root"
    exit 1
  fi
  log "dockerd: starting (vfs, --bridge=none), log: $TMP_DIR/dockerd.log"
  # setsid+nohup: the daemon must outlive this script and the test run, and must
  # not receive the terminal's SIGINT/SIGHUP. --bridge=none/--iptables=false:
  # no container may get an address or NAT rule outside loopback.
  setsid nohup dockerd \
    --storage-driver=vfs --bridge=none --iptables=false --ip-masq=false \
    >>"$TMP_DIR/dockerd.log" 2>&1 </dev/null &
  for ((i = 0; i < 60; i++)); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    log "ERROR: dockerd did not answer within 60 s; last log lines:"
    tail -n 30 "$TMP_DIR/dockerd.log" >&2 || true
    exit 1
  fi
  log "dockerd: up after ~${i} s"
fi

# --- 3. test image ------------------------------------------------------------
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE: ok"
else
  # Nothing can be pulled here, so the image is a rootfs holding only the
  # static busybox plus applet symlinks.
  log "image $IMAGE: building from /bin/busybox"
  rootfs="$(mktemp -d "$TMP_DIR/rootfs.XXXXXX")"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh sleep env dd httpd cat ls echo true false mkdir rm cp mv ps kill \
    head tail grep wc free top df du date uname id hostname nc wget touch printf seq yes; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["/bin/sleep", "600"]' \
    - "$IMAGE" >/dev/null
  rm -rf "$rootfs"
  docker image inspect "$IMAGE" >/dev/null
  log "image $IMAGE: imported"
fi

log "all services ready"
