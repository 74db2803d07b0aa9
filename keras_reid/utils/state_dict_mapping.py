"""A small declarative engine mapping PyTorch state-dict keys to Keras variables.

A layout is a table of `Rule(pattern, target, transform)`: `pattern` is a regular
expression matched against the whole (cleaned) PyTorch key, `target` a template of the
Keras variable path (`re.Match.expand` syntax, e.g. `r"layer\\1_\\2_conv\\3/kernel"`).
Keras variable paths are `layer/sublayer/.../variable`, so nested layers (a
`StRABottleneck` named `layer4_0` with a `local_attention` holding `mask_conv1`) are
addressed as `layer4_0/local_attention/mask_conv1/kernel`.

`apply_layout` checks every key before touching the model and assigns only when the
whole mapping is consistent (strict) or, non-strict, assigns the consistent part and
returns a report listing everything skipped: nothing loads partially *and* silently.
"""

import dataclasses
import re

import numpy as np


class ConversionError(ValueError):
    """The checkpoint does not match the layout/model (missing, unexpected or mis-shaped keys)."""


# -- transforms: PyTorch array -> Keras array ------------------------------------------
def _conv(w):
    """Conv2d `[out, in/groups, kh, kw]` → Keras Conv2D / GroupedPointwiseConv `(kh, kw, in/groups, out)`."""
    if w.ndim != 4:
        raise ValueError(f"expected a 4-D conv weight, got shape {w.shape}")
    return w.transpose(2, 3, 1, 0)


def _depthwise(w):
    """Depthwise Conv2d `[C, 1, kh, kw]` → Keras DepthwiseConv2D `(kh, kw, C, 1)`."""
    if w.ndim != 4 or w.shape[1] != 1:
        raise ValueError(f"expected a depthwise weight [C, 1, kh, kw], got shape {w.shape}")
    return w.transpose(2, 3, 0, 1)


def _linear(w):
    """Linear `[out, in]` → Dense `(in, out)`."""
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D linear weight, got shape {w.shape}")
    return w.T


def _conv1x1_to_dense(w):
    """A 1×1 conv applied to a pooled vector `[out, in, 1, 1]` → Dense `(in, out)`."""
    if w.ndim != 4 or w.shape[2:] != (1, 1):
        raise ValueError(f"expected a 1x1 conv weight [out, in, 1, 1], got shape {w.shape}")
    return w.reshape(w.shape[0], w.shape[1]).T


TRANSFORMS = {
    "identity": lambda w: w,
    "conv": _conv,
    "depthwise": _depthwise,
    "grouped_pointwise": _conv,  # GroupedPointwiseConv stores the Keras Conv2D layout
    "linear": _linear,
    "conv1x1_to_dense": _conv1x1_to_dense,
}

BN_VARIABLES = (
    ("weight", "gamma"),
    ("bias", "beta"),
    ("running_mean", "moving_mean"),
    ("running_var", "moving_variance"),
)


@dataclasses.dataclass(frozen=True)
class Rule:
    """`pattern` (regex on the PyTorch key) → `target` (Keras variable path template)."""

    pattern: str
    target: str
    transform: str = "identity"

    def __post_init__(self):
        if self.transform not in TRANSFORMS:
            raise ValueError(f"Unknown transform {self.transform!r}; valid: {sorted(TRANSFORMS)}")
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def match(self, key):
        m = self._regex.fullmatch(key)
        return None if m is None else m.expand(self.target)


# -- rule builders ---------------------------------------------------------------------
def conv(torch_prefix, keras_layer, bias=False, transform="conv"):
    """Rules of a conv: `<prefix>.weight` (→ `kernel`) and optionally `<prefix>.bias`."""
    rules = [Rule(rf"{torch_prefix}\.weight", f"{keras_layer}/kernel", transform)]
    if bias:
        rules.append(Rule(rf"{torch_prefix}\.bias", f"{keras_layer}/bias"))
    return rules


