"""Level 1: the appearance model (ResNet at stride 8, checkpoint loaders, input normalisation)."""
from .base import (
    CRW_MEAN,
    CRW_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NORMALIZATION_PRESETS,
    ColorStatsModel,
    FeatureExtractor,
    WrappedModule,
    feature_size,
    to_tensor_batch,
    wrap_module,
)

__all__ = [
    "CRW_MEAN", "CRW_STD", "IMAGENET_MEAN", "IMAGENET_STD", "NORMALIZATION_PRESETS",
    "ColorStatsModel", "FeatureExtractor", "WrappedModule", "feature_size", "to_tensor_batch", "wrap_module",
]
