#!/bin/sh
# run_bench.sh [SHARPC]: the issue-3 step benchmark, sharpc against PyTorch
# 1.13 (Debian's /usr/bin/python3) on this machine, 2 threads each, same
# network, batch and synthetic input:
#   (a)  sharpDARTS search network C 16, 8 cells, 4 steps, PRIMITIVES, batch 48,
#        one first-order search step (bench/sharpdarts_search_c16.nas);
#   (b)  DARTS_V2 C 36, 20 cells, training step with the auxiliary head
#        (loss + 0.4 aux), batch 64 (examples/darts_v2.nas);
#   (fm) the Fashion-MNIST supernet, batch 32, first-order search step
#        (examples/fashion_mnist.nas);
#   (ft) a genotype found on Fashion-MNIST, training step at batch 64 (FT_NAS,
#        default tests/ship/fashion_found.nas; scripts/run-main.sh's genotype
#        is runs/search-out/genotype.nas; PyTorch reads the same file).
# Builds the executables with SHARPC (default build-bench/codegen/sharpc),
# checks that the PyTorch models have sharpc's state_dict names, runs each
# side in its own process (so peak RSS is per side) and prints the table.
# Environment: ROUNDS (default 1): runs of each side per case, alternating,
# so that both sides meet the same phases of a machine whose speed drifts
# (the table then gives the medians over the rounds, the median of the
# per-round speed-ups and their range); STEPS (timed steps, default 3),
# WARMUP (default 1), CASES (default "a b fm"), SIDES (default "sharpc
# torch"; a side left out keeps its earlier results in
# BENCH_DIR/results.txt), BENCH_DIR (executables and logs, default
# /tmp/sharpc-bench). Not a ctest test: it takes many minutes. On a shared,
# oversubscribed machine run it with OMP_WAIT_POLICY=passive (passed to both
# sides): libgomp's spinning barriers otherwise burn most of the time slices.
# Case (a) builds with `sharpc build --low-memory` (A_FLAGS, default
# --low-memory; A_FLAGS= for the default plan): the issue's goal there is
# speed and memory at once.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sharpc=${1:-$root/build-bench/codegen/sharpc}
dir=${BENCH_DIR:-/tmp/sharpc-bench}
steps=${STEPS:-3}
warmup=${WARMUP:-1}
rounds=${ROUNDS:-1}
cases=${CASES:-"a b fm"}
sides=${SIDES:-"sharpc torch"}
threads=2
py=/usr/bin/python3
export OMP_NUM_THREADS=$threads

if [ ! -x "$sharpc" ]; then
  echo "run_bench: no sharpc at $sharpc; build it first:" >&2
  echo "  cmake -S $root -B $root/build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build $root/build-bench -j2" >&2
  exit 2
fi
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "run_bench: PyTorch missing: install Debian's python3-torch" >&2
  exit 2
fi
mkdir -p "$dir"
results=$dir/results.txt
touch "$results"

# drop_result KIND NET [SIDE]: removes a case's earlier line from $results.
drop_result() {
  grep -v "^$1 \(side=${3:-[a-z]*} \)\?net=$2 " "$results" > "$results.tmp" || true
  mv "$results.tmp" "$results"
}
has_side() { case " $sides " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# case -> net name, .nas file, batch, mode, goal speed-up, goal memory fraction
case_info() {
  case $1 in
    a) echo "sharpdarts_search_c16 bench/sharpdarts_search_c16.nas 48 search-first 4 0.3333" ;;
    b) echo "darts_v2 examples/darts_v2.nas 64 train 2 0.5" ;;
    fm) echo "fashion_search examples/fashion_mnist.nas 32 search-first - -" ;;
    ft) echo "fashion_found ${FT_NAS:-tests/ship/fashion_found.nas} 64 train - -" ;;
    *) echo "run_bench: unknown case $1" >&2; exit 2 ;;
  esac
}

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $threads threads per side"
echo "== load at start: $(uptime); OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
for c in $cases; do
  set -- $(case_info "$c")
  net=$1 nas=$2 batch=$3 mode=$4
  nasopt=
  if [ "$net" = fashion_found ]; then
    case $nas in /*) nasopt="--nas $nas" ;; *) nasopt="--nas $root/$nas" ;; esac
  fi
  flags=
  if [ "$c" = a ]; then flags=${A_FLAGS---low-memory}; fi
  echo "== ($c) $net: building with sharpc${flags:+ ($flags)}"
  t0=$(date +%s)
  # shellcheck disable=SC2086
  (cd "$root" && "$sharpc" build "$nas" -o "$dir/$net" $flags)
  echo "   built in $(($(date +%s) - t0)) s"
  # shellcheck disable=SC2086
  "$py" "$root/bench/torch_bench.py" "$net" $nasopt --check-names "$sharpc"
  macs=$(cd "$root" && "$sharpc" dump --stats "$nas" | sed -n 's/^ *multiply-adds *\([0-9,]*\).*/\1/p' | tr -d ,)
  drop_result MACS "$net"
  echo "MACS net=$net macs_per_sample=$macs" >> "$results"
  has_side sharpc && drop_result RESULT "$net" sharpc
  has_side torch && drop_result RESULT "$net" torch
  for r in $(seq "$rounds"); do
    if has_side sharpc; then
      echo "== ($c) sharpc: $net bench --mode $mode --batch $batch, round $r ($(uptime | sed 's/.*load/load/'))"
      "$dir/$net" bench --mode "$mode" --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" \
        | tee "$dir/$net.sharpc.log"
      # the executable names its network as the .nas file does; the table keys on the case's name
      grep '^RESULT' "$dir/$net.sharpc.log" | sed "s/ net=[^ ]* / net=$net /; s/\$/ round=$r/" >> "$results"
    fi
    if has_side torch; then
      echo "== ($c) PyTorch: torch_bench.py $net --mode $mode --batch $batch, round $r ($(uptime | sed 's/.*load/load/'))"
      # shellcheck disable=SC2086
      "$py" "$root/bench/torch_bench.py" "$net" $nasopt --mode "$mode" --batch "$batch" --steps "$steps" --warmup "$warmup" \
        --threads "$threads" | tee "$dir/$net.torch.log"
      grep '^RESULT' "$dir/$net.torch.log" | sed "s/\$/ round=$r/" >> "$results"
    fi
  done
