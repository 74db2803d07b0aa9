import keras

from keras_reid.api_export import keras_reid_export
from keras_reid.backbones.osnet_blocks import INSTANCE_NORM_MODES, apply_osnet_features, osnet_channels


@keras_reid_export
class OSNetBackbone(keras.Model):
    """OSNet's feature maps (torchreid `featuremaps`): stem, three omni-scale stages, `conv5`.

    Output stride 16; layer names are torchreid's state_dict names
    (`keras_reid.backbones.osnet_blocks`). Instance normalisation is a constructor
    argument: "none" (`osnet_x*`), "ibn" (`osnet_ibn_x1_0`: IN in the stem and the
    `conv2` blocks) or "ain" (`osnet_ain_x1_0`'s searched placement); see `OSNet`.

    Args:
        width: channel multiplier of (64, 256, 384, 512): 1.0, 0.75, 0.5 or 0.25.
        instance_norm: "none", "ibn" or "ain".
        image_shape: `(H, W, 3)` input shape, H and W at least 16.

    Example:
    >>> import numpy as np
    >>> backbone = OSNetBackbone(width=0.25, image_shape=(64, 32, 3))
    >>> backbone.predict(np.zeros((1, 64, 32, 3)), verbose=0).shape
    (1, 4, 2, 128)

    Reference: Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification",
    ICCV 2019; torchreid `models/osnet.py`, `models/osnet_ain.py`.
    """

    def __init__(self, width=1.0, instance_norm="none", image_shape=(256, 128, 3), dtype=None, **kwargs):
        if instance_norm not in INSTANCE_NORM_MODES:
            raise ValueError(f"instance_norm must be one of {INSTANCE_NORM_MODES}, got {instance_norm!r}.")
        if min(tuple(image_shape)[:2]) < 16:
            raise ValueError(f"OSNet needs images of at least 16×16 (output stride 16), got {tuple(image_shape)}.")
        channels = osnet_channels(float(width))
        inputs = keras.Input(shape=tuple(image_shape), name="images")
        x = apply_osnet_features(inputs, channels, instance_norm=instance_norm, dtype=dtype)
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)
        self.width = float(width)
        self.instance_norm = instance_norm
        self.image_shape = tuple(int(d) for d in image_shape)
        self.channels = channels

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width": self.width,
            "instance_norm": self.instance_norm,
            "image_shape": list(self.image_shape),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
