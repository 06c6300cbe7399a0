"""Video object segmentation by mask propagation (SPEC §2, appendix a): the CRW-style protocol.

For every frame after the first, each pixel of the stride-8 feature map attends to the first frame (globally) and to
the previous ``n_context`` frames (within ``radius`` cells), keeps the top-``topk`` affinities, soft-maxes them with
``temperature`` and takes the weighted mean of the memory's soft labels. Soft predictions are fed back into the
memory; the output mask is the arg-max of the bilinearly up-sampled prediction at full resolution.

Differences from the reference (all deliberate, SPEC §9 item 11):

* object ids are preserved exactly: the label channels are the sorted unique ids of the first mask (0 always
  included), and the output maps channel ``k`` back to id ``ids[k]`` -- no RGB colour matching, so non-contiguous
  ids such as ``{0, 3, 7}`` round-trip;
* each frame's features are computed once and kept in the memory (the reference re-encodes the 5 padding copies of
  frame 0 and materialises a 6x copy of all features);
* no ``.npy`` caches are written next to the dataset;
* ``run`` returns the given first mask for frame 0 (the reference writes the arg-max of the down/up-sampled
  first-frame labels, which the DAVIS evaluation ignores anyway).

Example::

    from unitrack.heads.vos import VOSTracker, run_vos_sequence
    masks = run_vos_sequence(model, frames, first_mask)      # list of [H, W] id maps, masks[0] == first_mask

``frames`` may be what every head's sequence runner takes (:func:`unitrack.data.video.sequence_frames`): a list of
RGB arrays (``[H, W, 3]``; tensors ``[3, H, W]``) or image paths, a ``[T, H, W, 3]`` array, a frames folder or a video
file; ``first_mask`` an id map or the path of an indexed PNG. Per-stage timings (ms per frame: ``io``, ``backbone``,
``propagate``, ``readout``, ``total``) are in ``tracker.timings`` after a run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..model.precision import resolve_precision
from ..propagation.mask import LabelMemory, PropagationConfig, downsample_labels, upsample_argmax
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

__all__ = ["PROP_STAGES", "VOSConfig", "VOSTracker", "run_vos_sequence"]


@dataclass
class VOSConfig(PropagationConfig):
    """VOS hyper-parameters (SPEC §2.1): temperature 0.05, topk 10, radius 12, n_context 5, long_mem (0,),
    norm_mask False, features L2-normalised. ``feature_batch`` frames are encoded together by :meth:`VOSTracker.run`
    (5 in the reference; it does not change results)."""

    feature_batch: int = 5


def _as_first_mask(mask, name: str):
    """An id map, or the path of an indexed / grey PNG holding one."""
    if isinstance(mask, (str, os.PathLike)):
        from ..data.images import read_id_mask

        return read_id_mask(mask, name)
    return mask


def _as_mask(mask, name: str) -> np.ndarray:
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name}: expected an integer array [H, W], got {type(mask).__name__}")
    if mask.ndim != 2:
        raise ValueError(f"{name}: expected an id map [H, W], got shape {mask.shape}")
    if mask.dtype == bool:
        mask = mask.astype(np.uint8)
    if not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(f"{name}: expected an integer id map, got dtype {mask.dtype}")
    return mask


class VOSTracker:
    """Stateful semi-supervised VOS head: ``init(frame, mask)`` then ``track(frame) -> mask`` per frame.

    Args:
        model: a :class:`unitrack.model.FeatureExtractor` (``model.features(frames) -> [B, C, h, w]``).
        config: :class:`VOSConfig` (SPEC defaults).
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA): the dtype of the features handed to
            ``topk_propagate`` (L2-normalised in float32 first; top-K, softmax and labels stay float32). Default: the
            model's precision.

    Attributes after :meth:`init`:
        object_ids: ``np.ndarray [L]`` sorted ids of the first mask (0 first); channel ``k`` of the soft
            prediction is id ``object_ids[k]``.
        soft: the last soft prediction ``Tensor[L, h, w]`` (feature resolution).
    """

    def __init__(self, model, config: Optional[VOSConfig] = None, *, precision: Optional[str] = None):
        self.model = model
        self.precision = resolve_precision(precision, model)
        self.config = config if config is not None else VOSConfig()
        self.config.validate()
        self.memory = LabelMemory(self.config)
        self.object_ids: Optional[np.ndarray] = None
        self.soft: Optional[torch.Tensor] = None
        self._size: Optional[tuple[int, int]] = None
        self._dtype = np.uint8
        self._n_frames = 0
        self.timer = StageTimer(PROP_STAGES)

    @property
    def timings(self) -> dict[str, float]:
        """Mean milliseconds per frame since the last :meth:`init` / :meth:`run`: ``io`` (decoding), ``backbone``
        (features), ``propagate`` (top-K label propagation), ``readout`` (up-sampling, arg-max, ids), ``total``."""
        return self.timer.means

    # -- features ----------------------------------------------------------------------------------------------
    def _features(self, frames: Sequence[Frame]) -> torch.Tensor:
        """``[B, C, h, w]`` (L2-normalised per pixel unless disabled)."""
        with self.timer.stage("backbone"):
            return _model_features(self.model, frames, self.config.l2_normalize, self.precision)

    # -- API -------------------------------------------------------------------------------------------------
    def init(self, frame: Frame, mask, _feats: Optional[torch.Tensor] = None) -> None:
        """Start a sequence with its first frame (uint8 RGB ``[H, W, 3]`` or an image path) and object-id map
        ``[H, W]`` (or the path of an indexed PNG); resets :attr:`timings`.

        Every unique value of ``mask`` is an object id (0 = background, always included even if absent). A mask
        with no object (all 0) is valid: every later frame is then all background.
        """
        if _feats is None:
            self.timer.reset()
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            frame = _as_frame(frame)
            mask = _as_first_mask(mask, "mask")
        self._init(frame, mask, _feats)
        if _feats is None:
            self.timer.add("total", (time.perf_counter() - t0) * 1e3)
            self.timer.frames += 1

    def _init(self, frame: Frame, mask, _feats: Optional[torch.Tensor]) -> None:
        H, W = _frame_size(frame, "frame")
        mask = _as_mask(mask, "mask")
        if mask.shape != (H, W):
            raise ValueError(f"mask: expected the frame's size {H}x{W}, got {mask.shape[0]}x{mask.shape[1]}")
        feats = self._features([frame])[0] if _feats is None else _feats
        device = feats.device
        uniq, inv = np.unique(mask, return_inverse=True)
        others = [u for u in uniq.tolist() if u != 0]
        ids = np.array([0] + others, dtype=mask.dtype)  # background channel first, then sorted ids
        pos = np.array([0 if u == 0 else 1 + others.index(u) for u in uniq.tolist()], dtype=np.int64)
        self.object_ids = ids
        self._dtype = mask.dtype
        idx_map = torch.from_numpy(pos[inv.reshape(mask.shape)]).to(device)
        onehot = torch.nn.functional.one_hot(idx_map, len(ids)).permute(2, 0, 1).float()  # [L, H, W]
        labels0 = downsample_labels(onehot, tuple(feats.shape[-2:]))
        self.memory.reset(feats, labels0)
        self.soft = labels0
        self._size = (H, W)
        self._n_frames = 1

    def _check_frame(self, frame: Frame, name: str) -> None:
        _check_next_frame(frame, self._size, "VOSTracker: call init(frame, mask) before track(frame)", name)

    def _step(self, feats: torch.Tensor) -> np.ndarray:
        with self.timer.stage("propagate"):
            pred = self.memory.step(feats)
        self.soft = pred
        self._n_frames += 1
        with self.timer.stage("readout"):
            idx = upsample_argmax(pred, self._size)
            # Ship label indices as uint8 when they fit (8x less device->host traffic), map to ids on the host.
            idx = idx.to(torch.uint8) if len(self.object_ids) <= 256 else idx
            return self.object_ids[idx.cpu().numpy()].astype(self._dtype, copy=False)

    def track(self, frame: Frame) -> np.ndarray:
        """Propagate to the next frame (an RGB array or image path); returns the id map ``[H, W]`` (dtype of the
        first mask)."""
        t0 = time.perf_counter()
        with self.timer.stage("io"):
            frame = _as_frame(frame)
        self._check_frame(frame, "frame")
        out = self._step(self._features([frame])[0])
        self.timer.add("total", (time.perf_counter() - t0) * 1e3)
        self.timer.frames += 1
        return out

    def run(self, frames, first_mask, progress: bool = False) -> list[np.ndarray]:
        """Segment a whole sequence: ``frames[0]`` with ``first_mask``, then every later frame. ``frames``: a list of
        RGB arrays or image paths, a ``[T, H, W, 3]`` array, a frames folder or a video file (module docstring).

        Returns one id map ``[H, W]`` per frame; element 0 is a copy of ``first_mask``.
        """
        self.timer.reset()
        t_run = time.perf_counter()
        frames = _as_frames(frames, self.timer)
        H, W = _first_frame_size(frames)
        first = _as_mask(_as_first_mask(first_mask, "first_mask"), "first_mask")
        if first.shape != (H, W):
            raise ValueError(
                f"first_mask: expected the size of frames[0], {H}x{W}, got {first.shape[0]}x{first.shape[1]}"
            )
        _check_later_frames(frames, (H, W))
        bs = max(1, int(self.config.feature_batch))
        outs = [first.copy()]
        bar = _progress(len(frames), progress, "vos")
        feats = self._features(frames[0:bs])
        self.init(frames[0], first, _feats=feats[0])
        bar.update(1)
        pos = 1
        for start in range(0, len(frames), bs):
            if start > 0:
                feats = self._features(frames[start : start + bs])
            for j in range(feats.shape[0]):
                if start + j < pos:
                    continue
                outs.append(self._step(feats[j]))
                pos += 1
                bar.update(1)
        bar.close()
        self.timer.totals["total"] = (time.perf_counter() - t_run) * 1e3
        self.timer.frames = len(frames)
        return outs


def run_vos_sequence(
    model, frames, first_mask, config: Optional[VOSConfig] = None, progress: bool = False
) -> list[np.ndarray]:
    """Semi-supervised VOS of one sequence. ``frames``: uint8 RGB ``[H, W, 3]`` arrays or image paths, a
    ``[T, H, W, 3]`` array, a frames folder or a video file (the inputs of :func:`unitrack.heads.sot.track_sequence`);
    ``first_mask``: ``[H, W]`` ids or an indexed PNG path.

    Returns a list of ``len(frames)`` id maps ``[H, W]`` (element 0 = ``first_mask``), ids preserved. For the
    per-stage timings use ``VOSTracker(model, config)``, ``.run(...)``, then ``.timings``.
    """
    return VOSTracker(model, config).run(frames, first_mask, progress=progress)


def __getattr__(name: str):
    # Compatibility re-exports: the DAVIS dataset run moved to unitrack.evaluation.adapters.vos (heads read no
    # datasets), the `vos` command line to unitrack.cli.vos (heads parse no arguments); looked up only when asked for.
    if name == "run_davis":
        from ..evaluation.adapters.vos import run_davis  # compatibility re-export

        return run_davis
    if name == "add_parser":
        from ..cli.vos import add_parser  # compatibility re-export

        return add_parser
    if name == "add_propagation_args":
        from ..cli.common import add_propagation_args  # compatibility re-export

        return add_propagation_args
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
