"""The toy family's training recipe (a few quick epochs; only for tests and the guide)."""

from keras_reid.training.recipes import Recipe, register_recipe

register_recipe(
    Recipe(
        name="toy_net",
        architecture="toy_net",
        image_size=(64, 32),
        epochs=2,
        batch_size=8,
        sampler="identity",
        num_instances=2,
        lr=1e-3,
        lr_milestones=(1,),
        backbone_pattern=r"^block",
        crop_pad=4,
        eval_metric="cosine",
        sources={"all": "toy: no source"},
        notes="Toy recipe of the toy family.",
    )
)
