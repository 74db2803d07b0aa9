"""Upstream state-dict layouts: each architecture family declares its own in
`keras_reid/models/<family>/layouts/` and registers them (`keras_reid.models.registry`)."""

from keras_reid.models.registry import default_layout, default_layouts, get_layout, list_layouts  # noqa: F401
