"""Shared plumbing of the heads: per-stage timing, frame loading and checks, letterboxing, the timed association
tracker (MOT / MOTS / PoseTrack) and the frame helpers of the propagation heads (VOS / pose propagation).

Per-stage timings are measured by :class:`TimedTracker`, an :class:`~unitrack.association.AssociationTracker`
whose observation-feature and RSM steps are timed; the rest of ``update`` (Kalman filter, motion fusion, IoU stages,
lapjv assignment, bookkeeping) is reported as ``"assoc"``. Heads add ``"io"`` (image decoding) and ``"backbone"``
(the appearance model's forward pass, including letterboxing / normalisation).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import torch

from ..association import AssociationTracker
from ..data.images import read_image
from ..data.video import sequence_frames
from ..model.precision import autocast, precision_dtype
from ..propagation.mask import l2_normalize

#: Stage names of :attr:`StageTimer.means`, in report order.
STAGES = ("io", "backbone", "features", "rsm", "assoc", "total")


def _sync(t: torch.Tensor | None = None) -> None:
    if t is not None and t.is_cuda:
        torch.cuda.synchronize(t.device)


class StageTimer:
    """Accumulates wall-clock milliseconds per stage; :attr:`means` gives mean ms per frame.

    ``stages``: the stage names reported (in order) even when a stage took no time; others are added on first use.
    Every head has one (``head.timings`` = ``timer.means``): association heads use :data:`STAGES`, the SOT heads
    ``io / crop / backbone / head / total``, the propagation heads ``io / backbone / propagate / readout / total``.
    """

    def __init__(self, stages: tuple[str, ...] = STAGES) -> None:
        self.stages = tuple(stages)
        self.reset()

    def reset(self) -> None:
        self.totals: dict[str, float] = {k: 0.0 for k in self.stages}
        self.frames = 0

    def add(self, stage: str, ms: float) -> None:
        self.totals[stage] = self.totals.get(stage, 0.0) + ms

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter() - t0) * 1e3)

    @contextmanager
    def frame(self, rest: str, measured: tuple[str, ...]) -> Iterator[None]:
        """Time one whole frame: adds ``total`` and books what the ``measured`` stages did not account for as
        ``rest`` (e.g. the SOT correlation / filter work), then counts the frame."""
        before = sum(self.totals.get(k, 0.0) for k in measured)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = (time.perf_counter() - t0) * 1e3
            inner = sum(self.totals.get(k, 0.0) for k in measured) - before
            self.add(rest, max(dt - inner, 0.0))
            self.add("total", dt)
            self.frames += 1

    @property
    def means(self) -> dict[str, float]:
        """Mean milliseconds per frame of every stage (``{}`` before the first frame)."""
        if self.frames == 0:
            return {}
        return {k: v / self.frames for k, v in self.totals.items()}


class TimedTracker(AssociationTracker):
    """:class:`AssociationTracker` that records the time of its feature and RSM steps into a :class:`StageTimer`.

    ``features`` = RoIAlign / mask / pose feature extraction (``make_detections``); ``rsm`` = the appearance cost;
    everything else in ``update`` is accounted by the caller as ``assoc`` (= update time - features - rsm).
    """

    def __init__(self, config, timer: StageTimer):
        self.timer = timer
        super().__init__(config)

    def make_detections(self, feat_map, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return super().make_detections(feat_map, *args, **kwargs)
        finally:
            _sync(feat_map if isinstance(feat_map, torch.Tensor) else None)
            self.timer.add("features", (time.perf_counter() - t0) * 1e3)

    def _appearance_cost(self, pool, detections):
        t0 = time.perf_counter()
        try:
            return super()._appearance_cost(pool, detections)
        finally:
            self.timer.add("rsm", (time.perf_counter() - t0) * 1e3)

    def timed_update(self, *args, **kwargs):
        """``update`` that also books the non-feature, non-RSM remainder as ``assoc``."""
        f0, r0 = self.timer.totals["features"], self.timer.totals["rsm"]
        t0 = time.perf_counter()
        out = self.update(*args, **kwargs)
        dt = (time.perf_counter() - t0) * 1e3
        inner = (self.timer.totals["features"] - f0) + (self.timer.totals["rsm"] - r0)
        self.timer.add("assoc", max(dt - inner, 0.0))
        return out


class AssociationHead:
    """Shared state of the association heads (MOT, MOTS, PoseTrack): the validated config, the timed tracker, the
    per-stage timer and the per-sequence stats. Subclasses set ``obs_type``, ``default_config`` and
    ``initial_stats``."""

    obs_type: str = ""
    default_config = None  # callable returning the task's AssociationConfig

    def _init_head(self, model, config, progress: bool, precision: Optional[str] = None) -> None:
        from ..association import AssociationConfig
        from ..model.precision import resolve_precision

        self.model = model
        self.precision = resolve_precision(precision, model)
        self.config = config if config is not None else type(self).default_config()
        if not isinstance(self.config, AssociationConfig):
            raise TypeError(f"config must be an AssociationConfig, got {type(self.config).__name__}")
        if self.config.obs_type != self.obs_type:
            raise ValueError(
                f"{type(self).__name__} needs a config with obs_type={self.obs_type!r}, got {self.config.obs_type!r}"
            )
        self.progress = progress
        self.timer = StageTimer()

    def initial_stats(self) -> dict:
        return {"frames": 0}

    def reset(self, frame_rate: float | None = None) -> None:
        """Start a new sequence (track ids restart at 1, timings and stats cleared)."""
        cfg = self.config if frame_rate is None else self.config.replace(frame_rate=float(frame_rate))
        self.timer.reset()
        self.tracker = TimedTracker(cfg, self.timer)
        self.stats = self.initial_stats()
        self.last_tracks: list = []

    @property
    def timings(self) -> dict[str, float]:
        """Mean milliseconds per frame of each stage (backbone, features, rsm, assoc, ...)."""
        return self.timer.means


def load_frame(frame, name: str = "frame") -> np.ndarray:
    """A frame as a uint8 RGB array ``[H, W, 3]``.

    Accepts an image path (:func:`unitrack.data.images.read_image`), a uint8 ``[H, W, 3]`` RGB array or a grey
    ``[H, W]`` array.
    """
    if isinstance(frame, (str, os.PathLike)):
        return read_image(frame, name)
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().numpy()
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"{name} must be an image path or a uint8 RGB array [H, W, 3], got {type(frame).__name__}")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"{name} must be a uint8 RGB array [H, W, 3], got shape {list(frame.shape)}")
    if frame.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8 (RGB 0..255), got {frame.dtype}")
    return frame


def letterbox(img: np.ndarray, size: tuple[int, int] = (1088, 608)) -> tuple[np.ndarray, float, int, int]:
    """Letterbox an RGB frame to ``size = (W, H)`` as the reference's MOT loader (SPEC §5.3).

    ``ratio = min(H / h0, W / w0)``; the frame is resized to ``(round(w0 * ratio), round(h0 * ratio))`` with
    ``INTER_AREA`` and padded symmetrically with grey 127.5 (128 in uint8).

    Returns:
        ``(image [H, W, 3] uint8, ratio, pad_left, pad_top)``: a point ``p`` of the original frame is at
        ``p * ratio + (pad_left, pad_top)`` in the letterboxed one.
    """
    import cv2

    W, H = int(size[0]), int(size[1])
    h0, w0 = img.shape[:2]
    ratio = min(H / h0, W / w0)
    nw, nh = round(w0 * ratio), round(h0 * ratio)
    dw, dh = (W - nw) / 2, (H - nh) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    out = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA) if (nw, nh) != (w0, h0) else img
    out = cv2.copyMakeBorder(out, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(127.5, 127.5, 127.5))
    return np.ascontiguousarray(out), float(ratio), int(left), int(top)


def backbone_precision(model, precision: Optional[str]):
    """Context in which ``model``'s forward runs in the head's ``precision``: the model's own setting temporarily
    replaced (:meth:`unitrack.model.FeatureExtractor.using_precision`), or plain ``torch.autocast`` for a duck-typed
    model without one."""
    if hasattr(model, "using_precision"):
        return model.using_precision(precision)
    return autocast(precision or "fp32", getattr(model, "device", "cpu"))


def model_features(model, img: np.ndarray, precision: Optional[str] = None) -> torch.Tensor:
    """``[C, h, w]`` stride-8 feature map of one RGB frame, synchronised (for honest timings). The association heads'
    features: a bf16/fp16 model's map is widened to float32 (RoIAlign, mask/pose features and RSM stay float32 at
    every precision; :mod:`unitrack.model.precision`). ``precision``: the backbone's (None: the model's own)."""
    if not hasattr(model, "features"):
        raise TypeError(
            f"model must be a unitrack FeatureExtractor (with .features(frames)), got {type(model).__name__}"
        )
    with backbone_precision(model, precision):
        f = model.features(img)
    if not isinstance(f, torch.Tensor) or f.dim() != 4 or f.shape[0] != 1:
        raise ValueError(
            f"model.features must return a Tensor [1, C, h, w], got "
            f"{tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__}"
        )
    f = f[0]
    if f.dtype in (torch.bfloat16, torch.float16):
        f = f.float()
    _sync(f)
    return f


def progress_bar(iterable, progress: bool, desc: str, total: int | None = None):
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=not progress, leave=False)


# ------------------------------------------------------------------------------------- the propagation heads' frames
#: A frame of the propagation heads: RGB ``[H, W, 3]`` array or ``[3, H, W]`` tensor.
Frame = Union[np.ndarray, torch.Tensor]

#: Stage names of the propagation heads' ``timings``.
PROP_STAGES = ("io", "backbone", "propagate", "readout", "total")


def _as_frame(frame, name: str = "frame"):
    """A frame given as an image path, a PIL image or a grey ``[H, W]`` array -> RGB ``uint8 [H, W, 3]``; RGB arrays
    and ``[3, H, W]`` tensors are returned as they are."""
    if isinstance(frame, (str, os.PathLike)):
        return load_frame(frame, name)
    if isinstance(frame, np.ndarray):
        return np.repeat(frame[:, :, None], 3, axis=2) if frame.ndim == 2 else frame
    if not isinstance(frame, torch.Tensor) and hasattr(frame, "convert"):  # PIL
        return np.asarray(frame.convert("RGB"))
    return frame


def _as_frames(frames, timer) -> list:
    """Every frame of a sequence (:func:`unitrack.data.video.sequence_frames` forms) loaded as arrays; timed as
    ``io``."""
    with timer.stage("io"):
        return [_as_frame(f, f"frames[{i}]") for i, f in enumerate(sequence_frames(frames))]


def _frame_size(frame: Frame, name: str) -> tuple[int, int]:
    """``(H, W)`` of an RGB frame: numpy ``[H, W, 3]`` or tensor ``[3, H, W]``."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"{name}: expected an RGB image [H, W, 3], got shape {frame.shape}")
        return int(frame.shape[0]), int(frame.shape[1])
    if isinstance(frame, torch.Tensor):
        if frame.dim() != 3 or frame.shape[0] != 3:
            raise ValueError(f"{name}: expected an RGB tensor [3, H, W], got shape {tuple(frame.shape)}")
        return int(frame.shape[1]), int(frame.shape[2])
    raise TypeError(f"{name}: expected a numpy array [H, W, 3] or a tensor [3, H, W], got {type(frame).__name__}")


