"""Training recipes: the hyper-parameters of each architecture, with their sources.

A `Recipe` is plain data (a dataclass); `keras_reid.training.train` turns it into a model,
an optimizer, a learning-rate schedule, a loss and an input pipeline. Every field that
comes from a paper or an upstream repository is cited in `sources`; deviations are listed
in `notes`. Each architecture family registers its recipes in its own folder
(`keras_reid/models/<family>/recipes.py`); this module holds the `Recipe` type, the registry
and the generic `default`. Source shorthands:

* **[stra-paper]** StRA paper, App. B.1 (`shared/papers/stra_paper.txt`).
* **[stra-code]** shenao-zhang/StRA `train.py` as summarised in
  `shared/specs/upstream_stra_hacnn.md` §1.5 (torchreid v0.9.1 engine/optimizer defaults).
* **[hacnn]** `upstream_stra_hacnn.md` §2.1 (maintainer's from-scratch recipe,
  deep-person-reid issue #27; `docs/MODEL_ZOO.md` transforms and input size).
* **[pcb-code]** syfafterzy/PCB_RPP_for_reID `train_PCB.sh`/`train_RPP.sh`
  (`upstream_csa_pcb_sapcb.md` §2.2).
* **[csa-paper]** CSA paper, "Implementation Details" (`shared/papers/csa_paper.txt`).
* **[sapcb-code]** HRanWang/Spatial-Attention README command (`upstream_csa_pcb_sapcb.md` §3.3);
  **[sapcb-paper]** `shared/papers/sa_pcb_paper.txt`, Implementation Details.
* **[bot]** fast-reid `configs/Base-bagtricks.yml` (`shared/specs/anchors.md` §5).
"""

import copy
import dataclasses
import difflib
import importlib

RESNET_BACKBONE = r"^(conv1|bn1|layer[1-4]_)"


