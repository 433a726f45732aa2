#!/usr/bin/env bash
# Trains DAGMM with the paper's settings for seeds 0-4 on each data set given (default: all four)
# and writes the mean ± std table. Skips runs whose summary.json already exists.
#   DAGMM_DATA_DIR=../shared/data scripts/run_paper_seeds.sh kddcup thyroid
set -euo pipefail
cd "$(dirname "$0")/.."
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(kddcup thyroid arrhythmia kddcup_rev)
seeds=${SEEDS:-"0 1 2 3 4"}
out=${OUT:-results/dagmm_paper}
cargo build --release -p dagmm-runner
for set in "${sets[@]}"; do
  for seed in $seeds; do
    dir="$out/$set/dagmm/seed$seed"
    if [ -f "$dir/summary.json" ]; then echo "done already: $dir"; continue; fi
    ./target/release/dagmm train --config "configs/$set/dagmm.toml" --seed "$seed" --out "$dir"
    rm -rf "$dir/model" "$dir/scores.csv"   # weights and per-row scores are not committed; rerun to get them
  done
done
./target/release/dagmm report "$out"
