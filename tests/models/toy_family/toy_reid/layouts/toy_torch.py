"""The toy upstream PyTorch model's state dict → `toy_net`.

Upstream (written out in tests/models/test_family_folder.py): `block{1,2}` =
`nn.Sequential(Conv2d(3×3, stride 2, padding 1, bias=False), BatchNorm2d, ReLU)`, `head` =
`Linear(C, 64, bias=False)` after global average pooling, `head_bn` = `BatchNorm1d(64)`,
`classifier` = `Linear(64, N)`.
"""

from keras_reid.utils.state_dict_mapping import Layout, bn, conv, dense

LAYOUT = Layout(
    name="toy_torch",
    description="toy upstream model of the toy family (tests only)",
    rules=[
        *conv(r"block([12])\.0", r"block\1_conv"),
        *bn(r"block([12])\.1", r"block\1_bn"),
        *dense(r"head", "head_conv", bias=False),
        *bn(r"head_bn", "head_bn"),
        *dense(r"classifier", "classifier"),
    ],
    architectures=("toy_net",),
    classifier_key="classifier.weight",
)
