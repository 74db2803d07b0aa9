#!/usr/bin/env bash
# The test command of the README: the whole suite on TensorFlow, then the model and layer
# tests (the multi-backend contract) on JAX and PyTorch. Fails when any run fails; a run
# that collects no test (pytest exit code 5) is an error too, not a silent pass.
set -u
cd "$(dirname "$0")/.."
workers="${PYTEST_WORKERS:-2}"
status=0
# One compute thread per pytest worker: with -n 2 on 2 cores, each worker's own thread pools
# (PyTorch/oneDNN OpenMP, TensorFlow's intra/inter-op pools, XLA's Eigen pool) would otherwise
# oversubscribe the cores, which stalls PyTorch's OpenMP threads for seconds per call.
if [ "${workers}" != "0" ] && [ "${workers}" != "1" ]; then
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" TF_NUM_INTRAOP_THREADS="${TF_NUM_INTRAOP_THREADS:-1}" \
    TF_NUM_INTEROP_THREADS="${TF_NUM_INTEROP_THREADS:-1}"
  export XLA_FLAGS="${XLA_FLAGS:---xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1}"
fi

run() {
  local backend="$1"; shift
  echo "=== KERAS_BACKEND=${backend} pytest $*"
  KERAS_BACKEND="${backend}" python -m pytest -q -n "${workers}" -p no:cacheprovider "$@"
  local code=$?
  if [ "${code}" -eq 5 ]; then
    echo "error: no test was collected for KERAS_BACKEND=${backend} $*" >&2
    status=1
  elif [ "${code}" -ne 0 ]; then
    status=1
  fi
}

# The docstring examples run too (--doctest-modules): the whole package on TensorFlow, the
# model code (layers, models, losses) on PyTorch; they print the same on every backend.
run tensorflow --doctest-modules tests keras_reid
# Model code must run on every backend; the CLI, data, evaluation and training tests are
# backend-independent or start their own backend subprocesses, so they run once (above).
MULTI_BACKEND=(tests/layers tests/backbones tests/models tests/losses tests/utils)
# Converted-weight parity is required on TensorFlow and JAX.
run jax "${MULTI_BACKEND[@]}" tests/conversion/test_parity.py tests/conversion/test_parity_hacnn_pcb.py tests/conversion/test_parity_osnet.py
run torch --doctest-modules "${MULTI_BACKEND[@]}" keras_reid/layers keras_reid/models keras_reid/losses
exit "${status}"
