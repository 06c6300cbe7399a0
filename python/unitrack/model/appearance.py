"""The UniTrack appearance model: a ResNet-18/50 at output stride 8 (SPEC §1) with checkpoint loading."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import torch

from .base import NORMALIZATION_PRESETS, FeatureExtractor
from .checkpoints import (
    FORMATS,
    LoadReport,
    extract_backbone_state,
    find_imagenet_weights,
    load_backbone_weights,
    read_checkpoint,
)
from .resnet import ARCHS, ResNetStride8, infer_resnet_structure, init_resnet_weights, resnet_arch_for_structure

__all__ = ["AppearanceModel"]

PathLike = Union[str, os.PathLike]
Normalization = Union[str, tuple[Sequence[float], Sequence[float]]]


def _parse_layer(layer: Union[int, str]) -> int:
    if isinstance(layer, str) and layer.lower().startswith("layer"):
        layer = layer[5:]
    try:
        value = int(layer)
    except (TypeError, ValueError):
        value = -1
    if value not in (3, 4):
        raise ValueError(f"layer: expected 3 or 4 (or 'layer3'/'layer4'), got {layer!r}")
    return value


def _check_args(arch: str, weights, weights_format: str, pretrained: bool, skip_keys) -> None:
    if arch != "auto" and arch not in ARCHS:
        raise ValueError(f"arch: expected 'auto' or one of {sorted(ARCHS)}, got {arch!r}")
    if weights_format != "auto" and weights_format not in FORMATS:
        raise ValueError(f"weights_format: expected 'auto' or one of {sorted(FORMATS)}, got {weights_format!r}")
    if weights is not None and pretrained:
        raise ValueError("pretrained=True and weights=... are mutually exclusive: choose one source of weights")
    if isinstance(skip_keys, str):
        raise TypeError("skip_keys: expected a sequence of strings, got a single string")


def _read_weights(arch: str, weights, weights_format: str, pretrained: bool, trust: bool) -> tuple:
    """``(checkpoint or None, its path or "", its format)``: the hub cache's ImageNet weights with ``pretrained``,
    else ``weights`` when given, else none (random init)."""
    if pretrained:
        if arch == "auto":
            raise ValueError("arch='auto' needs weights=<path>; with pretrained=True name the arch")
        path = find_imagenet_weights(arch)
        return read_checkpoint(path, trust=trust), str(path), "torchvision"
    if weights is not None:
        return read_checkpoint(weights, trust=trust), os.fspath(weights), weights_format
    if arch == "auto":
        raise ValueError("arch='auto' takes the architecture from a checkpoint: pass weights=<path>")
    return None, "", weights_format


def _arch_of(ckpt, weights_format: str, path_str: str) -> str:
    """The ResNet architecture of a checkpoint, from its block structure (``arch='auto'``)."""
    state, _, _ = extract_backbone_state(ckpt, weights_format)
    structure = infer_resnet_structure(state)
    found = resnet_arch_for_structure(structure) if structure else None
    if found is None:
        raise ValueError(
            f"arch='auto': cannot tell the ResNet architecture of '{path_str}' "
            f"(block structure {structure}); pass arch= explicitly"
        )
    return found


def _normalization(normalization: Normalization, fmt: Optional[str]) -> tuple:
    """``(mean, std, preset name or "custom")`` of a preset name (``"auto"``: CRW's for CRW checkpoints, else
    ImageNet's) or a ``(mean, std)`` pair."""
    if isinstance(normalization, str):
        norm_key = normalization
        if norm_key == "auto":
            norm_key = "crw" if fmt == "crw" else "imagenet"
        if norm_key not in NORMALIZATION_PRESETS:
            raise ValueError(
                f"normalization: expected 'auto', {sorted(NORMALIZATION_PRESETS)} or a (mean, std) "
                f"pair, got {normalization!r}"
            )
        mean, std = NORMALIZATION_PRESETS[norm_key]
        return mean, std, norm_key
    try:
        mean, std = (tuple(float(v) for v in normalization[0]), tuple(float(v) for v in normalization[1]))
    except (TypeError, ValueError, IndexError) as e:
        raise TypeError(f"normalization: expected a preset name or a (mean, std) pair, got {normalization!r}") from e
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise ValueError(f"normalization: mean and std need 3 values each, std > 0; got {normalization!r}")
    return mean, std, "custom"


class AppearanceModel(FeatureExtractor):
    """ResNet-18/50 trunk up to ``layer3`` or ``layer4`` at output stride 8, eval-mode BatchNorm.

    Args:
        arch: ``"resnet18"`` or ``"resnet50"`` (``"resnet34"``/``"resnet101"`` also build), or ``"auto"`` to take the
            architecture from the checkpoint's block structure (needs ``weights`` or fails).
        layer: 3 (the UniTrack default, C = 256 / 1024) or 4 (C = 512 / 2048); both at stride 8.
        weights: path of a checkpoint, or None. Mutually exclusive with ``pretrained``.
        weights_format: ``"auto"`` (detect from the keys) or one of ``torchvision, ssl, crw, mocov2, ssib, uvc,
            timecycle`` (see :mod:`unitrack.model.checkpoints`).
        normalization: ``"imagenet"``, ``"crw"`` (CIFAR statistics, as CRW was trained), a ``(mean, std)`` pair, or
            ``"auto"`` (default): ``"crw"`` for CRW checkpoints, ``"imagenet"`` otherwise (SPEC §1.3).
        pretrained: load torchvision ImageNet weights from the torch hub cache (never downloaded; a clear
            FileNotFoundError when absent).
        skip_keys: extra substrings; checkpoint entries containing one are not loaded (CRW adds ``"head"``).
        strict: raise instead of warning when the checkpoint leaves model tensors missing or has unexpected ones.
        trust_checkpoint: allow ``torch.load(weights_only=False)`` for files that pickle arbitrary objects.
        seed: seed of the torchvision-style random init (used for everything the checkpoint does not set).
        channels_last: run convolutions in channels-last memory format; None (default) = on when ``device`` is
            the CPU (oneDNN is faster with it: ~1.1-1.5x at the SOT/MOT sizes), off on CUDA (cuDNN float32 was
            faster in NCHW on an H200). The output is returned contiguous (NCHW). Results agree with the other
            layout to float32 rounding. The layout is chosen at construction; ``.to()`` keeps it.
        device: where the model lives.
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"`` (CUDA only): the forward pass runs under
            ``torch.autocast`` in that precision and returns features of its dtype (:mod:`unitrack.model.precision`).
            Measured on this project's CPU (AMX-BF16): ResNet-18 at stride 8 about 2x faster in bf16 (README).

    ``forward(x)``: normalised ``Tensor[B, 3, H, W]`` -> ``Tensor[B, C, ceil(H/8), ceil(W/8)]``.
    ``features(frames)``: raw RGB frames (see :class:`FeatureExtractor`). ``load_report``: a :class:`LoadReport`
    (None without weights).
    """

    def __init__(
        self,
        arch: str = "resnet18",
        layer: Union[int, str] = 3,
        weights: Optional[PathLike] = None,
        weights_format: str = "auto",
        normalization: Normalization = "auto",
        pretrained: bool = False,
        *,
        skip_keys: Sequence[str] = (),
        strict: bool = False,
        trust_checkpoint: bool = False,
        seed: int = 0,
        channels_last: Optional[bool] = None,
        device: Union[str, torch.device] = "cpu",
        precision: str = "fp32",
    ):
        layer = _parse_layer(layer)
        _check_args(arch, weights, weights_format, pretrained, skip_keys)
        ckpt, path_str, weights_format = _read_weights(arch, weights, weights_format, pretrained, trust_checkpoint)
        if arch == "auto":
            arch = _arch_of(ckpt, weights_format, path_str)

        block, stages = ARCHS[arch]
        # Build on the meta device (no wasted default init, global RNG untouched), then seeded init on CPU.
        with torch.device("meta"):
            backbone = ResNetStride8(block, stages, out_layer=layer)
        backbone = backbone.to_empty(device="cpu")
        init_resnet_weights(backbone, seed)

        report: Optional[LoadReport] = None
        if ckpt is not None:
            absent = ("fc", "avgpool") + (("layer4",) if layer == 3 else ())
            report = load_backbone_weights(
                backbone,
                ckpt,
                arch=arch,
                weights_format=weights_format,
                skip_keys=skip_keys,
                absent_parts=absent,
                strict=strict,
                path=path_str,
            )
            del ckpt

        mean, std, norm_key = _normalization(normalization, report.format if report is not None else None)
        if pretrained:
            source = f"imagenet({os.path.basename(path_str)})"
        elif report is not None:
            source = f"{report.format}({os.path.basename(path_str)})"
        else:
            source = f"random-init(seed={seed})"
        super().__init__(mean, std, name=f"{arch}-layer{layer}-{source}")
        self.backbone = backbone
        self.arch = arch
        self.layer = layer
        self.normalization = norm_key
        self.load_report = report
        self.weights_path = path_str or None
        if channels_last is None:
            channels_last = torch.device(device).type == "cpu"
        self.channels_last = bool(channels_last)
        self.out_channels = backbone.out_channels
        if self.channels_last:
            self.backbone.to(memory_format=torch.channels_last)
        self.eval()
        self.to(device)
        self.precision = precision

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected normalised images [B, 3, H, W], got shape {tuple(x.shape)}")
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = self.backbone(x)
        return out.contiguous()

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, out_channels={self.out_channels}, normalization={self.normalization!r}, "
            f"precision={self.precision!r}"
        )
