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

import argparse
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..propagation.mask import LabelMemory, PropagationConfig
from ..propagation.pose import belief_maps, readout_topk
from .vos import (Frame, _check_later_frames, _check_next_frame, _first_frame_size, _frame_size, _model_features,
                  _progress)

__all__ = ["PosePropConfig", "PosePropagator", "run_poseprop_sequence", "run_jhmdb", "add_parser"]


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
    """Stateful pose-propagation head: ``init(frame, joints)`` then ``track(frame) -> joints [J, 2]``."""

    def __init__(self, model, config: Optional[PosePropConfig] = None):
        self.model = model
        self.config = config if config is not None else PosePropConfig()
        self.config.validate()
        self.memory = LabelMemory(self.config)
        self.soft: Optional[torch.Tensor] = None
        self._size: Optional[tuple[int, int]] = None

    def _features(self, frames: Sequence[Frame]) -> torch.Tensor:
        return _model_features(self.model, frames, self.config.l2_normalize)

    def init(self, frame: Frame, joints, _feats: Optional[torch.Tensor] = None) -> None:
        """Start with the first frame and its joints ``[J, 2]`` (x, y pixels; out-of-image points are allowed)."""
        self._size = _frame_size(frame, "frame")
        j = _as_joints(joints, "joints")
        feats = self._features([frame])[0] if _feats is None else _feats
        h, w = feats.shape[-2:]
        maps = belief_maps(j.T / float(self.config.stride), int(h), int(w))  # [h, w, J+1]
        labels0 = torch.from_numpy(maps).permute(2, 0, 1).contiguous().to(feats.device)
        self.memory.reset(feats, labels0)
        self.soft = labels0

    def _readout(self, pred: torch.Tensor) -> np.ndarray:
        xy = readout_topk(pred, self.config.readout_topk).cpu().numpy().astype(np.float64)  # [2, J] grid units
        valid = xy[0] >= 0
        out = np.where(valid[None], xy * float(self.config.stride), -1.0)
        return out.T

    def _step(self, feats: torch.Tensor) -> np.ndarray:
        pred = self.memory.step(feats)
        self.soft = pred
        return self._readout(pred)

    def track(self, frame: Frame) -> np.ndarray:
        """Propagate to the next frame; returns ``float64 [J, 2]`` (x, y) pixels, ``(-1, -1)`` for lost joints."""
        _check_next_frame(frame, self._size, "PosePropagator: call init(frame, joints) before track(frame)")
        return self._step(self._features([frame])[0])

    def run(self, frames: Sequence[Frame], first_joints, progress: bool = False) -> np.ndarray:
        """Whole sequence -> ``float64 [T, J, 2]``; element 0 is the read-out of frame 0's belief maps (as the
        reference, whose frame-0 prediction is the GT label map)."""
        frames = list(frames)
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
        return np.stack(outs)


def run_poseprop_sequence(
    model, frames: Sequence[Frame], first_joints, config: Optional[PosePropConfig] = None, progress: bool = False
) -> np.ndarray:
    """Pose propagation of one sequence: ``frames`` uint8 RGB, ``first_joints [J, 2]`` (x, y) pixels of frame 0.

    Returns ``float64 [T, J, 2]`` joint positions in pixels of the given frames (``-1`` = lost).
    """
    return PosePropagator(model, config).run(frames, first_joints, progress=progress)


def run_jhmdb(
    model,
    filelist: str,
    config: Optional[PosePropConfig] = None,
    crop_size: int = 320,
    limit: Optional[int] = None,
    progress: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run pose propagation on every video of a JHMDB file list.

    Returns ``(predictions, ground_truths)``: per video ``[2, J, T]`` arrays in original-image pixels (0-based),
    ready for :func:`unitrack.metrics.pck.evaluate_pck`.
    """
    from tqdm import tqdm

    from ..data.jhmdb import load_video, read_filelist

    entries = read_filelist(filelist)
    if limit is not None:
        entries = entries[: int(limit)]
    preds, gts = [], []
    for e in tqdm(entries, desc="JHMDB", disable=not progress):
        v = load_video(e.mat_path, e.frames_dir, crop_size=crop_size)
        n = min(len(v.frames), v.joints.shape[2])
        out = run_poseprop_sequence(model, v.frames[:n], v.joints[:, :, 0].T, config=config)  # [T, J, 2]
        preds.append(v.to_original(out.transpose(2, 1, 0)))
        gts.append(v.joints_original[:, :, :n])
    return preds, gts


def _cmd_poseprop(args: argparse.Namespace) -> int:
    from ..metrics.pck import evaluate_pck
    from ..model import build_model

    model = build_model(args.model)
    if args.device:
        model = model.to(args.device)
    cfg = PosePropConfig(temperature=args.temperature, topk=args.topk, radius=args.radius, n_context=args.n_context)
    preds, gts = run_jhmdb(model, args.filelist, config=cfg, crop_size=args.crop_size,
                           limit=args.limit, progress=not args.no_progress)
    res = evaluate_pck(preds, gts)
    for thr, v in res["pck"].items():
        print(f"PCK@{thr:.1f}: {v:.2f}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``poseprop`` (JHMDB pose propagation + PCK) to an argparse subparsers object."""
    p = subparsers.add_parser("poseprop", help="JHMDB pose propagation and PCK@0.1..0.5")
    p.add_argument("--filelist", required=True, help="text file, one '<joint_positions.mat> <frames dir>' per line")
    p.add_argument("--model", default="resnet18", help="model spec for unitrack.model.build_model (e.g. resnet18, crw:/ckpt/crw.pth, color)")
    p.add_argument("--device", default="")
    p.add_argument("--crop-size", type=int, default=320)
    p.add_argument("--limit", type=int, default=None, help="only the first N videos")
    d = PosePropConfig()
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--topk", type=int, default=d.topk)
    p.add_argument("--radius", type=float, default=d.radius)
    p.add_argument("--n-context", type=int, default=d.n_context)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_poseprop)
    return p
