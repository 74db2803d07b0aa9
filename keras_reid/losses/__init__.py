"""Losses for ReID training."""

from keras_reid.losses.cross_entropy import label_smoothed_cross_entropy
from keras_reid.losses.reid_loss import ReIDLoss
