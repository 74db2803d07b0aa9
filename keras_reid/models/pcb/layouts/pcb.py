"""PCB state dicts → `pcb`: torchreid `pcb_p6` and layumi `PCB` (spec upstream_csa_pcb_sapcb.md §2.3–2.5).

* `pcb_torchreid` (deep-person-reid `torchreid/models/pcb.py`, `pcb_p6`): the torchvision
  body without prefix and without `fc`; `conv5.layers.0` (1×1 conv 2048→256, no bias) →
  `local_conv`, `conv5.layers.1` (BN) → `feat_bn2d`, `classifier.{i}` →
  `classifier_instance{i}`. Every tensor maps. torchreid pools with
  `AdaptiveAvgPool2d((6, 1))`, which equals keras_reid's stripe pooling only when the
  stage-4 height is a multiple of 6 (384×128 → 24 rows, 96×32 → 6): at torchreid's
  default 256×128 (16 rows) the bins differ, so convert for a 384×128 (or 192×64 / 96×32) input.
* `pcb_layumi` (layumi/Person_reID_baseline_pytorch `model.py`, `PCB`, `net_last.pth`):
  the torchvision body under `model.` (its unused `model.fc` ignored). Its per-part
  training heads `classifier{i}` (Linear 2048→256 *with bias* → BatchNorm1d → Dropout →
  Linear, no ReLU, one per part) have no counterpart in keras_reid's PCB head (one
  shared bias-free 1×1 conv → BN → ReLU), so they are ignored (reported) and the model is
  converted embedding-only: `local_conv`/`feat_bn2d` keep their initialisation. The
  embedding is exact: layumi's `PCB_test` feature is the same per-part L2-normalised
  stripe pooling, divided by a further constant √6 (and summed with the flipped image's,
  a test-time augmentation), neither of which changes the ranking of Euclidean distances.
"""

from keras_reid.models.resnet.layouts.torchvision_resnet50 import resnet_body_rules
from keras_reid.utils.state_dict_mapping import Layout, Rule, bn, conv, dense


def prefixed_body_rules(prefix):
    """torchvision ResNet-50 body rules for keys carrying `prefix` (e.g. `base.`, `model.`)."""
    escaped = prefix.replace(".", r"\.")
    return [Rule(escaped + r.pattern, r.target, r.transform) for r in resnet_body_rules()]


TORCHREID = Layout(
    name="pcb_torchreid",
    description="torchreid pcb_p6 (deep-person-reid torchreid/models/pcb.py): body + conv5 + 6 classifiers",
    rules=[
        *resnet_body_rules(),
        *conv(r"conv5\.layers\.0", "local_conv"),
        *bn(r"conv5\.layers\.1", "feat_bn2d"),
        *dense(r"classifier\.([0-9])", r"classifier_instance\1"),
    ],
    expected_num_keys=318 + 6 + 6 * 2,  # body without fc (318 with num_batches_tracked)
    architectures=("pcb",),
    classifier_key="classifier.0.weight",
    source="torchreid pcb_p6 (MIT); torchreid's zoo has no PCB weights",
)

LAYUMI = Layout(
    name="pcb_layumi",
    description="layumi Person_reID_baseline_pytorch PCB (net_last.pth): body exact, per-part ClassBlocks ignored",
    rules=prefixed_body_rules("model."),
    ignored_keys=(r"model\.fc\.(weight|bias)", r"classifier[0-9]\..*"),
    optional_targets=(r"(local_conv|feat_bn2d)/.*", r"classifier_instance[0-9]/.*"),
    expected_num_keys=320 + 6 * 9,
    architectures=("pcb",),
    classifier_key=None,
    source="layumi/Person_reID_baseline_pytorch README 'Trained Model' (Google Drive); MIT",
)

LAYOUT = TORCHREID
