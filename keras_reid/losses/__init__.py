"""Losses for ReID training."""

from keras_reid.losses.cross_entropy import label_smoothed_cross_entropy
from keras_reid.losses.reid_loss import ReIDLoss
from keras_reid.losses.triplet import TripletLoss, batch_hard_triplet_loss
from keras_reid.losses.multi_head import CombinedReIDLoss
