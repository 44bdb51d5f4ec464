#!/bin/sh
# op_profile.sh SHARPC FILE.nas MODE BATCH [STEPS]: where a step's time goes,
# per generated kernel call. Builds FILE.nas with every kernel wrapper
# timed (bench/op_profile_cc.py as the C compiler), runs `EXE bench --mode
# MODE --batch BATCH --steps STEPS --warmup 1 --threads 2`, and prints the
# wrappers by total wall time over all steps (warm-up included: its first
# touches of the arena inflate the figures of the earliest calls), with call
# counts and the kernel call each wraps, then the totals per kernel.
# Example: sh bench/op_profile.sh build/codegen/sharpc examples/darts_v2.nas train 64
set -eu
if [ $# -lt 4 ]; then
  echo "usage: op_profile.sh SHARPC FILE.nas MODE BATCH [STEPS]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
sharpc=$1 nas=$2 mode=$3 batch=$4 steps=${5:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '#!/bin/sh\nexec python3 %s/op_profile_cc.py %s "$@"\n' "$here" "${CC:-cc}" > "$dir/cc"
chmod +x "$dir/cc"
"$sharpc" build "$nas" -o "$dir/exe" --cc "$dir/cc"
"$dir/exe" bench --mode "$mode" --batch "$batch" --steps "$steps" --warmup 1 --threads 2 2> "$dir/err" |
  grep '^RESULT' || { cat "$dir/err" >&2; exit 1; }
grep '^OPPROFILE' "$dir/err"
echo "-- per kernel (seconds over $((steps + 1)) steps, share)"
grep '^OP ' "$dir/err" | awk '{ split($5, a, "("); s[a[1]] += $2; t += $2 }
  END { for (k in s) printf "%9.4f %6.2f%% %s\n", s[k], 100 * s[k] / t, k }' | sort -rn
echo "-- per call site"
grep '^OP ' "$dir/err" | sed 's/^OP //' | head -${TOP:-40}
