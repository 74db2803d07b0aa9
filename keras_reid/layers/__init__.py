"""Attention layers of keras_reid (one public class per file)."""

from keras_reid.layers.grouped_pointwise_conv import GroupedPointwiseConv
from keras_reid.layers.local_attention import LocalAttention
from keras_reid.layers.mode_attention import ModeAttention
from keras_reid.layers.stra_bottleneck import StRABottleneck