def _first_frame_size(frames: Sequence[Frame]) -> tuple[int, int]:
    """``(H, W)`` of ``frames[0]`` of a whole sequence; ValueError for an empty one."""
    if len(frames) == 0:
        raise ValueError("frames: expected at least one frame, got an empty sequence")
    return _frame_size(frames[0], "frames[0]")


def _check_later_frames(frames: Sequence[Frame], size: tuple[int, int]) -> None:
    """Every frame after ``frames[0]`` must have its size ``(H, W)``."""
    for i, f in enumerate(frames[1:], start=1):
        s = _frame_size(f, f"frames[{i}]")
        if s != size:
            raise ValueError(
                f"frames[{i}]: expected size {size[0]}x{size[1]} (the size of frames[0]), got {s[0]}x{s[1]}"
            )


def _check_next_frame(
    frame: Frame, first_size: Optional[tuple[int, int]], not_started: str, name: str = "frame"
) -> None:
    """A frame given to ``track``: RuntimeError ``not_started`` before ``init`` (``first_size`` None), ValueError
    unless it has the first frame's size."""
    if first_size is None:
        raise RuntimeError(not_started)
    size = _frame_size(frame, name)
    if size != first_size:
        raise ValueError(
            f"{name}: expected size {first_size[0]}x{first_size[1]} (the first frame's), got {size[0]}x{size[1]}"
        )


def _model_features(model, frames: Sequence[Frame], l2: bool, precision: str = "fp32") -> torch.Tensor:
    """``model.features(frames)`` checked to be ``[len(frames), C, h, w]``, as float32, L2-normalised per pixel when
    ``l2``: the features of the propagation heads; with a bf16/fp16 ``precision`` rounded to that dtype after the
    (float32) normalisation, for the fused op (:mod:`unitrack.model.precision`). The backbone runs in ``precision``
    too."""
    with backbone_precision(model, precision):
        feats = model.features(list(frames))
    if feats.dim() != 4 or feats.shape[0] != len(frames):
        raise RuntimeError(f"model.features returned shape {tuple(feats.shape)}, expected [{len(frames)}, C, h, w]")
    feats = feats.float()
    feats = l2_normalize(feats, dim=1) if l2 else feats
    return feats if precision == "fp32" else feats.to(precision_dtype(precision))


def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False)
