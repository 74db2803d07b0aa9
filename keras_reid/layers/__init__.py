"""Attention layers of keras_reid (one public class per file)."""

from keras_reid.layers.grouped_pointwise_conv import GroupedPointwiseConv
from keras_reid.layers.local_attention import LocalAttention
from keras_reid.layers.mode_attention import ModeAttention
from keras_reid.layers.stra_bottleneck import StRABottleneck
from keras_reid.layers.compressed_self_attention import CompressedSelfAttention
from keras_reid.layers.refined_part_pooling import RefinedPartPooling
from keras_reid.layers.self_attention import SelfAttention
from keras_reid.layers.spatial_attention import SpatialAttention
from keras_reid.layers.align_corners_resize import AlignCornersResize, resize_align_corners
from keras_reid.layers.bilinear_sampler import (
    AxisAlignedSampler,
    affine_grid_sample,
    axis_aligned_sample,
)
from keras_reid.layers.hard_regional_attention import HardRegionalAttention
from keras_reid.layers.harmonious_attention import HarmoniousAttention
from keras_reid.layers.harmonious_channel_attention import HarmoniousChannelAttention
from keras_reid.layers.harmonious_spatial_attention import HarmoniousSpatialAttention
from keras_reid.layers.inception_a import InceptionA
from keras_reid.layers.inception_b import InceptionB
from keras_reid.layers.soft_attention import SoftAttention
from keras_reid.layers.instance_normalization import InstanceNormalization
from keras_reid.layers.channel_gate import ChannelGate
from keras_reid.layers.image_preprocessing import ImagePreprocessing
from keras_reid.layers.batch_norm_folded_linear import BatchNormFoldedLinear
