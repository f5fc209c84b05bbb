#!/usr/bin/env bash
# The Debian package, end to end without installing it on this machine:
# cpack -G DEB from the build directory, the control data (conffile,
# maintainer scripts, library dependencies), dpkg -x into a throw-away root,
# the unpacked binary's --version and a real `serve` with the packaged INI
# (working directory = the state directory, as the unit runs it: health and
# /metrics answer, SIGTERM exits 0), and `systemd-analyze verify` on the
# packaged unit (its ExecStart pointed at the unpacked binary), which must
# print nothing. Stops only the process it started.
#   tests/packaging/package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deployd-package.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack"; }
deb=$(ls "$tmp"/out/deployd_*_*.deb)
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

dpkg-deb -f "$deb" Package | grep -qx deployd || fail "Package field"
depends=$(dpkg-deb -f "$deb" Depends)
# jemalloc is linked only outside sanitizer builds (CMakeLists.txt): expect
# it in Depends exactly when the binary needs it.
expected=(adduser librocksdb libcaf-core libssl3 libprometheus-cpp-core)
if objdump -p "$build/deployd" | grep -q 'NEEDED.*libjemalloc'; then
  expected+=(libjemalloc)
fi
for lib in "${expected[@]}"; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/deployd/deployd.ini "$tmp/control/conffiles" || fail "conffiles"
for s in postinst prerm postrm; do
  [ -x "$tmp/control/$s" ] || fail "$s missing or not executable"
  sh -n "$tmp/control/$s" || fail "$s syntax"
done
grep -q 'adduser --system' "$tmp/control/postinst" || fail "postinst makes no user"

root=$tmp/root
dpkg -x "$deb" "$root"
bin=$root/usr/bin/deployd
unit=$root/lib/systemd/system/deployd.service
for f in "$bin" "$root/etc/deployd/deployd.ini" "$unit" \
  "$root/usr/share/doc/deployd/usage.txt"; do
  [ -e "$f" ] || fail "$f not in the package"
done
grep -q '^usage: deployd' "$root/usr/share/doc/deployd/usage.txt" || fail "usage.txt"
man=$root/usr/share/man/man1/deployd.1.gz
[ -s "$man" ] || fail "man page not in the package"
zcat "$man" | grep -q '^\.TH DEPLOYD "1"' || fail "man page header"
zcat "$man" | grep -q 'deployd.ini' || fail "man page FILES"
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$man" 2>/dev/null | grep -q 'cluster status' ||
    fail "man page does not render the commands"
fi
cmp -s "$root/etc/deployd/deployd.ini" "$(dirname "$0")/../../config/service.ini" ||
  fail "deployd.ini differs from config/service.ini"
grep -qx 'User=deployd' "$unit" || fail "unit user"
grep -qx 'StateDirectory=deployd' "$unit" || fail "unit StateDirectory"

"$bin" --version >"$tmp/version" || fail "--version exit $?"
grep -q '^deployd [0-9]' "$tmp/version" || fail "--version: $(cat "$tmp/version")"
"$bin" serve --help >"$tmp/help" || fail "serve --help exit $?"
grep -q '^usage: deployd serve' "$tmp/help" || fail "serve --help"

# serve as the unit does: the packaged INI, the state directory as cwd.
state=$tmp/state
mkdir "$state"
(cd "$state" && exec "$bin" serve --config "$root/etc/deployd/deployd.ini" \
  --port 0 --port-file "$tmp/port") >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/serve.log" >&2; fail "serve did not listen"; }
url=http://127.0.0.1:$(cat "$tmp/port")
[ "$(curl -s --max-time 5 "$url/api/health")" = true ] || fail "health"
curl -sf --max-time 5 -o "$tmp/metrics" "$url/metrics" || fail "/metrics"
grep -q '^deployd_log_position ' "$tmp/metrics" || fail "/metrics text"
[ -d "$state/data" ] || fail "data not in the working directory"
# /docs with Swagger UI's files from /usr/share/deployd/swagger-ui.
[ -s "$root/usr/share/deployd/swagger-ui/swagger-ui-bundle.js" ] ||
  fail "Swagger UI not in the package"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/docs")" = 200 ] ||
  fail "/docs"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
  "$url/docs/swagger-ui-bundle.js")" = 200 ] || fail "/docs/swagger-ui-bundle.js"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || { cat "$tmp/serve.log" >&2; fail "serve exit $status after SIGTERM"; }

# The unit, with ExecStart pointed at the unpacked binary (verify checks the
# command exists); any message (unknown key, bad value) fails.
mkdir "$tmp/unit"
sed "s|/usr/bin/deployd|$bin|" "$unit" >"$tmp/unit/deployd.service"
out=$(systemd-analyze verify "$tmp/unit/deployd.service" 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
echo "package test passed"
