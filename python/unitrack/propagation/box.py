"""Box propagation primitives for single-object tracking (SPEC §4, appendix e).

Three pieces shared by the SOT heads (:mod:`unitrack.heads.sot`):

* crop geometry -- :func:`crop_windows` warps axis-aligned windows of a normalised frame to ``crop_sz`` x ``crop_sz``
  (bilinear, constant border 0 in normalised space, i.e. the mean colour), mapping the window ``[x1, x2]`` onto the
  crop's pixel centres ``0 .. crop_sz-1`` exactly like the reference's ``cv2.warpAffine`` (scale
  ``(crop_sz-1)/(x2-x1)``); :func:`feature_cell_size` is the image-pixel size of one feature cell of such a crop;
* :class:`XCorrFilter` -- the SiamFC-style head: a fixed central template, Hann-windowed search features, response
  ``0.1 * xcorr`` (the fused op ``unitrack_ext.ops.xcorr``);
* :class:`DCFFilter` -- the DCFNet-style correlation filter learned in the Fourier domain with a running average.

Coordinates: a box is ``[x, y, w, h]`` in 0-based continuous image coordinates (pixel ``k`` covers ``[k, k+1)``); its
centre in *pixel-index* coordinates (pixel ``k``'s centre is ``k``) is ``(x + w/2 - 0.5, y + h/2 - 0.5)``. Crops
are taken around pixel-index centres.

Displacements use the correct geometry (SPEC §4.2/§4.3, §9 items 8-9): zero motion is the response cell where the
template aligns with its own position (cell ``template_begin`` for XCorr, cell 0 with circular wrap for DCF) and one
feature cell is ``stride * window / (crop_sz - 1)`` image pixels (the warp maps ``window`` onto ``crop_sz-1`` crop
pixels; SPEC's "window/65" is this up to 0.2 %). The reference's XCorr bias (-1.25 cells, 25 % overshoot) and the
DCF 65x64 inverse FFT are not reproduced.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from unitrack_ext import ops

__all__ = [
    "hann2d",
    "box_window",
    "gaussian_label",
    "template_range",
    "scale_factors",
    "scale_penalties",
    "crop_windows",
    "feature_cell_size",
    "XCorrFilter",
    "DCFFilter",
    "wrap_peak",
    "best_peak",
    "clamp_size",
]


# ----------------------------------------------------------------------------------------------------------- windows
def hann2d(n: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """``Tensor[n, n]`` outer product of ``np.hanning(n)`` (zero at the borders), as the reference's ``cos_window``."""
    w = torch.from_numpy(np.hanning(n)).to(device=device, dtype=dtype)
    return w[:, None] * w[None, :]


