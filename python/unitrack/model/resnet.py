"""ResNet backbones at output stride 8, with torchvision-compatible state-dict keys (SPEC §1.1).

Written here (torchvision cannot be installed beside our torch). The module tree and parameter names are those of
``torchvision.models.resnet`` (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer3.0.downsample.0`` ...), so torchvision
and converted self-supervised state dicts load without renaming. ``avgpool`` and ``fc`` are never built.

Stride change exactly as the reference (``model/resnet.py: modify``): the stages are built with torchvision's strides,
then *every* ``Conv2d`` inside ``layer3`` and ``layer4`` (including the 1x1 downsample conv of their first block) gets
stride 1. Dilation (1) and zero padding are left unchanged, so the receptive field of layer3/4 is smaller than in a
dilated network. conv1, maxpool and layer2 halve the resolution with ceil rounding, so an ``H x W`` input gives a
``ceil(H/8) x ceil(W/8)`` map.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence, Type, Union

import torch
import torch.nn as nn

__all__ = [
    "ARCHS",
    "BasicBlock",
    "Bottleneck",
    "ResNetStride8",
    "infer_resnet_structure",
    "init_resnet_weights",
    "resnet_arch_for_structure",
]


def _conv3x3(inplanes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(inplanes: int, planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (ResNet-18/34). Keys as torchvision."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided, torchvision "V1.5") -> 1x1 with expansion 4 (ResNet-50/101). Keys as torchvision."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


Block = Union[Type[BasicBlock], Type[Bottleneck]]

#: name -> (block type, blocks per stage). ResNet-18 and -50 are the tested ones; 34/101 share the code.
ARCHS: dict[str, tuple[Block, tuple[int, int, int, int]]] = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
    "resnet101": (Bottleneck, (3, 4, 23, 3)),
}


class ResNetStride8(nn.Module):
    """ResNet trunk up to ``layer3`` or ``layer4``, output stride 8.

    ``forward``: normalised ``Tensor[B, 3, H, W]`` -> ``Tensor[B, C, ceil(H/8), ceil(W/8)]`` with C = 256 (layer3) /
    512 (layer4) for BasicBlock nets and 1024 / 2048 for Bottleneck nets. Parameters are left at PyTorch's default
    init; call :func:`init_resnet_weights` for the seeded torchvision-style init.
    """

    def __init__(self, block: Block, layers: Sequence[int], out_layer: int = 3):
        super().__init__()
        if out_layer not in (3, 4):
            raise ValueError(f"out_layer: expected 3 or 4, got {out_layer!r}")
        self.block = block
        self.out_layer = out_layer
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2) if out_layer == 4 else None
        # The reference's modification: stride 1 for every conv of layer3/layer4; dilation and padding untouched.
        for stage in (self.layer3, self.layer4):
            if stage is None:
                continue
            for m in stage.modules():
                if isinstance(m, nn.Conv2d):
                    m.stride = (1, 1)
        self.out_channels = (256 if out_layer == 3 else 512) * block.expansion

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
            )
        mods = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        mods += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.layer4 is not None:
            x = self.layer4(x)
        return x


@torch.no_grad()
def init_resnet_weights(module: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic torchvision-style init from a private ``torch.Generator`` (the global RNG is not touched).

    Conv weights: Kaiming normal (fan_out, ReLU); BatchNorm: weight 1, bias 0, running mean 0, running var 1.
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            w = torch.empty(m.weight.shape, dtype=torch.float32)
            nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=gen)
            m.weight.copy_(w)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.fill_(1.0)
            m.bias.zero_()
            m.running_mean.zero_()
            m.running_var.fill_(1.0)
            m.num_batches_tracked.zero_()
    return module


_BLOCK_KEY = re.compile(r"^layer([1-4])\.(\d+)\.")


def infer_resnet_structure(state: Mapping[str, object]) -> Optional[tuple[str, tuple[int, ...]]]:
    """Block type and blocks per stage of a torchvision-keyed ResNet state dict.

    Returns ``("basic" | "bottleneck", (n1, n2, ...))`` for the stages present (layer1 first, stopping at the first
    absent stage), or ``None`` when the keys hold no ``layer1`` blocks.
    """
    counts: dict[int, set[int]] = {}
    bottleneck = False
    for k in state:
        m = _BLOCK_KEY.match(k)
        if m:
            counts.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
            if ".conv3." in k:
                bottleneck = True
    if 1 not in counts:
        return None
    stages = []
    for s in (1, 2, 3, 4):
        if s not in counts:
            break
        stages.append(max(counts[s]) + 1)
    return ("bottleneck" if bottleneck else "basic", tuple(stages))


def resnet_arch_for_structure(structure: tuple[str, tuple[int, ...]]) -> Optional[str]:
    """The :data:`ARCHS` name matching an :func:`infer_resnet_structure` result (first stages compared), or None."""
    kind, stages = structure
    for name, (block, layers) in ARCHS.items():
        if (block is Bottleneck) == (kind == "bottleneck") and tuple(layers[: len(stages)]) == stages:
            return name
    return None