def depthwise(torch_prefix, keras_layer):
    return conv(torch_prefix, keras_layer, transform="depthwise")


def grouped_pointwise(torch_prefix, keras_layer, bias=True):
    return conv(torch_prefix, keras_layer, bias=bias, transform="grouped_pointwise")


def dense(torch_prefix, keras_layer, bias=True, transform="linear"):
    return conv(torch_prefix, keras_layer, bias=bias, transform=transform)


def bn(torch_prefix, keras_layer):
    """The four BatchNorm rules (weight→gamma, bias→beta, running_mean/var→moving_mean/variance)."""
    return [Rule(rf"{torch_prefix}\.{t}", f"{keras_layer}/{k}") for t, k in BN_VARIABLES]


@dataclasses.dataclass
class Layout:
    """A named upstream layout: rules plus what may legitimately be left out on either side.

    Args:
        name: layout name (`python -m conversion convert --layout NAME`).
        description: one line: which upstream code/checkpoint it describes.
        rules: the `Rule`s; the first matching rule wins.
        ignored_keys: regexes of PyTorch keys deliberately not converted (e.g. the
            ImageNet `fc.*` when converting a backbone); reported, never an error.
        optional_targets: regexes, each a group of Keras variable paths that may keep
            their initialisation when the checkpoint provides none of them (e.g. a ReID
            head on top of ImageNet weights); reported as "left at initialisation". A
            group is all-or-nothing: partly provided, the rest is missing.
        expected_num_keys: number of keys of a complete upstream checkpoint (documentation
            and tests; the engine checks keys individually).
        architectures: keras_reid architectures this layout targets.
        classifier_key: the PyTorch key whose first dimension is the number of classes.
    """

    name: str
    description: str
    rules: list
    ignored_keys: tuple = ()
    optional_targets: tuple = ()
    expected_num_keys: int = None
    architectures: tuple = ()
    classifier_key: str = None
    source: str = ""

    def target_of(self, key):
        for rule in self.rules:
            target = rule.match(key)
            if target is not None:
                return rule, target
        return None, None

    def is_ignored(self, key):
        return any(re.fullmatch(p, key) for p in self.ignored_keys)

    def optional_group(self, path):
        """The `optional_targets` regex matching `path`, or None."""
        return next((p for p in self.optional_targets if re.fullmatch(p, path)), None)


@dataclasses.dataclass
class ConversionReport:
    """What `apply_layout` did: assigned pairs and every key/variable it did not assign."""

    layout: str
    assigned: list = dataclasses.field(default_factory=list)  # (torch key, keras path)
    ignored: list = dataclasses.field(default_factory=list)  # torch keys ignored by the layout
    unexpected: list = dataclasses.field(default_factory=list)  # (torch key, reason)
    missing: list = dataclasses.field(default_factory=list)  # keras paths nothing maps to
    mismatched: list = dataclasses.field(default_factory=list)  # (key, path, got, expected)
    left_at_init: list = dataclasses.field(default_factory=list)  # optional keras paths
    strict: bool = True

    @property
    def ok(self):
        return not (self.unexpected or self.missing or self.mismatched)

    def problems(self):
        lines = []
        if self.missing:
            lines.append(f"{len(self.missing)} missing (Keras variables no checkpoint key maps to):")
            lines += [f"  - {p}" for p in self.missing]
        if self.unexpected:
            lines.append(f"{len(self.unexpected)} unexpected checkpoint keys:")
            lines += [f"  - {k}: {why}" for k, why in self.unexpected]
        if self.mismatched:
            lines.append(f"{len(self.mismatched)} shape mismatches:")
            lines += [
                f"  - {k} -> {p}: converted shape {tuple(got)} but the Keras variable is {tuple(exp)}"
                for k, p, got, exp in self.mismatched
            ]
        return "\n".join(lines)

    def summary(self):
        lines = [f"layout {self.layout}: {len(self.assigned)} tensors assigned"]
        if self.ignored:
            lines.append(f"{len(self.ignored)} checkpoint keys ignored by the layout: {', '.join(self.ignored)}")
        if self.left_at_init:
            lines.append(
                f"{len(self.left_at_init)} Keras variables left at their initialisation "
                f"(not in this checkpoint): {', '.join(self.left_at_init)}"
            )
        if not self.ok:
            prefix = "skipped (non-strict)" if not self.strict else "errors"
            lines.append(f"{prefix}:\n{self.problems()}")
        return "\n".join(lines)

    def to_dict(self):
        return {
            "layout": self.layout,
            "assigned": len(self.assigned),
            "ignored": list(self.ignored),
            "left_at_init": list(self.left_at_init),
            "unexpected": [k for k, _ in self.unexpected],
            "missing": list(self.missing),
            "mismatched": [k for k, *_ in self.mismatched],
        }


