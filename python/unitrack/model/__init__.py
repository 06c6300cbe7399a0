"""Level 1: the appearance model (ResNet at stride 8, checkpoint loaders, input normalisation).

* :class:`AppearanceModel` -- ResNet-18/50 up to layer3/layer4 at output stride 8 (SPEC §1), torchvision keys,
  checkpoint formats of SPEC §1.2 with a :class:`LoadReport`.
* :func:`build_model` -- the same from a spec string (``"resnet18"``, ``"resnet18:random"``, ``"crw:/ckpt.pth"``,
  ``"resnet50:/ckpt.pth@layer4"``, ``"color"``, ``"texture"``); :func:`list_builtin_models`.
* :class:`ColorStatsModel`, :class:`TextureModel` -- training-free baselines; :func:`wrap_module` -- any stride-8
  ``nn.Module``.
* :mod:`unitrack.model.precision` -- ``precision="fp32" | "bf16" | "fp16"`` of a model's forward pass (autocast).
"""

from .appearance import AppearanceModel
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
from .builder import (
    ModelSpec,
    available_devices,
    build_model,
    check_device,
    compose_spec,
    imagenet_weights_available,
    list_builtin_models,
    parse_model_spec,
)
from .checkpoints import (
    FORMATS,
    HUB_FILES,
    LoadReport,
    detect_format,
    find_imagenet_weights,
    hub_checkpoint_dir,
    read_checkpoint,
)
from .precision import PRECISIONS, check_precision, precision_dtype
from .resnet import ARCHS, ResNetStride8
from .texture import TextureModel

__all__ = [
    "CRW_MEAN",
    "CRW_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NORMALIZATION_PRESETS",
    "ColorStatsModel",
    "FeatureExtractor",
    "WrappedModule",
    "feature_size",
    "to_tensor_batch",
    "wrap_module",
    "AppearanceModel",
    "ModelSpec",
    "available_devices",
    "build_model",
    "check_device",
    "compose_spec",
    "imagenet_weights_available",
    "list_builtin_models",
    "parse_model_spec",
    "FORMATS",
    "HUB_FILES",
    "LoadReport",
    "detect_format",
    "find_imagenet_weights",
    "hub_checkpoint_dir",
    "read_checkpoint",
    "PRECISIONS",
    "check_precision",
    "precision_dtype",
    "ARCHS",
    "ResNetStride8",
    "TextureModel",
]
