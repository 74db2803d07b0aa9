#!/usr/bin/env bash
# Rebuilds zoo/hacnn_cuhk03/preset (from scratch; the hacnn recipe shortened to fit a CPU session). SEED=1 trains another seed into runs/hacnn_cuhk03_s1 instead.
exec "$(dirname "$0")/../../scripts/build_trained_preset.sh" hacnn_cuhk03 hacnn \
  --epochs 14 --lr-milestones 10 13 --eval-every 7 --quiet