@dataclasses.dataclass
class Recipe:
    """How to train one architecture.

    Args:
        name: recipe name (registry key).
        architecture: `keras_reid.build` name.
        image_size: `(H, W)` of the training/eval images.
        epochs: training epochs.
        batch_size: images per batch (P×K for `sampler="identity"`).
        sampler: "random" (torchreid `RandomSampler`, drop_last) or "identity" (P×K).
        num_instances: K of the P×K sampler.
        optimizer: "adam" (`TorchAdam`) or "sgd" (`TorchSGD`).
        lr: base learning rate.
        weight_decay: coupled L2 (PyTorch `weight_decay`).
        momentum, nesterov: SGD momentum.
        adam_betas: Adam `(β1, β2)`.
        lr_milestones: epochs at which the lr is multiplied by `lr_gamma`.
        lr_gamma: decay factor.
        warmup_epochs, warmup_factor: linear warmup from `warmup_factor·lr`.
        backbone_lr_mult: lr factor of the variables matching `backbone_pattern`.
        backbone_pattern: regex on `variable.path` naming the pretrained backbone.
        fixbase_epochs: epochs during which only `open_layers` train (torchreid `fixbase_epoch`).
        open_layers: regexes on layer names (`model.network.layers`) trained during fixbase.
        label_smoothing: ε of the identity cross-entropy.
        triplet_weight, triplet_margin: batch-hard triplet term (0 disables it).
        flip, crop_pad, random_erasing, erase_area: training augmentation (horizontal flip,
            zero-pad + random crop back to size, torchreid random erasing p 0.5).
        color_jitter: strength `s` of the colour/style augmentation (0 = off): brightness,
            contrast and saturation factors U(1-s, 1+s) and a hue shift U(-s/4, s/4), each
            image with its own draws (torchvision `ColorJitter(s, s, s, s/4)`).
        random_grayscale: probability of turning an image grey (3 equal channels).
        domain_batches: with `sampler="identity"` and a multi-source dataset, every batch
            holds identities of one source only (else sources are mixed).
        init_preset: preset whose weights initialise every layer with the same name and
            shapes (ImageNet init), or None for the architecture's own initialisers.
        instance_norm_init: how instance-normalisation layers absent from `init_preset`
            start: "identity" (γ 1, β 0) or "batch_norm" (the γ, β of the pretrained
            BatchNorm they follow; see `keras_reid.training.trainer.init_from_preset`).
        model_options: extra `keras_reid.build` arguments.
        eval_normalize: L2-normalise embeddings before the distance (as the upstream eval).
        eval_metric: `compute_distance_matrix` metric.
        sources: `{field: citation}`.
        notes: deviations and caveats, free text.
    """

    name: str
    architecture: str
    image_size: tuple = (256, 128)
    epochs: int = 60
    batch_size: int = 32
    sampler: str = "random"
    num_instances: int = 4
    optimizer: str = "adam"
    lr: float = 3e-4
    weight_decay: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = False
    adam_betas: tuple = (0.9, 0.99)
    lr_milestones: tuple = ()
    lr_gamma: float = 0.1
    warmup_epochs: int = 0
    warmup_factor: float = 0.1
    backbone_lr_mult: float = 1.0
    backbone_pattern: str = RESNET_BACKBONE
    fixbase_epochs: int = 0
    open_layers: tuple = ()
    label_smoothing: float = 0.1
    triplet_weight: float = 0.0
    triplet_margin: float = 0.3
    flip: bool = True
    crop_pad: int = 10
    random_erasing: bool = True
    erase_area: tuple = (0.02, 0.4)
    color_jitter: float = 0.0
    random_grayscale: float = 0.0
    domain_batches: bool = False
    init_preset: str = None
    instance_norm_init: str = "identity"
    model_options: dict = dataclasses.field(default_factory=dict)
    eval_normalize: bool = True
    eval_metric: str = "euclidean"
    sources: dict = dataclasses.field(default_factory=dict)
    notes: str = ""

    def replace(self, **changes):
        """A copy with some fields changed (`dataclasses.replace`)."""
        return dataclasses.replace(copy.deepcopy(self), **changes)

    def to_dict(self):
        d = dataclasses.asdict(self)
        for key in ("image_size", "adam_betas", "lr_milestones", "open_layers", "erase_area"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        for key in ("image_size", "adam_betas", "lr_milestones", "open_layers", "erase_area"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def __post_init__(self):
        if self.sampler not in ("random", "identity"):
            raise ValueError(f"sampler must be 'random' or 'identity', got {self.sampler!r}.")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}.")
        if self.sampler == "identity" and self.batch_size % self.num_instances:
            raise ValueError(f"batch_size {self.batch_size} is not a multiple of num_instances {self.num_instances}.")
        if self.instance_norm_init not in ("identity", "batch_norm"):
            raise ValueError(f"instance_norm_init must be 'identity' or 'batch_norm', got {self.instance_norm_init!r}.")
        if self.fixbase_epochs and not self.open_layers:
            raise ValueError("fixbase_epochs > 0 needs open_layers (the layers that train while the rest is frozen).")
        self.image_size = tuple(int(s) for s in self.image_size)


_RECIPES = {}
# Architectures that deliberately share another architecture's recipe.
_ALIASES = {}


def _load_families():
    """Imports the architecture families, which register their recipes (`models/<family>/recipes.py`)."""
    importlib.import_module("keras_reid.models")


def register_recipe(recipe, overwrite=False):
    """Registers `recipe` under `recipe.name` and returns it (family folders call this)."""
    if recipe.name in _RECIPES and not overwrite:
        raise ValueError(f"Recipe {recipe.name!r} is already registered.")
    _RECIPES[recipe.name] = recipe
    return recipe


def list_recipes():
    _load_families()
    return sorted(_RECIPES)


def get_recipe(name):
    """A copy of the registered recipe `name` (a recipe or an architecture name)."""
    if isinstance(name, Recipe):
        return copy.deepcopy(name)
    _load_families()
    if name in _RECIPES:
        return copy.deepcopy(_RECIPES[name])
    if name in _ALIASES:
        return copy.deepcopy(_RECIPES[_ALIASES[name]]).replace(name=name, architecture=name)
    close = difflib.get_close_matches(str(name), list(_RECIPES), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"Unknown recipe {name!r}.{hint} Available: {', '.join(list_recipes())}.")


def recipe_for_architecture(architecture):
    """The recipe of a registered architecture: its own, an alias, or the explicit default.

    Architectures without a recipe of their own get `default` (the torchreid softmax
    baseline) with `architecture` replaced; `recipe.notes` says so.
    """
    _load_families()
    for recipe in _RECIPES.values():
        if recipe.architecture == architecture and recipe.name == architecture:
            return copy.deepcopy(recipe)
    if architecture in _ALIASES:
        return get_recipe(architecture)
    default = copy.deepcopy(_RECIPES["default"])
    return default.replace(
        name=architecture,
        architecture=architecture,
        notes=f"No recipe of its own: the torchreid softmax default. {default.notes}".strip(),
    )


# ---------------------------------------------------------------------------------------------
register_recipe(
    Recipe(
        name="default",
        architecture="resnet50",
        image_size=(256, 128),
        epochs=60,
        batch_size=32,
        optimizer="adam",
        lr=3e-4,
        weight_decay=5e-4,
        adam_betas=(0.9, 0.99),
        lr_milestones=(20, 40),
        sources={"all": "torchreid softmax defaults (Adam 3e-4, wd 5e-4, batch 32, label smoothing 0.1)"},
        notes="Generic fallback for architectures without a recipe of their own.",
    )
)


def architectures_without_recipe():
    """Registered architectures that fall back to the `default` recipe."""
    from keras_reid.models import list_architectures

    _load_families()
    return [a for a in list_architectures() if a not in _RECIPES and a not in _ALIASES]
