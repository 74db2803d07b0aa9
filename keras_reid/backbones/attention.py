"""The attention a backbone can take as a constructor argument, by name.

timm passes attention into its blocks as `block_args=dict(attn_layer=...)`; our backbones take
a registered name plus its arguments (`ResNetBackbone(block_attention="stra",
block_attention_args={"heads": 8})`), so that `get_config` stays plain JSON and a preset's
`config.json` can name it. Each backbone has *slots* where attention can go:

| slot | where | builder signature | built in |
|---|---|---|---|
| `"resnet_block"` | replaces whole bottlenecks of the chosen ResNet stages | `(x, filters, strides, name, dtype, **args) -> (x, aux)` | `"stra"` |
| `"resnet_stage"` | a module after the chosen ResNet stages | `(x, stage, dtype, **args) -> x` | `"csa"`, `"sa"` |
| `"mobilenetv2_spatial"` | replaces the 3×3 depthwise conv (+ BN + ReLU6) of chosen inverted residuals | `(x, name, dtype, **args) -> (x, aux)` | `"stra"` |

`aux` is a per-sample auxiliary loss tensor `(batch,)` or None; the backbone sums them into
`backbone.auxiliary_outputs["diversity"]`. New attention registers with
`register_attention(slot, name, builder)` (see `docs/CONTRIBUTING.md`).
"""

import difflib

from keras import layers

SLOTS = ("resnet_block", "resnet_stage", "mobilenetv2_spatial")
_BUILDERS = {slot: {} for slot in SLOTS}


def register_attention(slot, name, builder, overwrite=False):
    """Makes `builder` available to backbones as `name` in `slot` (see the module docstring)."""
    if slot not in _BUILDERS:
        raise ValueError(f"Unknown attention slot {slot!r}; slots are {', '.join(SLOTS)}.")
    if name in _BUILDERS[slot] and not overwrite:
        raise ValueError(f"Attention {name!r} is already registered in slot {slot!r}.")
    _BUILDERS[slot][name] = builder
    return builder


def list_attention(slot):
    """Registered attention names of `slot`, sorted."""
    return sorted(_BUILDERS[slot])


def get_attention(slot, name):
    """The builder registered as `name` in `slot`; a clear error naming the valid ones otherwise."""
    known = _BUILDERS[slot]
    if name not in known:
        close = difflib.get_close_matches(str(name), known, n=2)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown {slot} attention {name!r}.{hint} Registered: {', '.join(sorted(known)) or 'none'}."
        )
    return known[name]


def sum_auxiliary(terms, name="diversity"):
    """One auxiliary tensor from the blocks' per-sample terms (None when there are none)."""
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else layers.Add(name=name)(terms)


# -- built-in attention --------------------------------------------------------------------
def _stra_bottleneck(x, filters, strides, name, dtype=None, **args):
    from keras_reid.layers.stra_bottleneck import StRABottleneck

    if strides != 1:
        raise ValueError(f"StRA bottlenecks have stride 1 (upstream); block {name} asks for stride {strides}.")
    return StRABottleneck(filters, name=name, dtype=dtype, **args)(x)


def _compressed_self_attention(x, stage, dtype=None, **args):
    from keras_reid.layers.compressed_self_attention import CompressedSelfAttention

    return CompressedSelfAttention(name=f"csa{stage}", dtype=dtype, **args)(x)


def _self_attention(x, stage, dtype=None, **args):
    from keras_reid.layers.self_attention import SelfAttention

    return SelfAttention(name=f"sa{stage}", dtype=dtype, **args)(x)


def _stra_depthwise(x, name, dtype=None, heads=8, kernel_size=3, mask_reduction=8, pooling_reduction=8,
                    value_groups=None, gating="sigmoid"):
    """MobileNetV2_StRA's replacement of a depthwise conv: local → mode attention → BN → ReLU6."""
    from keras_reid.layers.local_attention import LocalAttention
    from keras_reid.layers.mode_attention import ModeAttention
    from keras_reid.layers.torch_batch_norm import torch_batch_norm

    channels = x.shape[-1]
    x = LocalAttention(
        channels,
        heads=heads,
        kernel_size=kernel_size,
        mask_reduction=mask_reduction,
        value_groups=value_groups or channels,  # None: depthwise, like the conv it replaces
        name=f"{name}_local_attention",
        dtype=dtype,
    )(x)
    x, diversity = ModeAttention(
        heads=heads, gating=gating, pooling_reduction=pooling_reduction, name=f"{name}_mode_attention", dtype=dtype
    )(x)
    x = torch_batch_norm(f"{name}_attention_bn", dtype=dtype)(x)
    return layers.ReLU(6.0, name=f"{name}_attention_relu6", dtype=dtype)(x), diversity


register_attention("resnet_block", "stra", _stra_bottleneck)
register_attention("resnet_stage", "csa", _compressed_self_attention)
register_attention("resnet_stage", "sa", _self_attention)
register_attention("mobilenetv2_spatial", "stra", _stra_depthwise)
