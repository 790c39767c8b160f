#!/usr/bin/env bash
# simlanes GPU check from prebuilt binaries (made by `cargo xtask gpu-bundle`): this machine
# needs the NVIDIA driver and bash, no Rust, cargo, CUDA toolkit or network.
#
#   ./run.sh                  # GPU agreement tests, then the GPU benchmark at quick sizes
#   ./run.sh --size seed      # benchmark at WORKLOADS.md's seed sizes instead (quick, seed, sweep;
#                             # sweep judges every GPU speed goal, W4 at B up to 8192)
#   ./run.sh --threads N      # CPU threads of the threaded rows (default 2: the goals' 2-core CPU)
#   ./run.sh --no-bench       # tests only
#   ./run.sh --allow-skip     # pass on a machine without a GPU (the device tests print SKIP)
#   ./run.sh --out DIR        # logs and bench.json go there (default: $OUT if set, else ./out)
#
# In order: device facts (nvidia-smi), then each test binary with --nocapture
# --test-threads=1 (gpu_emulator: kernel bodies on the host grid emulator = scalar oracle;
# gpu_agreement: every kernel on the device = scalar oracle, counts exact, floats bit for bit;
# gpu_calibrate: W3 calibrate on the device; gpu_stream: BabelStream gold check), then
# `xtask bench --backend threaded,gpu` and `xtask bench --verify` on its JSON.
# Exit status 0 only if every test passed, on a GPU unless --allow-skip, and every bench
# row's check passed. The bench ends with the GPU speed goals judged from its rows (W1
# pairs/s, W3 pregenerated % of HBM, W4/W5 against the threaded backend on --threads
# cores), copied into summary.txt; a goal missed is reported, not a failure.
# Files written: device.txt, tests.log, bench.log, bench.json,
# summary.txt, and python.log when the bundle carries the wheel (python/: the Python
# package against the JAX installed here, on JAX's CPU backend); with a GPU and that JAX,
# also vs_jax.log: scripts/bench_vs_jax.py, simlanes' GPU backend against the same
# workloads in JAX on its default device (informational: it does not change the exit
# status, but its checks are reported in summary.txt).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
site_vs_jax=""
trap '[ -z "$site_vs_jax" ] || rm -rf "$site_vs_jax"' EXIT

size=quick
threads=2
bench=1
allow_skip=0
out="${OUT:-$here/out}"
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="${2:?--size needs quick, seed or sweep}"; shift ;;
    --threads) threads="${2:?--threads needs a number}"; shift ;;
    --no-bench) bench=0 ;;
    --allow-skip) allow_skip=1 ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out" || exit 2
summary="$out/summary.txt"
# The driver compiles the PTX when a GPU is opened (several times per run); keep its cache
# next to the bundle, where it is writable, unless the caller chose one.
export CUDA_CACHE_PATH="${CUDA_CACHE_PATH:-$here/.nv-cache}"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

cat "$here/MANIFEST.txt" >>"$summary"
{
  echo "== host: $(uname -srm); $(nproc) CPUs; $(ldd --version 2>&1 | head -n 1) (the binaries need glibc >= 2.34)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,clocks.max.mem \
      --format=csv 2>&1
  else
    echo "nvidia-smi: not found"
  fi
} >"$out/device.txt"
cat "$out/device.txt"

failed=0
skipped=0
py_failed=0
: >"$out/tests.log"
for t in gpu_emulator gpu_agreement gpu_calibrate gpu_stream; do
  echo "== $t" | tee -a "$out/tests.log"
  start=$(date +%s)
  "$here/bin/$t" --nocapture --test-threads=1 >"$out/$t.part" 2>&1
  rc=$?
  cat "$out/$t.part" >>"$out/tests.log"
  n_skip=$(grep -c 'SKIP: ' "$out/$t.part")
  result=$(grep -E '^test result:' "$out/$t.part" | tail -n 1)
  rm -f "$out/$t.part"
  if [ "$rc" -ne 0 ]; then
    failed=1
    say "FAIL $t (exit $rc, $(( $(date +%s) - start )) s): see tests.log"
  elif [ "$n_skip" -gt 0 ]; then
    skipped=1
    say "SKIP $t ($n_skip device tests skipped: no usable GPU; $result)"
  else
    say "ok   $t ($(( $(date +%s) - start )) s; $result)"
  fi
