"""Training recipes of the PCB family: PCB, PCB-RPP (induced training, stage 2), PCB+CSA and PCB+SA.

Source shorthands as in `keras_reid.training.recipes`.
"""

from keras_reid.training.recipes import RESNET_BACKBONE, Recipe, register_recipe

PCB_COMMON = dict(
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
PCB_RECIPE = register_recipe(
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
        **PCB_COMMON,
    )
)
register_recipe(
    PCB_RECIPE.replace(
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
register_recipe(Recipe(name="pcb_csa", architecture="pcb_csa", **{**PCB_COMMON, **_CSA}))
register_recipe(Recipe(name="pcb_sa", architecture="pcb_sa", **{**PCB_COMMON, **_CSA}))
