#!/usr/bin/env bash
# Rebuilds zoo/mobilenetv2_stra_cuhk03/preset (from mobilenetv2_imagenet, same recipe as mobilenetv2_cuhk03). SEED=1 trains another seed into runs/mobilenetv2_stra_cuhk03_s1 instead.
exec "$(dirname "$0")/../../scripts/build_trained_preset.sh" mobilenetv2_stra_cuhk03 mobilenetv2_stra \
  --epochs 6 --lr-milestones 5 --fixbase-epochs 1 --image-size 128 64 --eval-every 6