done

# Which device the tests ran on, as the backend reported it (on the libcuda stand-in of
# `.ci/run` this says so: kernels on the host CPU, not a GPU).
gpu_line=$(grep -m 1 '^GPU: ' "$out/tests.log")
[ -z "$gpu_line" ] || say "device: ${gpu_line#GPU: }"

if [ "$skipped" = 1 ] && [ "$allow_skip" = 0 ]; then
  say "FAILED: the device tests were skipped (no usable GPU; see tests.log) and --allow-skip was not given"
  exit 1
fi
if [ "$failed" = 1 ]; then
  say "FAILED: a test binary failed (see tests.log)"
  exit 1
fi

# Optional: the Python package against the JAX installed on this machine (same key, same
# numbers; JAX on its CPU backend, which the equality claims are about).
if ls "$here"/python/*.whl >/dev/null 2>&1; then
  if command -v python3 >/dev/null 2>&1 && python3 -c "import jax, numpy, pytest" >/dev/null 2>&1; then
    site="$(mktemp -d)"
    echo "== python: simlanes vs JAX $(python3 -c 'import jax; print(jax.__version__)')"
    if python3 -m pip install -q --no-index --no-deps --target "$site" "$here"/python/*.whl >"$out/python.log" 2>&1 \
      && (cd "$here/python" && JAX_PLATFORMS=cpu PYTHONPATH="$site:$here/python" \
        python3 -m pytest -q -p no:cacheprovider test_with_jax.py >>"$out/python.log" 2>&1); then
      say "ok   python vs JAX ($(tail -n 1 "$out/python.log"))"
      site_vs_jax="$site" # kept for bench_vs_jax.py after the GPU bench
    else
      # Recorded, not fatal yet: the GPU bench below is the run's main measurement.
      py_failed=1
      say "FAIL python vs JAX (see python.log)"
      rm -rf "$site"
    fi
  else
    say "skip python vs JAX (no python3 with jax, numpy and pytest here)"
  fi
fi

if [ "$bench" = 1 ] && [ "$skipped" = 0 ]; then
  echo "== xtask bench --size $size --backend threaded,gpu --threads $threads"
  "$here/bin/xtask" bench --size "$size" --backend threaded,gpu --threads "$threads" \
    --json "$out/bench.json" >"$out/bench.log" 2>&1
  rc=$?
  tail -n 80 "$out/bench.log"
  sed -n '/^GPU speed goals/,/^$/p' "$out/bench.log" >>"$summary"
  if [ "$rc" -ne 0 ]; then
    say "FAILED: xtask bench exited $rc (see bench.log)"
    exit 1
  fi
  if ! "$here/bin/xtask" bench --verify "$out/bench.json" >>"$out/bench.log" 2>&1; then
    say "FAILED: a bench row's check failed (see bench.log)"
    exit 1
  fi
  say "ok   bench ($size sizes; every row's check passed)"
  if [ -n "$site_vs_jax" ]; then
    vs_size=quick
    [ "$size" = quick ] || vs_size=seed
    echo "== bench_vs_jax.py --size $vs_size --backend gpu"
    (cd "$here/python" && PYTHONPATH="$site_vs_jax:$here/python" \
      python3 bench_vs_jax.py --size "$vs_size" --backend gpu >"$out/vs_jax.log" 2>&1)
    rc=$?
    tail -n 20 "$out/vs_jax.log"
    say "info simlanes GPU vs JAX ($vs_size sizes): bench_vs_jax.py exited $rc (see vs_jax.log)"
  fi
elif [ "$bench" = 1 ]; then
  # No GPU: nothing to measure, but prove the bench binary starts on this machine.
  "$here/bin/xtask" bench --help >/dev/null || { say "FAILED: bin/xtask does not start"; exit 1; }
  say "skip bench (no usable GPU)"
fi
if [ "$py_failed" = 1 ]; then
  say "FAILED: python vs JAX (see python.log)"
  exit 1
fi
say "gpu-check: OK"
