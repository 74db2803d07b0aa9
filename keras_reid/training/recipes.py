"""Training recipes: the hyper-parameters of each architecture, with their sources.

A `Recipe` is plain data (a dataclass); `keras_reid.training.train` turns it into a model,
an optimizer, a learning-rate schedule, a loss and an input pipeline. Every field that
comes from a paper or an upstream repository is cited in `sources`; deviations are listed
in `notes`. Source shorthands:

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


def register_recipe(recipe, overwrite=False):
    if recipe.name in _RECIPES and not overwrite:
        raise ValueError(f"Recipe {recipe.name!r} is already registered.")
    _RECIPES[recipe.name] = recipe
    return recipe


def list_recipes():
    return sorted(_RECIPES)


def get_recipe(name):
    """A copy of the registered recipe `name` (a recipe or an architecture name)."""
    if isinstance(name, Recipe):
        return copy.deepcopy(name)
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
# StRA family. Choice on the lr decay: the paper (App. B.1) says "decayed (multiplied) by 0.2
# every 20 epochs"; the public train.py builds torchreid's `single_step` scheduler with
# stepsize 20 and no gamma, i.e. torchreid's default γ = 0.1 (spec §1.5). `resnet50_stra` uses
# the code's 0.1, because that script produced the released checkpoint whose numbers
# (mAP 84.2 / R1 94.0) are the parity target of the converted weights; `resnet50_stra_paper`
# is the paper's 0.2.
_STRA_SOURCES = {
    "optimizer/lr": "[stra-paper] B.1 + [stra-code]: Adam, lr 3e-4",
    "adam_betas": "[stra-code] torchreid v0.9.1 build_optimizer default adam_beta2=0.99",
    "weight_decay": "[stra-paper] 5e-4 (torch Adam weight_decay: coupled L2)",
    "lr_milestones/lr_gamma": "[stra-code] single_step stepsize 20, torchreid default gamma 0.1 (paper: 0.2)",
    "batch_size/sampler": "[stra-paper] batch 32; [stra-code] torchreid RandomSampler",
    "epochs": "[stra-paper]/[stra-code] 100",
    "fixbase_epochs/open_layers": "[stra-paper] stages 1-4 frozen 8 epochs; [stra-code] fixbase_epoch 8, open layer4/global_avg_pool/classifier",
    "image_size/augmentation": "[stra-paper] 256x128, random flip, crop, erasing",
    "diversity_weight": "[stra-paper] weight of L_d 1.0",
    "init": "[stra-paper] ImageNet init (StRA conv2 random)",
    "eval": "[stra-code] eval.py: L2-normalised feature, squared Euclidean",
}
_STRA_NOTES = (
    "Augmentation: zero-pad 10 + random crop (BoT) instead of torchreid's Random2DTranslation. "
    "The CE + L_div combination of the unpublished StRA engine is CE(eps 0.1) + 1.0*mean(L_div) (spec §1.5). "
    "ImageNet init needs the `resnet50_imagenet` preset; without it training starts from random weights (logged)."
)

register_recipe(
    Recipe(
        name="resnet50_stra",
        architecture="resnet50_stra",
        image_size=(256, 128),
        epochs=100,
        batch_size=32,
        sampler="random",
        optimizer="adam",
        lr=3e-4,
        weight_decay=5e-4,
        adam_betas=(0.9, 0.99),
        lr_milestones=(20, 40, 60, 80),
        lr_gamma=0.1,
        fixbase_epochs=8,
        open_layers=(r"^layer4_", r"^global_pool$", r"^head_", r"^diversity$", r"^classifier"),
        init_preset="resnet50_imagenet",
        model_options={"diversity_weight": 1.0},
        sources=_STRA_SOURCES,
        notes=_STRA_NOTES,
    )
)
register_recipe(
    _RECIPES["resnet50_stra"].replace(
        name="resnet50_stra_paper",
        lr_gamma=0.2,
        sources={**_STRA_SOURCES, "lr_milestones/lr_gamma": "[stra-paper] x0.2 every 20 epochs"},
        notes="The StRA paper's decay (x0.2 every 20 epochs). " + _STRA_NOTES,
    )
)
# The StRA paper compares every backbone under the same setting (Table 2): the baselines and
# the MobileNetV2 variants reuse the StRA recipe. For MobileNetV2 the open layers are the last
# stage (features 15-17, where StRA replaces the depthwise convs), the final 1x1 conv
# (features 18), the head and the classifier.
_MBV2_OPEN = (r"^features_1[5-8]_", r"^global_pool$", r"^head_", r"^diversity$", r"^classifier")
register_recipe(
    _RECIPES["resnet50_stra"].replace(
        name="resnet50",
        architecture="resnet50",
        model_options={},
        notes="The StRA recipe on the plain ResNet-50 baseline (fair comparison, StRA paper Table 2). " + _STRA_NOTES,
    )
)
for _arch, _opts in (
    ("mobilenetv2", {}),
    ("mobilenetv2_1.4", {}),
    ("mobilenetv2_stra", {"diversity_weight": 1.0}),
    ("mobilenetv2_1.4_stra", {"diversity_weight": 1.0}),
):
    register_recipe(
        _RECIPES["resnet50_stra"].replace(
            name=_arch,
            architecture=_arch,
            open_layers=_MBV2_OPEN,
            init_preset="mobilenetv2_imagenet" if "1.4" not in _arch else "mobilenetv2_1.4_imagenet",
            model_options=dict(_opts),
            backbone_pattern=r"^features_",
            notes=(
                "Same recipe as resnet50_stra for a fair comparison (StRA paper Table 2 compares "
                "ResNet and MobileNetV2 under one setting; no MobileNetV2 code upstream). "
                "ImageNet init from the MobileNetV2 ImageNet preset when available. " + _STRA_NOTES
            ),
        )
    )

# ---------------------------------------------------------------------------------------------
register_recipe(
    Recipe(
        name="hacnn",
        architecture="hacnn",
        image_size=(160, 64),
        epochs=300,
        batch_size=32,
        sampler="random",
        optimizer="sgd",
        lr=0.03,
        momentum=0.9,
        weight_decay=5e-4,
        lr_milestones=(150, 225),
        lr_gamma=0.1,
        random_erasing=False,
        init_preset=None,
        eval_normalize=False,
        sources={
            "optimizer/lr/epochs/schedule": "[hacnn] SGD, ~300 epochs, lr 0.03, x0.1 at 50% and 75% (issue #27)",
            "image_size/augmentation": "[hacnn] MODEL_ZOO: 160x64, random_flip + random_crop, trained from scratch",
            "momentum/weight_decay/batch": "torchreid defaults (SGD momentum 0.9, weight_decay 5e-4, batch 32)",
            "loss": "[hacnn] label-smoothed CE (0.1) on both heads, averaged (DeepSupervision)",
            "eval": "torchreid engine default normalize_feature=False, euclidean",
        },
        notes="Maintainer's from-scratch recipe; momentum/weight decay/batch are torchreid defaults, not stated in issue #27.",
    )
)

# ---------------------------------------------------------------------------------------------
_PCB_COMMON = dict(
    image_size=(384, 128),
    sampler="random",
    optimizer="sgd",
    momentum=0.9,
    lr=0.1,
    backbone_lr_mult=0.1,
    backbone_pattern=RESNET_BACKBONE,
    random_erasing=False,
    crop_pad=0,
    label_smoothing=0.0,
    init_preset="resnet50_imagenet",
    eval_normalize=False,
)
register_recipe(
    Recipe(
        name="pcb",
        architecture="pcb",
        epochs=60,
        batch_size=64,
        nesterov=True,
        weight_decay=5e-4,
        lr_milestones=(40,),
        sources={
            "all": "[pcb-code] train_PCB.sh/PCB.py: 384x128, flip only, batch 64, 60 epochs, SGD Nesterov "
            "0.9, wd 5e-4, lr 0.1 new / 0.01 backbone, x0.1 at epoch 40, plain CE",
            "eval": "[pcb-code] per-part L2-normalised 12288-d feature (the model's embedding), Euclidean",
        },
        notes="Upstream trains on train+val (--combine-trainval); this trains on the train split.",
        **_PCB_COMMON,
    )
)
register_recipe(
    _RECIPES["pcb"].replace(
        name="pcb_rpp",
        architecture="pcb_rpp",
        epochs=50,
        lr_milestones=(20, 40),
        backbone_lr_mult=1.0,
        init_preset=None,
        sources={
            "all": "[pcb-code] train_RPP.sh/RPP.py: from a PCB trained 20 epochs, 50 epochs, step 20, lr 0.1, "
            "lr_mult 1 (backbone too), nothing frozen",
        },
        notes="Stage 2 of the induced training: set init_preset to a PCB preset trained ~20 epochs with the "
        "`pcb` recipe (layers are matched by name).",
    )
)
_CSA = dict(
    epochs=100,
    batch_size=64,
    nesterov=False,
    weight_decay=1e-4,
    lr_milestones=(40, 80),
    sources={
        "all": "[csa-paper] Implementation Details: 384x128, flip, ImageNet ResNet-50, SGD momentum 0.9, "
        "wd 1e-4, batch 64, 100 epochs, lr 0.1 x0.1 every 40 epochs, backbone 0.1x, lambda 1.0",
    },
    notes="No public CSA code; Nesterov not stated in the paper (off).",
)
register_recipe(Recipe(name="pcb_csa", architecture="pcb_csa", **{**_PCB_COMMON, **_CSA}))
register_recipe(Recipe(name="pcb_sa", architecture="pcb_sa", **{**_PCB_COMMON, **_CSA}))
register_recipe(
    Recipe(
        name="sa_pcb",
        architecture="sa_pcb",
        epochs=100,
        batch_size=48,
        nesterov=True,
        weight_decay=5e-4,
        lr_milestones=(40, 80),
        sources={
            "all": "[sapcb-code] README command: 384x128, batch 48, 100 epochs, step 40, lr 0.1 new / 0.01 "
            "backbone, SGD Nesterov 0.9, wd 5e-4, dropout 0.5, flip, plain sum of the 10 CE losses",
            "random_erasing": "[sapcb-code] off since commit 9692209 (the paper says on)",
        },
        notes="Released checkpoint was trained 150 epochs (issue #9); paper reports re-ranked numbers.",
        **_PCB_COMMON,
    )
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
register_recipe(
    Recipe(
        name="bot_resnet50",
        architecture="resnet50",
        image_size=(256, 128),
        epochs=120,
        batch_size=64,
        sampler="identity",
        num_instances=4,
        optimizer="adam",
        lr=3.5e-4,
        weight_decay=5e-4,
        adam_betas=(0.9, 0.999),
        lr_milestones=(40, 90),
        warmup_epochs=10,
        warmup_factor=0.1,
        triplet_weight=1.0,
        triplet_margin=0.3,
        init_preset="resnet50_imagenet",
        eval_metric="cosine",
        sources={"all": "[bot] Bag of Tricks: CE ls 0.1 + batch-hard triplet 0.3, P16xK4, Adam 3.5e-4, "
                 "warmup 10 epochs, x0.1 at 40/90, 120 epochs, random erasing"},
        notes="No BNNeck in keras_reid's ResNet-50 head (512-D reduction + BN instead).",
    )
)


# ---------------------------------------------------------------------------------------------
# Domain generalisation: trained on several sources (`multi_source`), judged on cameras never
# trained on (the VIPeR / PRID / GRID / i-LIDS benchmarks). Every ingredient was kept only if
# it paid on those benchmarks under the same short budget (`benchmarks/dg_ablation.py`,
# `benchmarks/results/dg_ablation.md`): the strong-baseline set (P×K batches, CE + triplet,
# BNNeck, warm-up), DualNorm's instance normalisation (identity or BatchNorm-initialised) and
# colour augmentation all ranked below the plain recipe of the `*_cuhk03` presets, so the
# multi-source recipes are that recipe (ImageNet init, one frozen-backbone epoch, Adam 3e-4,
# random batches of 32, label-smoothed CE, flip + pad-crop + random erasing) on more data and
# for longer. The strong-baseline options stay available (`sampler="identity"`,
# `triplet_weight`, `model_options={"bnneck": True, "instance_norm_blocks": ...}`,
# `color_jitter`) for budgets where they may pay.
_DG_SOURCES = {
    "recipe": "the `mobilenetv2` recipe (StRA paper setting) at 128x64 and 12 epochs, as the `*_cuhk03` presets",
    "ablation": "benchmarks/results/dg_ablation.md: BoT tricks, IN (DualNorm, arXiv:1905.03422), colour jitter measured, none kept",
    "image_size/epochs": "budget of a 2-core CPU: see the preset cards for the measured throughput and wall time",
}
# Blocks 2-6: the 24- and 32-channel stages (output stride 4 and 8), where style lives
# (DualNorm's placement, for the instance-normalisation options).
DG_INSTANCE_NORM_BLOCKS = (2, 3, 4, 5, 6)
register_recipe(
    _RECIPES["mobilenetv2"].replace(
        name="mobilenetv2_multisource",
        image_size=(128, 64),
        epochs=12,
        lr_milestones=(9,),
        fixbase_epochs=1,
        eval_metric="cosine",
        sources=_DG_SOURCES,
        notes="128x64 (the DG benchmarks' own images are 48-107 px wide). " + _RECIPES["mobilenetv2"].notes,
    )
)
register_recipe(
    _RECIPES["mobilenetv2_multisource"].replace(
        name="mobilenetv2_stra_multisource",
        architecture="mobilenetv2_stra",
        model_options={"diversity_weight": 1.0},
    )
)


def architectures_without_recipe():
    """Registered architectures that fall back to the `default` recipe."""
    from keras_reid.models import list_architectures

    return [a for a in list_architectures() if a not in _RECIPES and a not in _ALIASES]
