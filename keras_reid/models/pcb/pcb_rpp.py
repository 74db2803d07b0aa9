from keras_reid.api_export import keras_reid_export
from keras_reid.layers.refined_part_pooling import RefinedPartPooling
from keras_reid.models.pcb.pcb import PCB

RPP_STAGES = (1, 2, 3)


@keras_reid_export
class PCBRPP(PCB):
    """PCB-RPP: PCB whose uniform stripes are replaced by refined part pooling (RPP).

    Same network as `PCB` (optionally with CSA/SA and deep supervision: PCB-RPP+CSA),
    except that the part vectors g_i come from a `RefinedPartPooling` layer named
    `local_mask` (the upstream module name) once `rpp_stage >= 2`. The paper's
    "induced training" is run as three models built with `rpp_stage`:

    1. `rpp_stage=1`: uniform stripes (exactly `PCB`); train it.
    2. `rpp_stage=2`: RPP pooling; every layer except `local_mask` is frozen
       (`trainable=False`, so BatchNorm also runs in inference mode): only the part
       classifier W is trained. Start it with `model.transfer_weights(stage1_model)`.
    3. `rpp_stage=3`: RPP pooling, everything trainable (fine-tuning);
       `transfer_weights(stage2_model)`.

    Example of the schedule (the CSA paper: 40 epochs PCB, then 60 with RPP)::

        s1 = keras_reid.build("pcb_rpp", num_classes=751, rpp_stage=1); s1.compile(...); s1.fit(...)
        s2 = keras_reid.build("pcb_rpp", num_classes=751, rpp_stage=2); s2.transfer_weights(s1)
        s2.compile(...); s2.fit(...)
        s3 = keras_reid.build("pcb_rpp", num_classes=751, rpp_stage=3); s3.transfer_weights(s2)
        s3.compile(...); s3.fit(...)

    Note the official code (syfafterzy/PCB_RPP_for_reID) freezes nothing and trains RPP
    directly from a 20-epoch PCB; building `rpp_stage=3` from a stage-1 model reproduces
    that schedule. `rpp_mode` picks the part classifier: "upstream" (code: dropout,
    8-channel averaging, mean-centring, 1×1 conv 256→6 with bias) or "paper" (linear on
    the raw 2048-D column vectors); see `RefinedPartPooling`.

    Inference returns the same test feature as `PCB` (six L2-normalised refined part
    vectors, 12,288-D). Training returns `{"embedding", "part_0".."part_5"}` plus
    `"aux_1".."aux_3"` when attention and deep supervision are on.

    Args:
        rpp_stage: 1, 2 or 3, as above (3 by default: the complete, fully trainable
            PCB-RPP, which is also what inference and fine-tuning of trained weights use).
        rpp_mode: "upstream" or "paper".
        rpp_mask_channels: channels of the upstream part classifier's input (256).
        **kwargs: the arguments of `PCB` (num_classes, attention, csa_groups, ...).

    Example:
    >>> import numpy as np, keras_reid
    >>> model = keras_reid.build(
    ...     "pcb_rpp", num_classes=751, rpp_stage=2, image_shape=(96, 32, 3))
    >>> [layer.name for layer in model.network.layers if layer.trainable and layer.weights]
    ['local_mask']

    Reference: Sun, Zheng, Yang, Tian, Wang, "Beyond Part Models: Person Retrieval with
    Refined Part Pooling (and a Strong Convolutional Baseline)", ECCV 2018, §3.2–3.3.
    """

    def __init__(self, num_classes=None, rpp_stage=3, rpp_mode="upstream", rpp_mask_channels=256, **kwargs):
        if int(rpp_stage) not in RPP_STAGES:
            raise ValueError(f"rpp_stage must be 1, 2 or 3, got {rpp_stage}.")
        kwargs.pop("part_pooling", None)
        part_pooling = None
        if int(rpp_stage) >= 2:
            part_pooling = RefinedPartPooling(
                num_parts=int(kwargs.get("num_parts", 6)),
                mode=rpp_mode,
                mask_channels=int(rpp_mask_channels),
                dropout=float(kwargs.get("dropout", 0.5)),
                name="local_mask",
            )
        super().__init__(num_classes=num_classes, part_pooling=part_pooling, **kwargs)
        self.rpp_stage = int(rpp_stage)
        self.rpp_mode = rpp_mode
        self.rpp_mask_channels = int(rpp_mask_channels)
        if self.rpp_stage == 2:
            for layer in self.network.layers:
                layer.trainable = layer.name == "local_mask"

    def get_config(self):
        config = super().get_config()
        config.pop("part_pooling", None)  # rebuilt from the rpp_* arguments
        config.update(
            {
                "rpp_stage": self.rpp_stage,
                "rpp_mode": self.rpp_mode,
                "rpp_mask_channels": self.rpp_mask_channels,
            }
        )
        return config
