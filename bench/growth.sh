#!/bin/bash
# Growth (BENCHMARKS.md, "Growth"): wall time and peak RSS of `pricing` jobs from 10^6 to 10^9
# scenarios, embedded and over RabbitMQ with two one-thread consumers, and whether the two
# summaries' outputs are the same bits. Needs a release `mcp`, the built models and a broker:
#   cargo build --release -p mcp-cli && cargo xtask build-model pricing && cargo xtask broker
#   bash bench/growth.sh [target-dir] [broker-url]   (SCENARIOS="1000000 ..." for other sizes)
set -eu
T=${1:-target}
B=${2:-amqp://guest:guest@127.0.0.1:5672/%2f}
M=$T/release/mcp
W=$T/models/pricing.wasm
S=$(dirname "$0")/../example-models/pricing/vars.toml
OUT=$(mktemp -d)
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
for N in ${SCENARIOS:-1000000 10000000 100000000 1000000000}; do
  /usr/bin/time -f "%e %M" -o "$OUT/time" "$M" submit "$W" --spec "$S" --scenarios $N --json \
    > "$OUT/embedded.json"
  read -r e r < "$OUT/time"
  echo "embedded    $N: ${e} s, peak RSS ${r} KiB"
  P=growth-$N-$$
  "$M" consumer --broker "$B" --prefix $P --threads 1 --id a > /dev/null 2>&1 & C1=$!
  "$M" consumer --broker "$B" --prefix $P --threads 1 --id b > /dev/null 2>&1 & C2=$!
  /usr/bin/time -f "%e %M" -o "$OUT/time" "$M" submit "$W" --spec "$S" --scenarios $N \
    --broker "$B" --prefix $P --wait --json > "$OUT/distributed.json"
  read -r e r < "$OUT/time"
  same=$(python3 -c "import json,sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); \
print(a['outputs'] == b['outputs'])" "$OUT/embedded.json" "$OUT/distributed.json")
  echo "distributed $N: ${e} s, submit peak RSS ${r} KiB, consumers $(hwm $C1) and $(hwm $C2) KiB, same outputs: $same"
  kill $C1 $C2
  wait $C1 $C2 || true
done
