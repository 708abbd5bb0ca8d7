#!/usr/bin/env bash
# Runs each fuzz target of benches/fuzz/ for a fixed time and prints how many inputs it ran and
# whether it found a crash. Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly; cargo install cargo-fuzz
# Usage: benches/fuzz.sh [SECONDS_PER_TARGET (default 300)] [TARGET...]
# Corpora are kept in benches/fuzz/corpus/TARGET (seeded from the example site and the test
# fixtures), crashes in benches/fuzz/artifacts/TARGET. Run nothing else meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(page html inject)
tdir="${SOPIXI_FUZZ_TARGET:-$HOME/.cache/sopixi-fuzz-target}"
cargo +nightly fuzz build --fuzz-dir benches/fuzz -O --target-dir "$tdir"
seed() { # $1 target, $2.. files
  local dir="benches/fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do cp "$f" "$dir/seed-$(echo "$f" | md5sum | cut -c1-12)" 2>/dev/null || true; done
}
seed page $(find example-site/content tests/fixtures -name '*.md' | head -200)
seed html $(find tests/fixtures example-site themes -name '*.html' | head -200)
seed inject $(find tests/fixtures/hostile -name "*.html")
printf '%-6s %10s %12s %8s  %s\n' target seconds inputs "exec/s" result
crashed=0
for t in "${targets[@]}"; do
  log="$(mktemp)"
  set +e
  cargo +nightly fuzz run --fuzz-dir benches/fuzz -O --target-dir "$tdir" "$t" "benches/fuzz/corpus/$t" -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  [ -z "$runs" ] && runs=$(grep -o '#[0-9]*' "$log" | tail -1 | tr -d '#')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -eq 0 ]; then result="no crash"; else result="CRASH (exit $rc): $(grep -m1 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | cut -c1-120); input in benches/fuzz/artifacts/$t/"; fi
  printf '%-6s %10s %12s %8s  %s\n' "$t" "$secs" "${runs:-?}" "${speed:-?}" "$result"
  if [ $rc -ne 0 ]; then tail -40 "$log" >&2; crashed=1; fi
  rm -f "$log"
done
exit $crashed
