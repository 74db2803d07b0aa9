#!/usr/bin/env bash
# Needs model.pth.tar-100 from the StRA README (Google Drive id 1oXLY60iX8Vkbp-iTlrrzzkrFjME1Esun).
set -euo pipefail
cd "$(dirname "$0")/../.."
CKPT=${1:?usage: build.sh PATH/TO/model.pth.tar-100}
python -m conversion convert --arch resnet50_stra --checkpoint "$CKPT" --output .data/presets/resnet50_stra_market \
  --license other --dataset market1501 --source 'shenao-zhang/StRA README, Google Drive 1oXLY60iX8Vkbp-iTlrrzzkrFjME1Esun' \
  --card zoo/resnet50_stra_market/README.md
python -m conversion verify .data/presets/resnet50_stra_market
