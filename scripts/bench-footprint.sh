#!/usr/bin/env bash
# Footprint benchmark: the WebAssembly bundle (gzip -9) and the resident memory of the release
# server, idle after start and after a burst of page renders. Needs a release build
# (`cargo leptos build --release`). Fails when idle RSS exceeds 50 MB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORT=${BENCH_PORT:-3290}
DATA=$(mktemp -d /tmp/seatgate-bench-XXXXXX)
LEPTOS_SITE_ROOT=target/site ./target/release/seatgate serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
idle=$(awk '/VmRSS/{print $2}' "/proc/$PID/status")
N=${BENCH_REQUESTS:-500}
start=$(date +%s.%N)
for _ in $(seq 1 "$N"); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/signup"; done
end=$(date +%s.%N)
sleep 1
after=$(awk '/VmRSS/{print $2}' "/proc/$PID/status")
peak=$(awk '/VmHWM/{print $2}' "/proc/$PID/status")
./scripts/check-size.sh
printf 'server RSS: idle %d KB; after %d sequential /signup renders %d KB (peak %d KB)\n' "$idle" "$N" "$after" "$peak"
awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN { printf "sequential /signup renders (curl, one connection each): %.2f ms mean\n", (e-s)*1000/n }'
[ "$idle" -le 51200 ] || { echo "idle RSS over 50 MB"; exit 1; }
