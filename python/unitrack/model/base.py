"""The contract every appearance model meets, and input normalisation.

A *feature extractor* maps normalised RGB images ``Tensor[B, 3, H, W]`` to a stride-8 feature map
``Tensor[B, C, ceil(H/8), ceil(W/8)]``. Task heads only use :meth:`FeatureExtractor.features`, which takes raw RGB
frames (uint8 ``[H, W, 3]`` numpy arrays, or float tensors in [0, 1]) and handles normalisation, device and no-grad.
Any ``nn.Module`` that returns a stride-8 map can be wrapped with :func:`wrap_module`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from .precision import autocast, check_precision, precision_dtype

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# CRW checkpoints were trained with CIFAR statistics (SPEC 1.3).
CRW_MEAN = (0.4914, 0.4822, 0.4465)
CRW_STD = (0.2023, 0.1994, 0.2010)
NORMALIZATION_PRESETS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "crw": (CRW_MEAN, CRW_STD)}

ImageLike = Union[np.ndarray, torch.Tensor]


def to_tensor_batch(images: Union[ImageLike, Sequence[ImageLike]]) -> torch.Tensor:
    """RGB frames -> float ``Tensor[B, 3, H, W]`` in [0, 1].

    Accepts a uint8 ``[H, W, 3]`` array, a list of them, a uint8 ``[B, H, W, 3]`` array, or float tensors
    ``[3, H, W]`` / ``[B, 3, H, W]`` already in [0, 1].
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError("images: expected at least one frame, got an empty list")
        return torch.cat([to_tensor_batch(im) for im in images], dim=0)
    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images: expected RGB arrays [H, W, 3] or [B, H, W, 3], got shape {images.shape}")
        t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        return t.float() / 255.0 if images.dtype == np.uint8 else t.float()
    if isinstance(images, torch.Tensor):
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images: expected tensors [3, H, W] or [B, 3, H, W], got shape {tuple(images.shape)}")
        return images.float() / 255.0 if images.dtype == torch.uint8 else images
    raise TypeError(f"images: expected a numpy array, a torch.Tensor or a list of them, got {type(images).__name__}")


def feature_size(H: int, W: int, stride: int = 8) -> tuple[int, int]:
    """Spatial size of a stride-``stride`` map: ``(ceil(H/stride), ceil(W/stride))``."""
    return (-(-H // stride), -(-W // stride))


class FeatureExtractor(nn.Module):
    """Base class: a stride-8 appearance model with its input normalisation.

    Subclasses implement :meth:`forward` on normalised input. ``mean``/``std`` are the per-channel statistics applied by
    :meth:`normalize`; ``out_channels`` is C; ``name`` labels results tables. ``precision`` (``"fp32"`` default,
    ``"bf16"``, ``"fp16"`` on CUDA; :mod:`unitrack.model.precision`): calling the model (``model(x)``, hence
    :meth:`features`) runs ``forward`` under ``torch.autocast`` in that precision (where the device computes it
    natively) and returns features of that dtype.
    """

    stride = 8

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD, name: str = "model"):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.name = name
        self.out_channels: int = -1
        self._precision = "fp32"

    @property
    def device(self) -> torch.device:
        return self.mean.device

    @property
    def precision(self) -> str:
        """``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA only): the autocast precision of the forward pass."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        self._precision = check_precision(value, self.device)

    def __call__(self, *args, **kwargs):
        with autocast(self._precision, self.device):
            out = super().__call__(*args, **kwargs)
        # The features come out in the precision's dtype also where the forward ran in float32 (TextureModel, or bf16
        # on a CPU without native bf16: precision.autocast).
        if self._precision != "fp32" and isinstance(out, torch.Tensor) and out.dtype == torch.float32:
            out = out.to(precision_dtype(self._precision))
        return out

    @contextmanager
    def using_precision(self, precision: Optional[str]) -> Iterator[None]:
        """Run the forward passes inside the block in ``precision`` (None: the model's own), then restore it; how a
        head with its own precision runs a shared model."""
        if precision is None or precision == self._precision:
            yield
            return
        before, self.precision = self._precision, precision
        try:
            yield
        finally:
            self._precision = before

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` in [0, 1] -> normalised."""
        return (x.to(self.device) - self.mean) / self.std

    @torch.no_grad()
    def features(self, images: Union[ImageLike, Sequence[ImageLike]], batch_size: int = 8) -> torch.Tensor:
        """Raw RGB frames -> ``Tensor[B, C, ceil(H/8), ceil(W/8)]`` (eval mode, no grad, on ``self.device``)."""
        self.eval()
        x = to_tensor_batch(images)
        outs = [self(self.normalize(x[i : i + batch_size])) for i in range(0, x.shape[0], batch_size)]
        return torch.cat(outs, dim=0)


class WrappedModule(FeatureExtractor):
    """Adapter for any ``nn.Module`` that maps normalised ``[B, 3, H, W]`` to a stride-8 ``[B, C, h, w]`` map."""

    def __init__(self, module: nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD, name: str = "custom"):
        super().__init__(mean, std, name)
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def wrap_module(module: nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD, name: str = "custom") -> FeatureExtractor:
    """Use any stride-8 ``nn.Module`` as a unitrack appearance model."""
    if isinstance(module, FeatureExtractor):
        return module
    return WrappedModule(module, mean, std, name)


class ColorStatsModel(FeatureExtractor):
    """Training-free colour baseline at stride 8: the mean RGB of each 8x8 cell (3 channels), on normalised input.

    Cheap and deterministic; used by tests and as the simplest built-in representation.
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__(mean, std, name="color-mean")
        self.out_channels = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(x, 8, stride=8, ceil_mode=True)
