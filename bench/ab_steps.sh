#!/bin/sh
# ab_steps.sh MODE BATCH ROUNDS EXE...: compares built executables' step
# times on this machine, whose speed drifts by up to half within minutes:
# runs `EXE bench --mode MODE --batch BATCH --steps 3 --warmup 1 --threads 2`
# of each executable in turn, ROUNDS times, then prints per executable the
# minimum step and the median of the rounds' median steps.
# MODE: search-first or train (see `EXE bench --help`).
# Example: sh bench/ab_steps.sh search-first 32 5 /tmp/old/search /tmp/new/search
set -eu
if [ $# -lt 4 ]; then
  echo "usage: ab_steps.sh MODE BATCH ROUNDS EXE..." >&2
  exit 2
fi
mode=$1 batch=$2 rounds=$3
shift 3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
  for exe in "$@"; do
    line=$("$exe" bench --mode "$mode" --batch "$batch" --steps 3 --warmup 1 --threads 2 2>&1 | grep '^RESULT') || {
      echo "ab_steps: $exe bench failed" >&2
      exit 1
    }
    med=$(echo "$line" | sed 's/.*median_s=\([0-9.]*\).*/\1/')
    min=$(echo "$line" | sed 's/.*min_s=\([0-9.]*\).*/\1/')
    echo "$exe $med $min" >> "$out"
    echo "round $r: $exe median $med s, min $min s"
  done
done
for exe in "$@"; do
  grep "^$exe " "$out" | awk '{print $2, $3}' | sort -n |
    awk -v exe="$exe" '{med[NR] = $1; if (NR == 1 || $2 < mn) mn = $2}
      END {printf "%s: min %.4f s, median of %d round medians %.4f s\n", exe, mn, NR, med[int((NR + 1) / 2)]}'
done
