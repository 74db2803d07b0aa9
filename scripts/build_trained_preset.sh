#!/usr/bin/env bash
# Trains a zoo preset with the project's CLI and packages it into zoo/NAME/preset.
#
#   [SEED=S] [DATASET=D ROOT=R] scripts/build_trained_preset.sh NAME RECIPE [keras-reid train options ...]
#
# DATASET/ROOT default to cuhk03_partial on ../shared/datasets/cuhk03_labeled_partial; the
# multi-source presets use DATASET=multi_source ROOT=../shared/datasets.
#
# The run goes to runs/NAME_sSEED (git-ignored; `--resume` continues it). Only seed 0 is packaged
# (scripts/package_trained_preset.py) and verified; other seeds are for comparisons such as
# benchmarks/stra_vs_baseline.py. Needs ../shared/datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"; recipe="$2"; shift 2
SEED="${SEED:-0}"
DATASET="${DATASET:-cuhk03_partial}"
ROOT="${ROOT:-../shared/datasets/cuhk03_labeled_partial}"
resume=()
[ -f "runs/${name}_s$SEED/checkpoints/latest.json" ] && resume=(--resume)
KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}" keras-reid train --recipe "$recipe" --dataset "$DATASET" \
  --root "$ROOT" --output "runs/${name}_s$SEED" --seed "$SEED" "${resume[@]}" "$@"
if [ "$SEED" = 0 ]; then
  KERAS_BACKEND=tensorflow python scripts/package_trained_preset.py "runs/${name}_s0" "$name"
  python -m conversion verify "zoo/$name/preset"
fi
