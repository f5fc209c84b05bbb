#!/usr/bin/env bash
# The README's "Running in production", step by step, on a fresh Debian 12
# with systemd as PID 1: debootstrap a minimal bookworm into a throw-away
# folder, boot it with systemd-nspawn, and inside it `apt-get install` the
# .deb (dependencies from Debian's mirror), set the port in
# /etc/deployd/deployd.ini, `systemctl start deployd`, then read health,
# /metrics, /docs and /api/openapi.json, create a flow, restart the service
# and read the flow back from the state directory, find the request lines in
# the journal, and `apt-get remove` (the unit stops). Stops only the
# container it booted. Needs root and Debian's mirror; about 2-3 minutes,
# most of it debootstrap, so it is not part of CI (run it by hand):
#   tests/packaging/systemd_test.sh BUILD_DIR_OR_DEB [PORT]
set -euo pipefail
arg=${1:?usage: systemd_test.sh BUILD_DIR_OR_DEB [PORT]}
port=${2:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deployd-systemd.XXXXXX")
nspawn=
leader=
cleanup() {
  if [ -n "$leader" ]; then
    # SIGRTMIN+4 asks the container's systemd to power off.
    kill -s RTMIN+4 "$leader" 2>/dev/null || true
  fi
  if [ -n "$nspawn" ]; then
    for _ in $(seq 60); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $* ($SECONDS s)"; }

if [ -d "$arg" ]; then
  step "cpack -G DEB"
  cpack --config "$arg/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log" >&2; fail "cpack"; }
  deb=$(ls "$tmp"/out/deployd_*_*.deb)
else
  deb=$arg
fi
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; fail "apt-get install ${missing[*]}"; }
fi

root=$tmp/root
step "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,ca-certificates \
  bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
  { tail -20 "$tmp/debootstrap.log" >&2; fail "debootstrap"; }
cp "$deb" "$root/root/"
deb_in=/root/$(basename "$deb")

step "boot it with systemd-nspawn"
# No host systemd here: no machine registration, no scope of its own. The
# host's network is shared, so apt reaches the mirror and curl the port.
setsid systemd-nspawn -q -D "$root" -b --register=no --keep-unit \
  -M "deployd-test-$$" >"$tmp/console.log" 2>&1 </dev/null &
nspawn=$!
for _ in $(seq 100); do
  leader=$(pgrep -P "$nspawn" -x systemd || true)
  [ -n "$leader" ] && break
  kill -0 "$nspawn" 2>/dev/null || { cat "$tmp/console.log" >&2; fail "systemd-nspawn exited"; }
  sleep 0.2
done
[ -n "$leader" ] || fail "no systemd in the container"
inside() { nsenter -t "$leader" -a -- "$@"; }
state=
for _ in $(seq 120); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 0.5
done
case $state in running|degraded) ;; *) cat "$tmp/console.log" >&2; fail "system state '$state'" ;; esac
[ "$(inside readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] || fail "PID 1 is not systemd"

step "apt-get install ./$(basename "$deb")"
inside env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$tmp/apt-update.log" 2>&1 ||
  { tail "$tmp/apt-update.log" >&2; fail "apt-get update"; }
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb_in" >"$tmp/apt-install.log" 2>&1 ||
  { tail -30 "$tmp/apt-install.log" >&2; fail "apt-get install"; }
if grep -i 'warning' "$tmp/apt-install.log" | grep -iv 'apt does not have a stable' >&2; then
  fail "warnings while installing"
fi
inside getent passwd deployd >/dev/null || fail "no deployd user"
[ "$(inside systemctl is-enabled deployd)" = enabled ] || fail "unit not enabled"
[ "$(inside systemctl is-active deployd || true)" = inactive ] || fail "started before its settings were edited"

step "edit /etc/deployd/deployd.ini (port $port), systemctl start deployd"
inside sed -i "s/^port = .*/port = $port/" /etc/deployd/deployd.ini
inside grep -qx "port = $port" /etc/deployd/deployd.ini || fail "no 'port = ' line in the INI"
inside systemctl start deployd
url=http://127.0.0.1:$port
wait_up() {
  for _ in $(seq 100); do
    inside curl -fs "$url/api/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  inside journalctl -u deployd --no-pager | tail -20 >&2
  fail "no health answer on $url"
}
wait_up
[ "$(inside systemctl show -p User --value deployd)" = deployd ] || fail "unit user"
main_pid=$(inside systemctl show -p MainPID --value deployd)
[ "$(inside stat -c %U "/proc/$main_pid")" = deployd ] || fail "server not running as deployd"

inside curl -fs "$url/metrics" >"$tmp/metrics" || fail "/metrics"
grep -q '^deployd_http_requests_total{' "$tmp/metrics" || fail "/metrics has no request counter"
inside curl -fs "$url/docs" | grep -q 'swagger-ui' || fail "/docs is not Swagger UI"
inside curl -fs "$url/docs/swagger-ui-bundle.js" -o /dev/null || fail "/docs static files"
inside curl -fs "$url/api/openapi.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert "/api/deployments/" in d["paths"]' ||
  fail "/api/openapi.json"
flow=$(inside curl -fs -X POST -H 'Content-Type: application/json' -d '{"name":"systemd-test"}' "$url/api/flows/" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "POST /api/flows/"

step "systemctl restart deployd: the flow is still there"
inside systemctl restart deployd
wait_up
inside curl -fs "$url/api/flows/$flow" | grep -q '"systemd-test"' || fail "the flow was lost by a restart"
inside test -d /var/lib/deployd/data || fail "no data in the state directory"
inside journalctl -u deployd --no-pager | grep -q 'route=/api/flows/' || fail "no request line in the journal"

step "apt-get remove deployd: the unit stops, the data stays"
inside env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q deployd >"$tmp/apt-remove.log" 2>&1 ||
  { tail "$tmp/apt-remove.log" >&2; fail "apt-get remove"; }
[ "$(inside systemctl is-active deployd || true)" != active ] || fail "still running after remove"
inside test -d /var/lib/deployd/data || fail "data removed with the package"
echo "PASS: $(basename "$deb") installed, served and removed under systemd in $SECONDS s"
