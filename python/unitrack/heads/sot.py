"""Single-object tracking heads (SPEC §4): UniTrack_XCorr (SiamFC-style) and UniTrack_DCF (DCFNet-style, default).

Both take any :class:`unitrack.model.base.FeatureExtractor` (a stride-8 appearance model) and follow the got10k tracker
API::

    from unitrack.heads.sot import DCFTracker, track_sequence
    tracker = DCFTracker(model)                  # or XCorrTracker(model), or make_tracker(model, "xcorr")
    tracker.init(frame0, [x, y, w, h])           # frame: RGB uint8 [H, W, 3] (or gray [H, W], a PIL image, a path)
    box = tracker.update(frame1)                 # -> np.ndarray [4] (x, y, w, h)
    boxes = track_sequence(model, frames, init_box, head="dcf")   # -> np.ndarray [T, 4], row 0 = init_box
    tracker.timings                              # ms per frame: io / crop / backbone / head / total

``frames`` of a sequence (here as for every head's sequence runner): a list of RGB arrays or image paths, a
``[T, H, W, 3]`` array, a frames folder or a video file path (:func:`unitrack.data.video.open_frames`).

Boxes are ``[x, y, w, h]`` in 0-based continuous image coordinates (the OTB reader :mod:`unitrack.data.otb`
converts the 1-based files). Per frame: the frame is normalised with ``model.normalize``, ``num_scale`` windows of
``(1+padding) * target`` (4.5x per side, aspect kept) are warped to ``crop_sz`` (520 -> 65x65 features; border 0 in
normalised space), ``model(crops)`` runs under ``torch.no_grad()``, the head's response picks the best scale by
penalised peak and the target moves by the peak's displacement (correct geometry, see
:mod:`unitrack.propagation.box`); the new size is the best window / (1+padding), clamped to
``[max(0.2*init, 4), min(image, 5*init)]`` with the image (W, H) compared to (w, h) (the reference compares (H, W)).

Documented differences from the reference (SPEC §4, §9 items 8-9): correct XCorr displacement (no -1.25-cell bias and
25 % overshoot), DCF inverse FFT of the right size (65x65, not 65x64), size clamp in (w, h) order, bilinear
``grid_sample`` crops instead of cv2's fixed-point warp, and the target centre is kept inside the image
(``clamp_center``; the reference lets it drift outside, which can make every later crop empty).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
import torch

from ..data.images import read_image
from ..data.video import sequence_frames
from ..model.precision import feature_dtype, resolve_precision
from ..propagation.box import (
    DCFFilter,
    XCorrFilter,
    best_peak,
    clamp_size,
    crop_windows,
    feature_cell_size,
    scale_factors,
    scale_penalties,
)
from ._common import backbone_precision

__all__ = [
    "SOTConfig",
    "XCorrConfig",
    "DCFConfig",
    "SOTTracker",
    "XCorrTracker",
    "DCFTracker",
    "make_tracker",
    "track_sequence",
    "sequence_frames",
    "HEADS",
    "SOT_STAGES",
]


# ------------------------------------------------------------------------------------------------------------ config
@dataclass
class SOTConfig:
    """Shared SOT geometry (SPEC §4.1). Every default is the reference's ``TrackerConfig`` value.

    Attributes:
        crop_sz: side of every crop fed to the model (520 = 512 + 8 -> 65x65 stride-8 features).
        stride: the model's stride (8).
        padding: context: the crop window is ``(1 + padding) * target`` per side (4.5x).
        num_scale: number of search scales (odd).
        scale_step: scale factors ``scale_step ** (k - num_scale//2)``.
        scale_penalty: multiplies the peak of every non-centre scale, ``** |k - num_scale//2|``.
        min_scale_factor: minimum size ``max(min_scale_factor * init_wh, min_size)``.
        max_scale_factor: maximum size ``min(image (W, H), max_scale_factor * init_wh)``.
        min_size: absolute minimum side in pixels (4).
        clamp_center: keep the target centre inside the image (not in the reference; see module docstring).
        channels_last: run the model on channels-last crops (faster convs on CPU and no transpose in ``xcorr``).
    """

    crop_sz: int = 520
    stride: int = 8
    padding: float = 3.5
    num_scale: int = 3
    scale_step: float = 1.0275
    scale_penalty: float = 0.985
    min_scale_factor: float = 0.2
    max_scale_factor: float = 5.0
    min_size: float = 4.0
    clamp_center: bool = True
    channels_last: bool = True

    def __post_init__(self) -> None:
        if int(self.crop_sz) != self.crop_sz or self.crop_sz < 2 * self.stride:
            raise ValueError(f"crop_sz must be an integer >= 2*stride, got {self.crop_sz}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if not self.padding >= 0:
            raise ValueError(f"padding must be >= 0, got {self.padding}")
        scale_factors(self.num_scale, self.scale_step)  # validates num_scale
        if not (self.scale_step > 0 and 0 < self.scale_penalty <= 1):
            raise ValueError(
                f"need scale_step > 0 and 0 < scale_penalty <= 1, got {self.scale_step}, {self.scale_penalty}"
            )
        if not (0 < self.min_scale_factor <= 1 <= self.max_scale_factor):
            raise ValueError("need 0 < min_scale_factor <= 1 <= max_scale_factor")

    @property
    def feat_sz(self) -> int:
        """Feature map side: ``ceil(crop_sz / stride)`` (65)."""
        return -(-int(self.crop_sz) // self.stride)


@dataclass
class XCorrConfig(SOTConfig):
    """UniTrack_XCorr (SiamFC-style, SPEC §4.2): 14x14 central template, Hann window on the search features,
    response ``response_scale * xcorr``, no template update."""

    response_scale: float = 0.1


@dataclass
class DCFConfig(SOTConfig):
    """UniTrack_DCF (DCFNet-style, SPEC §4.3): ridge regulariser ``lambda0``, Gaussian label of
    ``sigma = feat_sz/(1+padding)*output_sigma_factor`` cells, filter updated with ``interp_factor`` every frame."""

    lambda0: float = 1e-4
    output_sigma_factor: float = 0.1
    interp_factor: float = 0.01


#: Stage names of :attr:`SOTTracker.timings`.
SOT_STAGES = ("io", "crop", "backbone", "head", "total")


# ------------------------------------------------------------------------------------------------------------ frames
def load_frame(frame) -> np.ndarray:
    """A frame given as a path, PIL image, array or tensor -> RGB ``uint8``/float array ``[H, W, 3]`` or tensor."""
    if isinstance(frame, (str, os.PathLike)):
        return read_image(frame, "frame")
    if isinstance(frame, torch.Tensor):
        return frame
    if not isinstance(frame, np.ndarray):
        try:  # PIL images (got10k passes them)
            frame = np.asarray(frame.convert("RGB"))
        except AttributeError:
            raise TypeError(
                f"frame must be an RGB array, a tensor, a PIL image or a path, got {type(frame).__name__}"
            ) from None
    if frame.ndim == 2:  # grayscale (several OTB sequences)
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be [H, W, 3] RGB or [H, W] gray, got shape {frame.shape}")
    return frame


def _check_box(box, name: str = "box") -> np.ndarray:
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.shape != (4,) or not np.isfinite(b).all():
        raise ValueError(f"{name} must be 4 finite numbers [x, y, w, h], got {box!r}")
    if b[2] <= 0 or b[3] <= 0:
        raise ValueError(f"{name} must have a positive width and height, got w={b[2]}, h={b[3]}")
    return b


# ----------------------------------------------------------------------------------------------------------- tracker
class SOTTracker:
    """Base class of the SOT heads: crop geometry, scale search and the got10k-style API.

    Subclasses provide ``_init_filter(z_feat)``, ``_response(x_feat) -> [S, Hr, Wr]``,
    ``_displacement_cells(r, c) -> (dx, dy)`` and optionally ``_after_update(frame)``.

    Args:
        model: a FeatureExtractor (``normalize`` and stride-8 ``forward``), e.g. ``AppearanceModel("resnet18", 3)``.
        config: the head's config dataclass (defaults = SPEC).
        precision: ``"fp32"``, ``"bf16"``, ``"fp16"`` (CUDA) for the backbone and, in the XCorr head, the ``xcorr``
            features (default: the model's precision; :mod:`unitrack.model.precision`).
    """

    name = "sot"
    config_cls = SOTConfig
    is_deterministic = True

    #: Whether the head's correlation takes low-precision features (XCorr's fused ``xcorr``); the DCF filter (FFT)
    #: always works on float32 features.
    low_precision_head = False

    def __init__(self, model: torch.nn.Module, config: Optional[SOTConfig] = None, *, precision: Optional[str] = None):
        if not (hasattr(model, "normalize") and callable(model)):
            raise TypeError(
                f"model must be a unitrack FeatureExtractor (with .normalize and forward), got {type(model).__name__};"
                " wrap a plain nn.Module with unitrack.model.base.wrap_module"
            )
        config = config if config is not None else self.config_cls()
        if not isinstance(config, self.config_cls):
            raise TypeError(f"config must be a {self.config_cls.__name__}, got {type(config).__name__}")
        self.model = model
        self.precision = resolve_precision(precision, model)
        self.cfg = config
        self.scales = scale_factors(config.num_scale, config.scale_step)
        self.penalties = scale_penalties(config.num_scale, config.scale_penalty)
        self._initialised = False
        from ._common import StageTimer

        self.timer = StageTimer(SOT_STAGES)

    @property
    def timings(self) -> dict[str, float]:
        """Mean milliseconds per frame since the last :meth:`init`: ``io`` (decoding, normalisation), ``crop``
        (search/template windows), ``backbone`` (the model on the crops, the DCF template re-encoding included),
        ``head`` (correlation / filter, peak and scale search), ``total``."""
        return self.timer.means

    # -- helpers ---------------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        dev = getattr(self.model, "device", None)
        if isinstance(dev, torch.device):
            return dev
        try:
            return next(self.model.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    def _normalised_frame(self, image) -> torch.Tensor:
        with self.timer.stage("io"):
            return self._normalise(image)

    def _normalise(self, image) -> torch.Tensor:
        img = load_frame(image)
        if isinstance(img, torch.Tensor):
            x = img.unsqueeze(0) if img.dim() == 3 else img
            if x.dim() != 4 or x.shape[:2] != (1, 3):
                raise ValueError(f"frame tensor must be [3, H, W] or [1, 3, H, W], got shape {tuple(img.shape)}")
            x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        else:
            if not img.flags.writeable:  # e.g. np.asarray(PIL image)
                img = img.copy()
            x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
            x = x.float() / 255.0 if img.dtype == np.uint8 else x.float()
        return self.model.normalize(x.to(self.device))

    def _features(self, crops: torch.Tensor) -> torch.Tensor:
        if self.cfg.channels_last:
            crops = crops.contiguous(memory_format=torch.channels_last)
        with self.timer.stage("backbone"), torch.no_grad(), backbone_precision(self.model, self.precision):
            f = self.model(crops)
            if f.is_cuda:
                torch.cuda.synchronize(f.device)
        n = self.cfg.feat_sz
        if f.dim() != 4 or tuple(f.shape[-2:]) != (n, n):
            raise ValueError(
                f"model output for {self.cfg.crop_sz}x{self.cfg.crop_sz} crops must be [B, C, {n}, {n}] (stride "
                f"{self.cfg.stride}), got shape {tuple(f.shape)}"
            )
        if self.low_precision_head:
            return f.to(feature_dtype(self.precision, f))  # the model's bf16 map as it is (or rounded to it)
        return f.float() if f.dtype not in (torch.float32, torch.float64) else f

    def _crop_features(self, frame: torch.Tensor, windows: np.ndarray) -> torch.Tensor:
        centers = np.repeat(self.pos[None], len(windows), axis=0)
        with self.timer.stage("crop"):
            crops = crop_windows(frame, centers, windows, self.cfg.crop_sz)
        return self._features(crops)

    def _check_frame_size(self, frame: torch.Tensor) -> None:
        hw = tuple(frame.shape[-2:])
        if hw != self.frame_hw:
            raise ValueError(
                f"frame {self.frame_index} has size {hw[0]}x{hw[1]} (HxW) but the sequence started with "
                f"{self.frame_hw[0]}x{self.frame_hw[1]}: all frames of a sequence must have one size"
            )

    @property
    def box(self) -> np.ndarray:
        """Current box ``[x, y, w, h]`` (0-based continuous coordinates)."""
        return np.concatenate([self.pos + 0.5 - self.target_wh / 2, self.target_wh])

    # -- got10k API ------------------------------------------------------------------------------------------------
    def init(self, image, box) -> None:
        """Start tracking the target ``box = [x, y, w, h]`` in ``image`` (RGB ``[H, W, 3]`` or a path); resets
        :attr:`timings`."""
        self.timer.reset()
        with self.timer.frame("head", ("io", "crop", "backbone")):
            self._init(image, box)

    def _init(self, image, box) -> None:
        b = _check_box(box)
        frame = self._normalised_frame(image)
        H, W = frame.shape[-2:]
        if b[0] >= W or b[1] >= H or b[0] + b[2] <= 0 or b[1] + b[3] <= 0:
            raise ValueError(f"box {b.tolist()} does not overlap the {H}x{W} (HxW) image")
        self.frame_hw = (int(H), int(W))
        self.frame_index = 0
        self.pos = np.array([b[0] + b[2] / 2 - 0.5, b[1] + b[3] / 2 - 0.5])  # pixel-index centre
        self.target_wh = b[2:].copy()
        init_wh = b[2:].copy()
        self.min_wh = np.maximum(self.cfg.min_scale_factor * init_wh, self.cfg.min_size)
        self.max_wh = np.minimum(np.array([W, H], dtype=np.float64), self.cfg.max_scale_factor * init_wh)  # (w, h)
        window = self.target_wh * (1 + self.cfg.padding)
        self._init_filter(self._crop_features(frame, window[None]))
        self._initialised = True

    def update(self, image) -> np.ndarray:
        """Track into the next frame; returns the box ``[x, y, w, h]``."""
        if not self._initialised:
            raise RuntimeError(f"{type(self).__name__}.update called before init")
        with self.timer.frame("head", ("io", "crop", "backbone")):
            return self._update(image)

    def _update(self, image) -> np.ndarray:
        self.frame_index += 1
        frame = self._normalised_frame(image)
        self._check_frame_size(frame)
        windows = self.target_wh[None] * (1 + self.cfg.padding) * self.scales[:, None]  # [S, 2] (w, h)
        response = self._response(self._crop_features(frame, windows))
        s, r, c, _ = best_peak(response, self.penalties)
        dx, dy = self._displacement_cells(r, c)
        cell = feature_cell_size(windows[s], self.cfg.crop_sz, self.cfg.stride)
        self.pos = self.pos + np.array([dx, dy]) * cell
        if self.cfg.clamp_center:
            self.pos = np.clip(self.pos, 0.0, np.array([self.frame_hw[1] - 1, self.frame_hw[0] - 1], dtype=np.float64))
        self.target_wh = clamp_size(windows[s] / (1 + self.cfg.padding), self.min_wh, self.max_wh)
        self._after_update(frame)
        return self.box

    def track(self, img_files: Sequence, box, visualize: bool = False):
        """got10k ``Tracker.track`` signature: ``(boxes [T, 4], times [T])`` (for ``got10k.experiments``)."""
        boxes = np.zeros((len(img_files), 4))
        times = np.zeros(len(img_files))
        for f, img_file in enumerate(img_files):
            t0 = time.perf_counter()
            if f == 0:
                self.init(img_file, box)
                boxes[0] = _check_box(box)
            else:
                boxes[f] = self.update(img_file)
            times[f] = time.perf_counter() - t0
        return boxes, times

    def run(self, frames: Iterable, init_box=None, *, progress: bool = True) -> np.ndarray:
        """Track a whole sequence: ``frames`` (arrays or image paths, or an :class:`unitrack.data.otb.OTBVideo`, whose
        ``init_box`` is used when ``init_box`` is None) -> ``np.ndarray [T, 4]``, row 0 = ``init_box``."""
        from tqdm import tqdm

        if init_box is None:
            init_box = getattr(frames, "init_box", None)
            if init_box is None:
                raise ValueError("init_box is required unless frames is an OTBVideo")
        if hasattr(frames, "frames") and hasattr(frames, "init_box"):
            frames = frames.frames
        frames = sequence_frames(frames)
        total = len(frames) if hasattr(frames, "__len__") else None
        boxes = []
        for f, frame in enumerate(tqdm(frames, total=total, disable=not progress, desc=self.name, unit="frame")):
            if f == 0:
                self.init(frame, init_box)
                boxes.append(_check_box(init_box))
            else:
                boxes.append(self.update(frame))
        if not boxes:
            raise ValueError("frames is empty")
        return np.stack(boxes)

    # -- head interface --------------------------------------------------------------------------------------------
    def _init_filter(self, z_feat: torch.Tensor) -> None:
        raise NotImplementedError

    def _response(self, x_feat: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _displacement_cells(self, r: int, c: int) -> tuple[float, float]:
        raise NotImplementedError

    def _after_update(self, frame: torch.Tensor) -> None:
        pass


class XCorrTracker(SOTTracker):
    """UniTrack_XCorr: SiamFC-style cross-correlation head (SPEC §4.2, appendix e). With ``precision="bf16"`` the
    (Hann-windowed) search and template features go to ``xcorr`` in bf16; the response is float32."""

    name = "UniTrack_XCorr"
    config_cls = XCorrConfig
    low_precision_head = True

    def __init__(
        self, model: torch.nn.Module, config: Optional[XCorrConfig] = None, *, precision: Optional[str] = None
    ):
        super().__init__(model, config, precision=precision)
        self.filter = XCorrFilter(self.cfg.feat_sz, self.cfg.padding, self.cfg.response_scale)

    def _init_filter(self, z_feat):
        self.filter.init(z_feat)

    def _response(self, x_feat):
        return self.filter.response(x_feat)

    def _displacement_cells(self, r, c):
        return self.filter.displacement_cells(r, c)


class DCFTracker(SOTTracker):
    """UniTrack_DCF: DCFNet-style correlation filter head (SPEC §4.3, appendix e). The default SOT head. Its filter
    (FFT) works on float32 features at every precision (a bf16 model only speeds up the backbone)."""

    name = "UniTrack_DCF"
    config_cls = DCFConfig

    def __init__(self, model: torch.nn.Module, config: Optional[DCFConfig] = None, *, precision: Optional[str] = None):
        super().__init__(model, config, precision=precision)
        self.filter = DCFFilter(self.cfg.feat_sz, self.cfg.padding, self.cfg.lambda0, self.cfg.output_sigma_factor)

    def _init_filter(self, z_feat):
        self.filter.model_zf = None
        self.filter.update(z_feat, lr=1.0)

    def _response(self, x_feat):
        return self.filter.response(x_feat)

    def _displacement_cells(self, r, c):
        return self.filter.displacement_cells(r, c)

    def _after_update(self, frame):
        # Re-crop a template at the new box and update the running filter every frame (lr = interp_factor).
        window = self.target_wh * (1 + self.cfg.padding)
        self.filter.update(self._crop_features(frame, window[None]), lr=self.cfg.interp_factor)


HEADS = {"dcf": DCFTracker, "xcorr": XCorrTracker}


def make_tracker(
    model: torch.nn.Module, head: str = "dcf", config: Optional[SOTConfig] = None, *, precision: Optional[str] = None
) -> SOTTracker:
    """``head``: ``"dcf"`` (default, the paper's headline SOT number) or ``"xcorr"``; ``precision``: default the
    model's (:mod:`unitrack.model.precision`)."""
    key = head.lower()
    if key not in HEADS:
        raise ValueError(f"head must be one of {sorted(HEADS)}, got {head!r}")
    return HEADS[key](model, config, precision=precision)


def track_sequence(
    model: torch.nn.Module,
    frames: Iterable,
    init_box,
    head: str = "dcf",
    *,
    config: Optional[SOTConfig] = None,
    progress: bool = True,
) -> np.ndarray:
    """Track one target through ``frames`` (RGB arrays or image paths) from ``init_box = [x, y, w, h]`` (0-based).

    Returns:
        ``np.ndarray [T, 4]`` boxes ``[x, y, w, h]``; row 0 is ``init_box``.
    """
    return make_tracker(model, head, config).run(frames, init_box, progress=progress)


def __getattr__(name: str):
    # Compatibility re-export: the OTB dataset run and its scoring moved to unitrack.evaluation.adapters.sot (heads read
    # no datasets and compute no metrics); looked up only when asked for.
    if name in ("run_otb", "evaluate_otb"):
        from ..evaluation.adapters import sot as adapter  # compatibility re-export

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