done
echo "== load at end: $(uptime)"

# The table: one row per case from the RESULT lines.
echo
echo "| case | batch | sharpc s (median / min) | PyTorch s (median / min) | speed-up | CPU-time ratio | sharpc peak RSS | PyTorch peak RSS | memory ratio | goal | met |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
for c in $cases; do
  set -- $(case_info "$c")
  awk -v net="$1" -v cs="$c" -v gs="$5" -v gm="$6" '
    function kv(line, key,   n, i, f, p) {
      n = split(line, f, " ")
      for (i = 1; i <= n; i++) { split(f[i], p, "="); if (p[1] == key) return p[2] }
      return ""
    }
    function median(a, n,   i, j, t) {
      for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    /^RESULT/ && kv($0, "net") == net {
      side = kv($0, "side"); r = kv($0, "round"); if (r == "") r = 1
      med[side, r] = kv($0, "median_s"); cpu[side, r] = kv($0, "cpu_s"); batch = kv($0, "batch")
      m = kv($0, "min_s"); if (!((side) in lo) || m < lo[side]) lo[side] = m
      k = kv($0, "maxrss_kib"); if (k > rss[side]) rss[side] = k
      if (r > nr) nr = r
    }
    END {
      # the rounds both sides ran: the medians of their medians and of the per-round ratios
      n = 0
      for (r = 1; r <= nr; r++)
        if (((("sharpc", r) in med)) && ((("torch", r) in med))) {
          n++; sv[n] = med["sharpc", r]; tv[n] = med["torch", r]
          sp[n] = tv[n] / sv[n]; cr[n] = cpu["torch", r] / cpu["sharpc", r]
          if (n == 1 || sp[n] < spl) spl = sp[n]
          if (n == 1 || sp[n] > sph) sph = sp[n]
        }
      if (n == 0) { printf "| (%s) %s | missing results |\n", cs, net; exit }
      sm = median(sv, n); tm = median(tv, n); speed = median(sp, n); cpur = median(cr, n)
      sr = rss["sharpc"] / 1048576; tr = rss["torch"] / 1048576; mem = sr / tr
      sps = n > 1 ? sprintf("%.2fx (%.2f-%.2fx, %d rounds)", speed, spl, sph, n) : sprintf("%.2fx", speed)
      goal = "-"; met = "-"
      if (gs != "-") {
        goal = sprintf(">= %gx, <= %.2f", gs, gm)
        met = (speed >= gs ? "speed yes" : sprintf("speed no (%.2fx short)", gs / speed)) ", " \
              (mem <= gm ? "memory yes" : sprintf("memory no (%.2fx over)", mem / gm))
      }
      printf "| (%s) %s | %d | %.2f / %.2f | %.2f / %.2f | %s | %.2fx | %.2f GiB | %.2f GiB | %.3f | %s | %s |\n",
        cs, net, batch, sm, lo["sharpc"], tm, lo["torch"], sps, cpur, sr, tr, mem, goal, met
    }' "$results"
done

# Where the time goes: phases of each side and the sharpc step's nominal
# GFLOP/s (forward 2*MACs*N; a backward with weight gradients about twice the
# forward, one with input gradients only about once).
echo
echo "| case | side | arch fwd | arch bwd | weight fwd | weight bwd | clip+SGD | step | nominal GFLOP/s (fwd / bwd / step) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in $cases; do
  set -- $(case_info "$c")
  awk -v net="$1" -v cs="$c" '
    function kv(line, key,   n, i, f, p) {
      n = split(line, f, " ")
      for (i = 1; i <= n; i++) { split(f[i], p, "="); if (p[1] == key) return p[2] }
      return ""
    }
    NR == FNR { if ($1 == "MACS" && kv($0, "net") == net) macs = kv($0, "macs_per_sample"); next }
    /^RESULT/ && kv($0, "net") == net {
      n = kv($0, "batch"); f = 2 * macs * n / 1e9
      af = kv($0, "arch_fwd_s"); ab = kv($0, "arch_bwd_s"); wf = kv($0, "w_fwd_s"); wb = kv($0, "w_bwd_s")
      search = kv($0, "mode") == "search-first"
      gf = f * (search ? 2 : 1) / (af + wf); gb = f * (search ? 3 : 2) / (ab + wb)
      gs = f * (search ? 5 : 3) / kv($0, "median_s")
      printf "| (%s) %s | %s | %s | %s | %.2f | %.2f | %.3f | %.2f | %.1f / %.1f / %.1f |\n", cs, net, kv($0, "side"),
        search ? sprintf("%.2f", af) : "-", search ? sprintf("%.2f", ab) : "-", wf, wb, kv($0, "w_opt_s"),
        kv($0, "median_s"), gf, gb, gs
    }' "$results" "$results"
done
