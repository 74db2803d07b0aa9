"""Conversion of upstream PyTorch checkpoints into keras_reid presets.

- `conversion.checkpoint.load_state_dict`: safe reading (weights-only unpickling,
  `module.`/`{'state_dict'}` unwrapping).
- `conversion.mapping`: the declarative rule engine (strict by default).
- `conversion.layouts`: one module per upstream layout.
- `conversion.verify`, `conversion.publish`, `conversion.model_card`: checking a
  preset folder, publishing it to the Hugging Face Hub, writing its card.
- CLI: `python -m conversion {convert,verify,publish,layouts}`.
"""

from .checkpoint import CheckpointError, load_state_dict
from .convert import convert_checkpoint
from .layouts import get_layout, list_layouts
from .mapping import ConversionError, Layout, Rule, apply_layout
