"""SA-PCB (HRanWang/Spatial-Attention `reid/models/reSAnet.py`) → `sa_pcb`.

Spec: shared/specs/upstream_csa_pcb_sapcb.md §3.2–3.4. Checkpoint
`{'state_dict', 'epoch', 'best_top1'}` without `module.`. The torchvision body under
`base.` (its unused `base.fc` ignored), `local_conv` / `feat_bn2d` (the shared part head),
`local_conv_layer{1,2,3}` (deep-supervision 1×1 convs, no bias), `instance{0..6}` →
`classifier_instance{0..6}`, `instance_layer{1,2,3}` → `classifier_instance_layer{1,2,3}`;
the unused `fusion_conv` (Conv1d 4→1) is ignored. The released weights need the code's
spatial attention (`attention_mode="upstream"`, keras_reid's default: L1-normalised
channel mean, with the 1/(H·W) of the following average pooling).
"""

from keras_reid.models.pcb.layouts.pcb import prefixed_body_rules
from keras_reid.utils.state_dict_mapping import Layout, bn, conv, dense

LAYOUT = Layout(
    name="sa_pcb_hranwang",
    description="HRanWang Spatial-Attention SA-PCB (reSAnet.py), released Market-1501 checkpoint",
    rules=[
        *prefixed_body_rules("base."),
        *conv(r"local_conv", "local_conv"),
        *conv(r"local_conv_layer([1-3])", r"local_conv_layer\1"),
        *bn(r"feat_bn2d", "feat_bn2d"),
        *dense(r"instance([0-6])", r"classifier_instance\1"),
        *dense(r"instance_layer([1-3])", r"classifier_instance_layer\1"),
    ],
    ignored_keys=(r"base\.fc\.(weight|bias)", r"fusion_conv\.weight"),
    expected_num_keys=320 + 4 + 5 + 20 + 1,
    architectures=("sa_pcb",),
    classifier_key="instance0.weight",
    source="HRanWang/Spatial-Attention README (BaiduYun); code MIT",
)
