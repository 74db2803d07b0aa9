"""Training recipe of HA-CNN (from scratch).

Source shorthands as in `keras_reid.training.recipes`.
"""

from keras_reid.training.recipes import Recipe, register_recipe

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
