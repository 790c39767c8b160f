#!/usr/bin/env bash
# gpu-check: prove the GPU backend on this machine.
#
#   scripts/gpu-check.sh              # validate PTX if the toolchain is cached, then run the
#                                     # emulator and GPU agreement tests (SKIP without a GPU)
#   scripts/gpu-check.sh --require-gpu  # same, but fail if no CUDA driver/device is found
#   scripts/gpu-check.sh --bench        # then, with a GPU, `cargo xtask bench --quick` on the
#                                       # threaded and GPU backends (GPU BabelStream included)
#
# What it runs, in order:
#   1. `cargo xtask ptx --check` when .cache/ptx-toolchain exists (the checked-in PTX must
#      match the sources and pass ptxas); skipped otherwise (it downloads ~200 MB).
#   2. the grid-emulator tests (kernel bodies == scalar oracle, no GPU needed);
#   3. the CPU/GPU agreement tests, printing the device facts or "SKIP: no CUDA driver".
#      (gpu_calibrate: W3 calibrate histograms; gpu_stream: BabelStream gold check and
#      bandwidth; both also run their emulator halves)
set -euo pipefail
cd "$(dirname "$0")/.."

require_gpu=0
bench=0
for arg in "$@"; do
  case "$arg" in
    --require-gpu) require_gpu=1 ;;
    --bench) bench=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv || true
fi

if [ -f .cache/ptx-toolchain/prefix/.complete ] && [ -f .cache/ptx-toolchain/nvcc/.complete ]; then
  echo "== cargo xtask ptx --check"
  cargo xtask ptx --check
else
  echo "== skipping cargo xtask ptx --check (no cached toolchain; run it once to fetch one)"
fi

echo "== emulator tests"
cargo test -p simlanes-tests --test gpu_emulator

echo "== GPU agreement tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p simlanes-tests --test gpu_agreement --test gpu_calibrate --test gpu_stream \
  -- --nocapture --test-threads=1 2>&1 | tee "$log"
# libtest prints "test NAME ... " before the test runs, so SKIP lines do not start a line.
if grep -q "SKIP: " "$log"; then
  if [ "$require_gpu" = 1 ]; then
    echo "gpu-check: FAILED: no usable GPU (see SKIP above) and --require-gpu was given" >&2
    exit 1
  fi
  echo "gpu-check: OK (GPU tests skipped: no usable GPU)"
else
  echo "gpu-check: OK (GPU agrees with the scalar oracle)"
  if [ "$bench" = 1 ]; then
    echo "== cargo xtask bench --quick --backend threaded,gpu"
    cargo xtask bench --quick --backend threaded,gpu --json target/gpu-check-bench.json
  fi
fi
