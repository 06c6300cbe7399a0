"""A training-free colour + texture representation at stride 8 (a built-in baseline that needs no weights).

For each 8x8 cell of the input (``ceil(H/8) x ceil(W/8)`` cells, partial border cells averaged over their pixels):

* colour (6 channels): mean and standard deviation of CIE Lab (D65, sRGB input), scaled as
  ``((L - 50) / 50, a / 50, b / 50)``;
* oriented texture energy (18 channels): quadrature Gabor energy ``sqrt(even^2 + odd^2)`` on the lightness channel,
  6 orientations (0, 30, ..., 150 deg) x 3 octaves (wavelength 4, 8, 16 px, computed with one 11x11 kernel pair on a
  2x average-pooled pyramid), cell-averaged and compressed with ``log1p(10 * energy)``;
* gradient orientation histogram (8 channels): HOG-like, unsigned orientation (0..180 deg) of 3x3 Sobel gradients of
  lightness, linearly interpolated between 8 bins, weighted by magnitude, summed per cell and normalised per cell as
  ``v / sqrt(|v|^2 + 0.02^2)`` (contrast-invariant; flat cells go to ~0).

32 channels in all; deterministic, no parameters, no training. ``forward`` takes ImageNet-normalised input like the
ResNets (the normalisation is undone internally) so it plugs into every head unchanged. It computes in float32 at
every ``precision`` (see ``forward``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import IMAGENET_MEAN, IMAGENET_STD, FeatureExtractor

__all__ = ["TextureModel", "rgb_to_lab"]

_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_WHITE_D65 = (0.950456, 1.0, 1.088754)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``[B, 3, H, W]`` in [0, 1] -> CIE Lab ``[B, 3, H, W]`` (L in [0, 100], a/b roughly [-128, 127]), D65."""
    rgb = rgb.clamp(0.0, 1.0)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055).pow(2.4))
    m = _RGB_TO_XYZ.to(device=rgb.device, dtype=rgb.dtype)
    xyz = torch.einsum("ij,bjhw->bihw", m, lin)
    white = torch.tensor(_WHITE_D65, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    t = xyz / white
    delta = 6.0 / 29.0
    f = torch.where(t > delta**3, t.clamp_min(1e-12).pow(1.0 / 3.0), t / (3 * delta**2) + 4.0 / 29.0)
    L = 116.0 * f[:, 1:2] - 16.0
    a = 500.0 * (f[:, 0:1] - f[:, 1:2])
    b = 200.0 * (f[:, 1:2] - f[:, 2:3])
    return torch.cat([L, a, b], dim=1)


def _gabor_bank(n_orient: int = 6, size: int = 11, wavelength: float = 4.0, sigma: float = 2.0) -> torch.Tensor:
    """``[2 * n_orient, 1, size, size]``: even (zero-mean) and odd Gabor kernels, each with unit L1 norm."""
    r = size // 2
    y, x = torch.meshgrid(
        torch.arange(-r, r + 1, dtype=torch.float64), torch.arange(-r, r + 1, dtype=torch.float64), indexing="ij"
    )
    env = torch.exp(-(x**2 + y**2) / (2 * sigma**2))
    kernels = []
    for k in range(n_orient):
        th = math.pi * k / n_orient
        xr = x * math.cos(th) + y * math.sin(th)
        even = env * torch.cos(2 * math.pi * xr / wavelength)
        even = even - env * (even.sum() / env.sum())  # no response to constant images
        odd = env * torch.sin(2 * math.pi * xr / wavelength)
        kernels += [even / even.abs().sum(), odd / odd.abs().sum()]
    return torch.stack(kernels).unsqueeze(1).float()


class TextureModel(FeatureExtractor):
    """Training-free Lab colour + Gabor energy + gradient-orientation histogram per 8x8 cell (32 channels).

    ``forward``: ImageNet-normalised ``Tensor[B, 3, H, W]`` -> ``Tensor[B, 32, ceil(H/8), ceil(W/8)]``.
    Channel layout: 0-2 Lab means, 3-5 Lab standard deviations, 6-23 Gabor energy (octave-major, 6 orientations
    each), 24-31 orientation histogram.
    """

    N_ORIENT = 6
    N_OCTAVES = 3
    N_BINS = 8

    def __init__(self):
        super().__init__(IMAGENET_MEAN, IMAGENET_STD, name="texture-lab-gabor-hog")
        self.register_buffer("gabor", _gabor_bank(self.N_ORIENT), persistent=False)
        sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        self.register_buffer("sobel", torch.stack([sobel_x, sobel_x.t()]).unsqueeze(1), persistent=False)
        self.out_channels = 6 + self.N_ORIENT * self.N_OCTAVES + self.N_BINS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected normalised images [B, 3, H, W], got shape {tuple(x.shape)}")
        # Always float32, also for precision="bf16": its convolutions are single-channel 11x11 / 3x3 filters (no GEMM
        # to speed up); under bf16 autocast the forward was 1.1x slower at 480x864 on this project's CPU and its
        # features moved by up to 0.014. A bf16 model rounds the float32 result (FeatureExtractor.__call__).
        with torch.autocast(x.device.type, enabled=False):
            return self._features(x.float())

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x * self.std + self.mean
        lab = rgb_to_lab(rgb)
        # ((L - 50) / 50, a / 50, b / 50): centre at full resolution, scale after pooling.
        offset = torch.tensor([50.0, 0.0, 0.0], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        centred = lab - offset  # |values| <= ~128 keeps E[x^2] - E[x]^2 accurate in float32
        mean = F.avg_pool2d(centred, 8, 8, ceil_mode=True)
        var = F.avg_pool2d(centred * centred, 8, 8, ceil_mode=True) - mean * mean
        feats = [mean / 50.0, var.clamp_min(0.0).sqrt() / 50.0]

        light = lab[:, :1] / 100.0
        level = light
        r = self.gabor.shape[-1] // 2
        for octave in range(self.N_OCTAVES):
            if octave > 0:
                level = F.avg_pool2d(level, 2, 2, ceil_mode=True)
            resp = F.conv2d(F.pad(level, (r, r, r, r), mode="replicate"), self.gabor)
            energy = (resp[:, 0::2] ** 2 + resp[:, 1::2] ** 2 + 1e-12).sqrt()
            cell = 8 >> octave
            feats.append(torch.log1p(10.0 * F.avg_pool2d(energy, cell, cell, ceil_mode=True)))

        g = F.conv2d(F.pad(light, (1, 1, 1, 1), mode="replicate"), self.sobel)
        mag = (g[:, :1] ** 2 + g[:, 1:] ** 2).sqrt()
        theta = torch.atan2(g[:, 1:], g[:, :1]).remainder(math.pi)  # unsigned orientation in [0, pi)
        pos = theta / (math.pi / self.N_BINS)
        b0 = pos.floor().long().clamp_(0, self.N_BINS - 1)
        frac = pos - b0.to(pos.dtype)
        b1 = (b0 + 1) % self.N_BINS
        hist = torch.zeros(x.shape[0], self.N_BINS, *x.shape[2:], device=x.device, dtype=x.dtype)
        hist.scatter_add_(1, b0, mag * (1.0 - frac))
        hist.scatter_add_(1, b1, mag * frac)
        hist = F.avg_pool2d(hist, 8, 8, ceil_mode=True)
        hist = hist / (hist.pow(2).sum(1, keepdim=True) + 0.02**2).sqrt()
        feats.append(hist)
        return torch.cat(feats, dim=1)