def template_range(feat_sz: int, padding: float) -> tuple[int, int]:
    """Rows/cols ``[begin, end)`` of the central template block: ``feat_sz//2 -/+ int(feat_sz // (2*(1+padding)))``.

    For 65 cells and padding 3.5: ``[25, 39)`` (14 x 14), as in SPEC appendix e.
    """
    half = int(feat_sz // (2 * (1 + padding)))
    begin, end = feat_sz // 2 - half, feat_sz // 2 + half
    if half < 1 or begin < 0 or end > feat_sz:
        raise ValueError(
            f"template block [{begin}, {end}) is empty or outside the {feat_sz}-cell feature map "
            f"(padding={padding}): use a larger crop_sz or a smaller padding"
        )
    return begin, end


def box_window(n: int, begin: int, end: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """``Tensor[n, n]``: 1 on rows/cols ``[begin, end)``, 0 elsewhere (the DCF template window)."""
    w = torch.zeros(n, device=device, dtype=dtype)
    w[begin:end] = 1
    return w[:, None] * w[None, :]


def gaussian_label(n: int, sigma: float, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """``Tensor[n, n]`` Gaussian of std ``sigma`` cells over *circular* offsets, peak 1 at index ``(0, 0)``.

    Offset of index ``k`` is ``k`` for ``k <= n//2`` and ``k - n`` above, consistent with :func:`wrap_peak`. (The
    reference rolls a Gaussian over offsets ``-31..33``; the two differ only at index 33 where the value is ~1e-160.)
    """
    k = torch.arange(n, device=device, dtype=torch.float64)
    off = torch.where(k <= n // 2, k, k - n)
    g = torch.exp(-0.5 * off**2 / sigma**2)
    return (g[:, None] * g[None, :]).to(dtype)


def scale_factors(num_scale: int, scale_step: float) -> np.ndarray:
    """``scale_step ** (k - num_scale//2)`` for ``k = 0..num_scale-1`` (3 scales: {1/1.0275, 1, 1.0275})."""
    if num_scale < 1 or num_scale % 2 == 0:
        raise ValueError(f"num_scale must be a positive odd number, got {num_scale}")
    return scale_step ** (np.arange(num_scale) - num_scale // 2).astype(np.float64)


def scale_penalties(num_scale: int, scale_penalty: float) -> np.ndarray:
    """``scale_penalty ** |k - num_scale//2|``: 1 for the centre scale (3 scales: {0.985, 1, 0.985})."""
    return scale_penalty ** np.abs(np.arange(num_scale) - num_scale // 2).astype(np.float64)


def wrap_peak(idx: int, n: int) -> int:
    """Circular peak index -> signed offset: ``idx - n`` if ``idx > n/2`` (SPEC §4.3)."""
    return idx - n if idx > n / 2 else idx


# ------------------------------------------------------------------------------------------------------------ crops
def crop_windows(
    frame: torch.Tensor,
    centers: Sequence[Sequence[float]] | np.ndarray,
    sizes: Sequence[Sequence[float]] | np.ndarray,
    crop_sz: int,
) -> torch.Tensor:
    """Warp S axis-aligned windows of one (normalised) frame to ``crop_sz x crop_sz``.

    Window ``s`` spans ``[cx - w/2, cx + w/2] x [cy - h/2, cy + h/2]`` in pixel-index coordinates and is mapped onto
    the crop's pixel centres ``0 .. crop_sz-1`` (crop pixel ``u`` samples ``x = cx - w/2 + u * w/(crop_sz-1)``),
    bilinear, with value 0 outside the image (constant border 0 after normalisation, SPEC §1.3). Equivalent to the
    reference's ``cv2.warpAffine`` crop up to cv2's 1/32-pixel fixed-point interpolation weights.

    Args:
        frame: ``Tensor[1, C, H, W]`` or ``[C, H, W]`` float (already normalised).
        centers: ``[S, 2]`` window centres ``(cx, cy)``.
        sizes: ``[S, 2]`` window sizes ``(w, h)``, positive.
        crop_sz: output side.
    Returns:
        ``Tensor[S, C, crop_sz, crop_sz]`` on the frame's device and dtype.
    """
    if frame.dim() == 3:
        frame = frame.unsqueeze(0)
    if frame.dim() != 4 or frame.shape[0] != 1:
        raise ValueError(f"frame must be [1, C, H, W] or [C, H, W], got shape {tuple(frame.shape)}")
    if crop_sz < 2:
        raise ValueError(f"crop_sz must be >= 2, got {crop_sz}")
    ctr = torch.as_tensor(np.asarray(centers, dtype=np.float64), dtype=torch.float64).reshape(-1, 2)
    wh = torch.as_tensor(np.asarray(sizes, dtype=np.float64), dtype=torch.float64).reshape(-1, 2)
    if ctr.shape[0] != wh.shape[0]:
        raise ValueError(f"centers ({ctr.shape[0]}) and sizes ({wh.shape[0]}) must have the same length")
    if not (torch.isfinite(ctr).all() and torch.isfinite(wh).all()) or (wh <= 0).any():
        raise ValueError(
            f"window centres must be finite and sizes positive, got centers={ctr.tolist()}, sizes={wh.tolist()}"
        )
    S = ctr.shape[0]
    H, W = frame.shape[-2:]
    u = torch.arange(crop_sz, dtype=torch.float64) / (crop_sz - 1)  # 0 .. 1
    xs = ctr[:, :1] - wh[:, :1] / 2 + u[None, :] * wh[:, :1]  # [S, crop] pixel-index x
    ys = ctr[:, 1:] - wh[:, 1:] / 2 + u[None, :] * wh[:, 1:]
    # grid_sample(align_corners=False): pixel centre k <-> normalised (2k+1)/W - 1.
    gx = (2 * xs + 1) / W - 1
    gy = (2 * ys + 1) / H - 1
    grid = torch.empty(S, crop_sz, crop_sz, 2, device=frame.device, dtype=frame.dtype)  # [S, crop, crop, (x, y)]
    grid[..., 0] = gx.to(device=frame.device, dtype=frame.dtype)[:, None, :]
    grid[..., 1] = gy.to(device=frame.device, dtype=frame.dtype)[:, :, None]
    return F.grid_sample(frame.expand(S, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def feature_cell_size(window_wh: Sequence[float] | np.ndarray, crop_sz: int, stride: int = 8) -> np.ndarray:
    """Image pixels per feature cell for a window of ``window_wh`` warped to ``crop_sz``: ``stride*wh/(crop_sz-1)``."""
    return np.asarray(window_wh, dtype=np.float64) * stride / (crop_sz - 1)


# ---------------------------------------------------------------------------------------------------------- filters
class XCorrFilter:
    """SiamFC-style cross-correlation filter (SPEC §4.2).

    ``init(z_feat)`` keeps the central ``[b, e) x [b, e)`` block of the template crop's features as the template;
    ``response(x_feat)`` is ``scale * xcorr(x_feat * hann, template)``. Zero motion is response cell ``(b, b)``.

    Args:
        feat_sz: side of the (square) feature maps (65).
        padding: context factor (3.5); sets the template block via :func:`template_range`.
        response_scale: multiplier of the correlation (0.1, as ``Corr_Up``).
    """

    def __init__(self, feat_sz: int, padding: float, response_scale: float = 0.1):
        self.feat_sz = feat_sz
        self.begin, self.end = template_range(feat_sz, padding)
        self.response_scale = response_scale
        self.template: torch.Tensor | None = None
        self._window: torch.Tensor | None = None

    @property
    def zero_offset(self) -> int:
        """Response index of zero motion (rows and columns)."""
        return self.begin

    def init(self, z_feat: torch.Tensor) -> None:
        """``z_feat``: ``Tensor[1, C, n, n]`` or ``[C, n, n]`` features of the template crop."""
        z = z_feat[0] if z_feat.dim() == 4 else z_feat
        self._check_map(z, "z_feat")
        self.template = z[:, self.begin : self.end, self.begin : self.end].contiguous()
        # The window in float32 (float64 for float64 features); low-precision features are windowed in float32 and
        # rounded once.
        self._window = hann2d(
            self.feat_sz, device=z.device, dtype=torch.float64 if z.dtype == torch.float64 else torch.float32
        )

    def response(self, x_feat: torch.Tensor) -> torch.Tensor:
        """``x_feat``: ``Tensor[S, C, n, n]`` search features -> ``Tensor[S, n-t+1, n-t+1]`` (t = template side)."""
        if self.template is None:
            raise RuntimeError("XCorrFilter.response called before init")
        if x_feat.dim() != 4:
            raise ValueError(f"x_feat must be [S, C, H, W], got shape {tuple(x_feat.shape)}")
        self._check_map(x_feat[0], "x_feat")
        # Keeps the producer's memory format (channels-last avoids a transpose in xcorr); bf16 stays bf16.
        if x_feat.dtype in (torch.bfloat16, torch.float16):
            x = (x_feat.float() * self._window).to(x_feat.dtype)
        else:
            x = x_feat * self._window.to(x_feat.dtype)
        return ops.xcorr(x, self.template.to(x.dtype)) * self.response_scale

    def _check_map(self, f: torch.Tensor, name: str) -> None:
        if f.dim() != 3 or f.shape[-1] != self.feat_sz or f.shape[-2] != self.feat_sz:
            raise ValueError(f"{name} must be [C, {self.feat_sz}, {self.feat_sz}] per crop, got shape {tuple(f.shape)}")

    def displacement_cells(self, r: int, c: int) -> tuple[float, float]:
        """Peak ``(r, c)`` -> displacement ``(dx, dy)`` in feature cells (0 for the aligned template)."""
        return float(c - self.zero_offset), float(r - self.zero_offset)


class DCFFilter:
    """DCFNet-style discriminative correlation filter (SPEC §4.3), on ``torch.fft`` with the correct output size.

    ``update(z_feat, lr)``: ``zf = rfft2(z * box)``, ``alphaf = yf / (sum_c |zf|^2 + lambda0)``, then the running
    model ``alphaf <- (1-lr) alphaf + lr alphaf_new`` and ``zf <- (1-lr) zf + lr zf_new`` (the *ratio* is
    interpolated, as DCFNet). ``response(x_feat) = irfft2(sum_c rfft2(x * hann) conj(zf) * alphaf, s=(n, n))``; zero
    motion is cell ``(0, 0)``, offsets wrap circularly (:func:`wrap_peak`).

    Args:
        feat_sz: side of the feature maps (65).
        padding: context factor (3.5): sets the box window and ``sigma = feat_sz/(1+padding)*output_sigma_factor``.
        lambda0: ridge regulariser (1e-4).
        output_sigma_factor: 0.1.
    """

    def __init__(self, feat_sz: int, padding: float, lambda0: float = 1e-4, output_sigma_factor: float = 0.1):
        self.feat_sz = feat_sz
        self.begin, self.end = template_range(feat_sz, padding)
        self.lambda0 = lambda0
        self.sigma = feat_sz / (1 + padding) * output_sigma_factor
        self.model_zf: torch.Tensor | None = None
        self.model_alphaf: torch.Tensor | None = None
        self._device = None

    def _setup(self, f: torch.Tensor) -> None:
        n = self.feat_sz
        self._hann = hann2d(n, device=f.device, dtype=f.dtype)
        self._box = box_window(n, self.begin, self.end, device=f.device, dtype=f.dtype)
        self._yf = torch.fft.rfft2(gaussian_label(n, self.sigma, device=f.device, dtype=f.dtype))  # [n, n//2+1]
        self._device = (f.device, f.dtype)

    def update(self, z_feat: torch.Tensor, lr: float = 1.0) -> None:
        """``z_feat``: ``Tensor[1, C, n, n]`` or ``[C, n, n]``; ``lr`` 1 at init, ``interp_factor`` later."""
        z = z_feat[0] if z_feat.dim() == 4 else z_feat
        if z.dim() != 3 or tuple(z.shape[-2:]) != (self.feat_sz, self.feat_sz):
            raise ValueError(f"z_feat must be [C, {self.feat_sz}, {self.feat_sz}], got shape {tuple(z.shape)}")
        if self._device != (z.device, z.dtype):
            self._setup(z)
        zf = torch.fft.rfft2(z * self._box)  # [C, n, n//2+1] complex
        kzz = (zf.real**2 + zf.imag**2).sum(0)  # [n, n//2+1]
        alphaf = self._yf / (kzz + self.lambda0)
        if self.model_zf is None or lr >= 1.0:
            self.model_zf, self.model_alphaf = zf, alphaf
        else:
            if self.model_zf.shape != zf.shape:
                raise ValueError(
                    f"z_feat has {zf.shape[0]} channels but the filter was built with {self.model_zf.shape[0]}"
                )
            self.model_alphaf = (1 - lr) * self.model_alphaf + lr * alphaf
            self.model_zf = (1 - lr) * self.model_zf + lr * zf

    def response(self, x_feat: torch.Tensor) -> torch.Tensor:
        """``x_feat``: ``Tensor[S, C, n, n]`` -> ``Tensor[S, n, n]`` (circular response, zero motion at (0, 0))."""
        if self.model_zf is None:
            raise RuntimeError("DCFFilter.response called before update")
        if x_feat.dim() != 4 or tuple(x_feat.shape[-2:]) != (self.feat_sz, self.feat_sz):
            raise ValueError(f"x_feat must be [S, C, {self.feat_sz}, {self.feat_sz}], got shape {tuple(x_feat.shape)}")
        if x_feat.shape[1] != self.model_zf.shape[0]:
            raise ValueError(f"x_feat has {x_feat.shape[1]} channels but the filter has {self.model_zf.shape[0]}")
        xf = torch.fft.rfft2(x_feat * self._hann)  # [S, C, n, n//2+1]
        kxzf = (xf * self.model_zf.conj()).sum(1)  # [S, n, n//2+1]
        return torch.fft.irfft2(kxzf * self.model_alphaf, s=(self.feat_sz, self.feat_sz))

    def displacement_cells(self, r: int, c: int) -> tuple[float, float]:
        """Peak ``(r, c)`` -> signed displacement ``(dx, dy)`` in feature cells (circular wrap)."""
        return float(wrap_peak(c, self.feat_sz)), float(wrap_peak(r, self.feat_sz))


def best_peak(response: torch.Tensor, penalties: np.ndarray) -> tuple[int, int, int, float]:
    """Per-scale max times penalty -> ``(best_scale, r, c, penalised_peak)`` (first index on ties, as argmax).

    Args:
        response: ``Tensor[S, Hr, Wr]``.
        penalties: ``[S]``.
    """
    S, Hr, Wr = response.shape
    flat = response.reshape(S, -1)
    peaks, idx = flat.max(dim=1)
    peaks = peaks.double().cpu().numpy() * penalties
    if not np.isfinite(peaks).any():
        raise FloatingPointError("SOT response has no finite value (NaN/inf features?)")
    peaks = np.where(np.isfinite(peaks), peaks, -np.inf)
    s = int(np.argmax(peaks))
    i = int(idx[s])
    return s, i // Wr, i % Wr, float(peaks[s])


def clamp_size(wh: np.ndarray, min_wh: np.ndarray, max_wh: np.ndarray) -> np.ndarray:
    """Clamp ``(w, h)`` to ``[min_wh, max_wh]`` elementwise (``max`` wins if the bounds cross)."""
    return np.minimum(np.maximum(wh, min_wh), max_wh)
