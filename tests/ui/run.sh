#!/usr/bin/env bash
# The Prefect UI library's events API against a real deployd (issue 16).
# By hand, outside CI (npm's registry, ~30 s): installs the pinned npm
# packages into a temporary folder, starts DEPLOYD (default build/deployd)
# on a free port with a fresh data dir, writes a flow and 70 deployments,
# then runs events_api_check.mjs: getEvents, getNextPage, getEvent,
# getFirstEvent, getEventsCount and getEventsHistory must map every answer
# and agree with each other. Stops only the server it started.
#   tests/ui/run.sh [path/to/deployd]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../../build/deployd}")
dir=$(mktemp -d "${TMPDIR:-/tmp}/deployd-ui.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

cp "$here/events_api_check.mjs" "$dir/"
printf '{"name":"deployd-ui-check","private":true,"type":"module"}\n' >"$dir/package.json"
(cd "$dir" && npm install --no-audit --no-fund --legacy-peer-deps --silent \
  @prefecthq/prefect-ui-library@3.15.0 @prefecthq/prefect-design@2.16.4 \
  @prefecthq/vue-charts@2.1.1 @prefecthq/vue-compositions@1.12.2 \
  vee-validate@4.15.1 vue@3.5.47 vue-router@5.6.1 jsdom@29.1.1)

"$bin" serve --port 0 --port-file "$dir/port" --data-dir "$dir/data" \
  >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$dir/port")/api
until curl -sf -o /dev/null "$url/health"; do sleep 0.05; done
post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$url$1"; }
flow=$(post /flows/ '{"name":"ui-check"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
for i in $(seq 70); do
  post /deployments/ "{\"name\":\"d$i\",\"flow_id\":\"$flow\",\"tags\":[\"t$((i % 3))\"]}" >/dev/null
done
(cd "$dir" && node events_api_check.mjs "$url")
