#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 12) with the seeds in
# tests/fuzz/seeds, the golden event payloads and a dictionary
# (tests/fuzz/<target>.dict if there is one, else tests/fuzz/json.dict). The
# corpus grows in BUILD/fuzz-corpus/<target>; a crash leaves its input in
# BUILD/fuzz-artifacts/ and makes this script exit 1.
#   tests/fuzz/run.sh BUILD [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/fuzz/run.sh BUILD [SECONDS]}
seconds=${2:-12}
targets=(fuzz_json_body fuzz_request_body fuzz_request_reader
  fuzz_openapi_validator fuzz_event_codec fuzz_record)

# Golden payloads as `name:version` + newline + payload.
events_seeds=$build/fuzz-seeds/fuzz_event_codec
mkdir -p "$events_seeds" "$build/fuzz-artifacts"
for f in tests/data/events/*.v*.json; do
  base=$(basename "$f" .json)
  { printf '%s:%s\n' "${base%.v*}" "${base##*.v}"; cat "$f"; } \
    >"$events_seeds/$base"
done

failed=0
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t
  mkdir -p "$corpus"
  seeds=()
  [ -d "tests/fuzz/seeds/$t" ] && seeds+=("tests/fuzz/seeds/$t")
  [ -d "$build/fuzz-seeds/$t" ] && seeds+=("$build/fuzz-seeds/$t")
  log=$build/fuzz-artifacts/$t.log
  dict=tests/fuzz/json.dict
  [ -f "tests/fuzz/$t.dict" ] && dict=tests/fuzz/$t.dict
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -dict="$dict" \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$corpus" "${seeds[@]}" >"$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
    grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $status -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $status), see $log"
    grep -m1 -A30 'ERROR: \|==ERROR\|runtime error\|deadly signal' "$log"
    failed=1
  else
    echo "fuzz: $t ok: ${runs:-?} executions in ${seconds}s, $cov," \
      "corpus $(ls "$corpus" | wc -l)"
  fi
done
exit $failed
