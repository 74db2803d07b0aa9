#!/usr/bin/env bash
# Rebuilds zoo/mobilenetv2_stra_cuhk03/preset: trains on CUHK03-partial (../shared/datasets) with the project's CLI.
set -euo pipefail
cd "$(dirname "$0")/../.."
KERAS_BACKEND=tensorflow keras-reid train --recipe mobilenetv2_stra --dataset cuhk03_partial \
  --root ../shared/datasets/cuhk03_labeled_partial --output runs/mobilenetv2_stra_cuhk03_s0 \
  --epochs 6 --lr-milestones 5 --fixbase-epochs 1 --image-size 128 64 --seed 0 --eval-every 6
KERAS_BACKEND=tensorflow python scripts/package_trained_preset.py runs/mobilenetv2_stra_cuhk03_s0 mobilenetv2_stra_cuhk03
python -m conversion verify zoo/mobilenetv2_stra_cuhk03/preset
