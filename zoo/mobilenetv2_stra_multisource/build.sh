#!/usr/bin/env bash
# Rebuilds zoo/mobilenetv2_stra_multisource/preset (from mobilenetv2_imagenet, 12 epochs at 128x64; about 50 min on a 2-core CPU). SEED=1 trains another seed into runs/mobilenetv2_stra_multisource_s1 instead.
DATASET=multi_source ROOT="$(dirname "$0")/../../../shared/datasets" exec "$(dirname "$0")/../../scripts/build_trained_preset.sh" \
  mobilenetv2_stra_multisource mobilenetv2_stra_multisource --eval-every 3
