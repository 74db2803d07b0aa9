"""Training recipe of SA-PCB (the upstream README command).

Source shorthands as in `keras_reid.training.recipes`.
"""

from keras_reid.models.pcb.recipes import PCB_COMMON
from keras_reid.training.recipes import Recipe, register_recipe

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
        **PCB_COMMON,
    )
)
