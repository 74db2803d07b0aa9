"""The declarative state-dict mapping engine (`keras_reid.utils.state_dict_mapping`).

It lives in the library so that each architecture family can declare its upstream layouts in
its own folder (`keras_reid/models/<family>/layouts/`); this module keeps the conversion
package's import path.
"""

from keras_reid.utils.state_dict_mapping import (  # noqa: F401
    BN_VARIABLES,
    TRANSFORMS,
    ConversionError,
    ConversionReport,
    Layout,
    Rule,
    apply_layout,
    bn,
    conv,
    dense,
    depthwise,
    grouped_pointwise,
    model_variables,
    plan,
)