def model_variables(model):
    """`{path: variable}` of every weight of `model` (paths are unique in keras_reid models)."""
    variables = {}
    for v in model.weights:
        if v.path in variables:
            raise ConversionError(f"Two Keras variables share the path {v.path!r}; cannot map by path.")
        variables[v.path] = v
    return variables


def plan(state_dict, model, layout, strict=True):
    """Matches every key to a variable and checks shapes, without touching the model.

    Returns `(report, assignments)` where assignments is `{path: numpy array}`.
    """
    variables = model_variables(model)
    report = ConversionReport(layout=layout.name, strict=strict)
    assignments, sources = {}, {}
    for key, value in state_dict.items():
        rule, path = layout.target_of(key)
        if rule is None:
            if layout.is_ignored(key):
                report.ignored.append(key)
            else:
                report.unexpected.append((key, f"no rule of layout {layout.name!r} matches it"))
            continue
        if path not in variables:
            if layout.is_ignored(key):
                report.ignored.append(key)
            else:
                report.unexpected.append((key, f"maps to {path!r}, which this model does not have"))
            continue
        if path in assignments:
            raise ConversionError(
                f"Layout {layout.name!r} maps both {sources[path]!r} and {key!r} to {path!r}."
            )
        try:
            array = np.asarray(TRANSFORMS[rule.transform](np.asarray(value)))
        except ValueError:
            report.mismatched.append((key, path, np.shape(value), tuple(variables[path].shape)))
            continue
        expected = tuple(variables[path].shape)
        if tuple(array.shape) != expected:
            report.mismatched.append((key, path, array.shape, expected))
            continue
        assignments[path] = array
        sources[path] = key
        report.assigned.append((key, path))
    mismatched_paths = {p for _, p, _, _ in report.mismatched}
    for path in variables:
        if path in assignments or path in mismatched_paths:
            continue
        group = layout.optional_group(path)
        # An optional group is all-or-nothing: a checkpoint that provides part of it
        # (e.g. the head's BN but not its conv) is missing the rest.
        if group is not None and not any(re.fullmatch(group, p) for p in assignments):
            report.left_at_init.append(path)
        else:
            report.missing.append(path)
    return report, assignments


def apply_layout(state_dict, model, layout, strict=True):
    """Assigns a state dict into `model` (a freshly built Keras model) following `layout`.

    Strict (default): any missing, unexpected or mis-shaped key raises `ConversionError`
    listing *all* of them, and the model is left untouched. Non-strict: every consistent
    tensor is assigned and the returned report lists what was skipped.

    Returns a `ConversionReport`.
    """
    report, assignments = plan(state_dict, model, layout, strict=strict)
    if strict and not report.ok:
        raise ConversionError(
            f"Checkpoint does not match layout {layout.name!r} for {model.__class__.__name__} "
            f"(strict mode; nothing was loaded):\n{report.problems()}"
        )
    variables = model_variables(model)
    for path, array in assignments.items():
        variable = variables[path]
        variable.assign(array.astype(variable.dtype))
    return report
