"""Attention layers of keras_reid (one public class per file)."""

from keras_reid.layers.grouped_pointwise_conv import GroupedPointwiseConv
from keras_reid.layers.local_attention import LocalAttention
from keras_reid.layers.mode_attention import ModeAttention
from keras_reid.layers.stra_bottleneck import StRABottleneck
from keras_reid.layers.compressed_self_attention import CompressedSelfAttention
from keras_reid.layers.refined_part_pooling import RefinedPartPooling
from keras_reid.layers.self_attention import SelfAttention
from keras_reid.layers.spatial_attention import SpatialAttention
