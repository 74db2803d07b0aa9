"""Tiny synthetic folder datasets and recipes for the training tests."""

import os

import numpy as np
from PIL import Image

from keras_reid.training.recipes import Recipe

TINY_SHAPE = (64, 32)


def make_folder_dataset(root, num_ids=6, per_id=4, size=(72, 36)):
    """`<root>/{train,query,gallery}/<id>/*.png`: noisy solid-colour images, one colour per id."""
    rng = np.random.default_rng(0)
    colors = rng.integers(0, 256, size=(num_ids, 3))
    for split, count in (("train", per_id), ("query", 1), ("gallery", 2)):
        for pid in range(num_ids):
            folder = os.path.join(root, split, f"id{pid:02d}")
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                noise = rng.integers(-20, 21, size=size + (3,))
                arr = np.clip(colors[pid] + noise, 0, 255).astype(np.uint8)
                Image.fromarray(arr).save(os.path.join(folder, f"{split}_{i}.png"))
    return root


def tiny_recipe(**changes):
    """A 3-epoch recipe on `tiny_test_net` with a 1-epoch fixbase phase."""
    register_tiny_architecture()
    base = dict(
        name="tiny",
        architecture="tiny_test_net",
        image_size=TINY_SHAPE,
        epochs=3,
        batch_size=8,
        sampler="identity",
        num_instances=2,
        optimizer="adam",
        lr=1e-3,
        lr_milestones=(2,),
        fixbase_epochs=1,
        open_layers=(r"^block_", r"^head_", r"^classifier"),
        crop_pad=4,
        init_preset=None,
    )
    base.update(changes)
    return Recipe(**base)


def register_tiny_architecture():
    """Registers `tiny_test_net` (a few thousand parameters) once; returns its name."""
    import keras

    from keras_reid.models.registry import _ARCHITECTURES, register_architecture
    from keras_reid.models.reid_model import ReIDModel

    name = "tiny_test_net"
    if name in _ARCHITECTURES:
        return name

    @keras.saving.register_keras_serializable(package="keras_reid_tests")
    class TinyTestNet(ReIDModel):
        def __init__(self, num_classes=None, image_shape=(64, 32, 3), **kwargs):
            super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
            inputs = keras.Input(shape=self.image_shape, name="images")
            x = keras.layers.Conv2D(8, 3, strides=4, use_bias=False, name="stem_conv")(inputs)
            x = keras.layers.BatchNormalization(name="stem_bn")(x)
            x = keras.layers.ReLU(name="stem_relu")(x)
            x = keras.layers.Conv2D(16, 3, strides=2, use_bias=False, name="block_conv")(x)
            x = keras.layers.BatchNormalization(name="block_bn")(x)
            x = keras.layers.ReLU(name="block_relu")(x)
            x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
            x = keras.layers.Dropout(0.2, name="dropout")(x)
            embedding = keras.layers.Dense(16, name="head_dense")(x)
            outputs = {"embedding": embedding}
            names = []
            if self.num_classes:
                outputs["logits"] = self._classifier()(embedding)
                names = ["logits"]
            self._set_network(inputs, outputs, names)

    register_architecture(name, TinyTestNet, "test-only tiny network")
    return name
