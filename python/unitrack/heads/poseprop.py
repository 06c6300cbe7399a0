"""Pose propagation (JHMDB protocol, SPEC §3, appendix f).

The first frame's joints are drawn as Gaussian belief maps on the stride-8 feature grid (one channel per joint plus a
background channel); the maps are propagated with exactly the VOS machinery (first frame global + previous
``n_context`` frames within ``radius``, top-K, softmax, soft feedback); each frame's joints are read out as the
weighted mean of the top-3 positions of every joint map.

Coordinates: the head takes and returns joints as ``[J, 2]`` arrays of (x, y) **pixel** coordinates of the frames it
is given (0-based); internally they are divided by the stride (8), and read-outs are multiplied back by 8. A joint
whose propagated map is all zero is returned as ``(-1, -1)``. For JHMDB the frames are 320x320 crops
(:mod:`unitrack.data.jhmdb`), so ``pixels / 8`` equals the reference's ``coord * 320 / size / 8`` and ``x * 8`` equals
its evaluation's ``x / 40 * 320``.

Differences from the reference (SPEC §9 item 10): the missing ``poseprop`` config section is replaced by
:class:`PosePropConfig` with the VOS defaults; ``mapScale`` is handled as numbers; top-3 ties go to the lower index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..model.precision import resolve_precision
from ..propagation.mask import LabelMemory, PropagationConfig
from ..propagation.pose import belief_maps, readout_topk
from ._common import (
    PROP_STAGES,
    Frame,
    StageTimer,
    _as_frame,
    _as_frames,
    _check_later_frames,
    _check_next_frame,
    _first_frame_size,
    _frame_size,
    _model_features,
    _progress,
)

__all__ = ["PosePropConfig", "PosePropagator", "run_poseprop_sequence"]


@dataclass
class PosePropConfig(PropagationConfig):
    """Pose propagation hyper-parameters: the VOS defaults (temperature 0.05, topk 10, radius 12, n_context 5,
    long_mem (0,)) plus ``readout_topk`` 3 and the feature stride 8 used for pixel <-> grid conversion."""

    readout_topk: int = 3
    stride: int = 8
    feature_batch: int = 5


def _as_joints(joints, name: str) -> np.ndarray:
    if isinstance(joints, torch.Tensor):
        joints = joints.detach().cpu().numpy()
    a = np.asarray(joints, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] < 1:
        raise ValueError(f"{name}: expected joints [J, 2] as (x, y) pixel coordinates, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: joint coordinates must be finite")
    return a


class PosePropagator:
    """Stateful pose-propagation head: ``init(frame, joints)`` then ``track(frame) -> joints [J, 2]``.

    ``precision`` (``"fp32"``, ``"bf16"``, ``"fp16"`` on CUDA; default: the model's): the dtype of the features handed
    to ``topk_propagate`` (normalised in float32 first; belief maps, top-K and softmax stay float32).
    """

    def __init__(self, model, config: Optional[PosePropConfig] = None, *, precision: Optional[str] = None):
        self.model = model
        self.precision = resolve_precision(precision, model)
        self.config = config if config is not None else PosePropConfig()
        self.config.validate()
        self.memory = LabelMemory(self.config)
        self.soft: Optional[torch.Tensor] = None
        self._size: Optional[tuple[int, int]] = None
        self.timer = StageTimer(PROP_STAGES)

    @property
    def timings(self) -> dict[str, float]:
        """Mean milliseconds per frame since the last :meth:`init` / :meth:`run`: ``io``, ``backbone``,
        ``propagate``, ``readout`` (top-3 joint read-out), ``total``."""
        return self.timer.means

    def _features(self, frames: Sequence[Frame]) -> torch.Tensor:
        with self.timer.stage("backbone"):
            return _model_features(self.model, frames, self.config.l2_normalize, self.precision)

    def init(self, frame: Frame, joints, _feats: Optional[torch.Tensor] = None) -> None:
        """Start with the first frame (an RGB array or image path) and its joints ``[J, 2]`` (x, y pixels;
        out-of-image points are allowed); resets :attr:`timings`."""
        if _feats is None:
            self.timer.reset()
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            frame = _as_frame(frame)
        self._init(frame, joints, _feats)
        if _feats is None:
            self.timer.add("total", (time.perf_counter() - t0) * 1e3)
            self.timer.frames += 1

    def _init(self, frame: Frame, joints, _feats: Optional[torch.Tensor]) -> None:
        self._size = _frame_size(frame, "frame")
        j = _as_joints(joints, "joints")
        feats = self._features([frame])[0] if _feats is None else _feats
        h, w = feats.shape[-2:]
        maps = belief_maps(j.T / float(self.config.stride), int(h), int(w))  # [h, w, J+1]
        labels0 = torch.from_numpy(maps).permute(2, 0, 1).contiguous().to(feats.device)
        self.memory.reset(feats, labels0)
        self.soft = labels0

    def _readout(self, pred: torch.Tensor) -> np.ndarray:
        with self.timer.stage("readout"):
            xy = readout_topk(pred, self.config.readout_topk).cpu().numpy().astype(np.float64)  # [2, J] grid units
            valid = xy[0] >= 0
            out = np.where(valid[None], xy * float(self.config.stride), -1.0)
            return out.T

    def _step(self, feats: torch.Tensor) -> np.ndarray:
        with self.timer.stage("propagate"):
            pred = self.memory.step(feats)
        self.soft = pred
        return self._readout(pred)

    def track(self, frame: Frame) -> np.ndarray:
        """Propagate to the next frame (an RGB array or image path); returns ``float64 [J, 2]`` (x, y) pixels,
        ``(-1, -1)`` for lost joints."""
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            frame = _as_frame(frame)
        _check_next_frame(frame, self._size, "PosePropagator: call init(frame, joints) before track(frame)")
        out = self._step(self._features([frame])[0])
        self.timer.add("total", (time.perf_counter() - t0) * 1e3)
        self.timer.frames += 1
        return out

    def run(self, frames, first_joints, progress: bool = False) -> np.ndarray:
        """Whole sequence -> ``float64 [T, J, 2]``; element 0 is the read-out of frame 0's belief maps (as the
        reference, whose frame-0 prediction is the GT label map). ``frames``: a list of RGB arrays or image paths, a
        ``[T, H, W, 3]`` array, a frames folder or a video file."""
        self.timer.reset()
        t_run = time.perf_counter()
        frames = _as_frames(frames, self.timer)
        _check_later_frames(frames, _first_frame_size(frames))
        bs = max(1, int(self.config.feature_batch))
        bar = _progress(len(frames), progress, "poseprop")
        feats = self._features(frames[0:bs])
        self.init(frames[0], first_joints, _feats=feats[0])
        outs = [self._readout(self.soft)]
        bar.update(1)
        for start in range(0, len(frames), bs):
            if start > 0:
                feats = self._features(frames[start : start + bs])
            for j in range(feats.shape[0]):
                if start + j == 0:
                    continue
                outs.append(self._step(feats[j]))
                bar.update(1)
        bar.close()
        self.timer.totals["total"] = (time.perf_counter() - t_run) * 1e3
        self.timer.frames = len(frames)
        return np.stack(outs)


def run_poseprop_sequence(
    model, frames, first_joints, config: Optional[PosePropConfig] = None, progress: bool = False
) -> np.ndarray:
    """Pose propagation of one sequence: ``frames`` uint8 RGB arrays or image paths, a ``[T, H, W, 3]`` array, a
    frames folder or a video file; ``first_joints [J, 2]`` (x, y) pixels of frame 0.

    Returns ``float64 [T, J, 2]`` joint positions in pixels of the given frames (``-1`` = lost).
    """
    return PosePropagator(model, config).run(frames, first_joints, progress=progress)


def __getattr__(name: str):
    # Compatibility re-exports: the JHMDB dataset run moved to unitrack.evaluation.adapters.poseprop (heads read no
    # datasets), the `poseprop` command line to unitrack.cli.poseprop (heads parse no arguments); looked up only when
    # asked for.
    if name == "run_jhmdb":
        from ..evaluation.adapters.poseprop import run_jhmdb  # compatibility re-export

        return run_jhmdb
    if name == "add_parser":
        from ..cli.poseprop import add_parser  # compatibility re-export

        return add_parser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
