"""Evaluation: Market-1501 ranking metrics, distances, re-ranking and a FAISS index.

NumPy only (no Keras, no backend): usable on embeddings from any model; ``evaluate_model``
embeds a dataset with a model first (through ``FeatureExtractor``). ``FaissIndex``
needs the optional ``faiss-cpu`` package (``pip install keras-reid[faiss]``), imported
only when an index is built.
"""

from keras_reid.evaluation.distance import compute_distance_matrix, l2_normalize
from keras_reid.evaluation.evaluate_model import evaluate_model
from keras_reid.evaluation.faiss_index import FaissIndex
from keras_reid.evaluation.multi_split import evaluate_splits
from keras_reid.evaluation.rank import evaluate_rank
from keras_reid.evaluation.rerank import re_rank
from keras_reid.evaluation.saved_gallery import SavedGalleryError, load_gallery, save_gallery

__all__ = [
    "FaissIndex",
    "SavedGalleryError",
    "compute_distance_matrix",
    "evaluate_model",
    "evaluate_rank",
    "evaluate_splits",
    "l2_normalize",
    "load_gallery",
    "re_rank",
    "save_gallery",
]
