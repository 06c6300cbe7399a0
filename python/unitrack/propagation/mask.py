"""Label (mask) propagation with a first-frame + recent-frames memory (SPEC §2, appendix a).

The building blocks shared by the VOS and pose-propagation heads:

* :func:`l2_normalize` -- per-pixel L2 normalisation over channels (``v / max(||v||, 1e-12)``).
* :func:`downsample_labels` -- soft one-hot labels ``[L, H, W]`` -> ``[L, ceil(H/8), ceil(W/8)]``, bilinear with
  half-pixel centres and no anti-aliasing (what ``cv2.resize(..., INTER_LINEAR)`` does in the reference).
* :func:`upsample_argmax` -- soft predictions ``[L, h, w]`` -> bilinear to ``[H, W]`` -> arg-max label index.
* :class:`LabelMemory` -- the context bank: long-term frames (searched globally) + the previous ``n_context``
  frames (searched within ``radius`` feature cells). Before ``n_context`` frames have been seen, the short-term
  slots hold copies of frame 0 with its labels, exactly as the reference's padded frame list does (appendix a,
  "Whole video"). Each frame's features are computed once by the caller and stored; nothing is recomputed.

The per-step work is one call of :func:`unitrack_ext.ops.topk_propagate` (top-K after the additive radius mask,
softmax over the K kept logits, weighted sum of the memory's soft labels).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Deque

import torch
import torch.nn.functional as F

import unitrack_ext.ops as ext_ops

__all__ = [
    "PropagationConfig",
    "LabelMemory",
    "l2_normalize",
    "downsample_labels",
    "upsample_labels",
    "upsample_argmax",
    "propagate_step",
]


@dataclass
class PropagationConfig:
    """Hyper-parameters of label propagation (SPEC §2.1 defaults, identical in all shipped configs).

    Attributes:
        temperature: affinity divisor (0.05).
        topk: neighbours kept per query pixel (10).
        radius: spatial window of the short-term frames, in feature cells, Euclidean, strict ``<`` (12).
        n_context: number of short-term memory frames (5, cfg ``videoLen``).
        long_mem: real-frame indices kept as long-term (global-search) memory (``(0,)`` = the first frame). A
            frame ``i > 0`` joins the long-term memory once it has been processed.
        norm_mask: per-pixel min-max renormalisation of the predictions over labels (off in every config).
        l2_normalize: L2-normalise features per pixel (cfg ``no_l2`` False -> True).
    """

    temperature: float = 0.05
    topk: int = 10
    radius: float = 12.0
    n_context: int = 5
    long_mem: tuple[int, ...] = (0,)
    norm_mask: bool = False
    l2_normalize: bool = True

    def validate(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature: expected > 0, got {self.temperature}")
        if int(self.topk) < 1:
            raise ValueError(f"topk: expected >= 1, got {self.topk}")
        if int(self.n_context) < 1:
            raise ValueError(f"n_context: expected >= 1, got {self.n_context}")
        lm = tuple(int(i) for i in self.long_mem)
        if len(lm) == 0 or lm[0] != 0 or any(i < 0 for i in lm) or len(set(lm)) != len(lm):
            raise ValueError(
                f"long_mem: expected distinct non-negative frame indices starting with 0, got {self.long_mem}"
            )


def l2_normalize(feats: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Per-pixel L2 normalisation over the channel dim (``F.normalize``, eps 1e-12). ``[..., C, h, w]``."""
    return F.normalize(feats, p=2.0, dim=dim, eps=1e-12)


def downsample_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize soft labels ``[L, H, W]`` to ``size = (h, w)``: bilinear, half-pixel centres, no anti-aliasing.

    Matches ``cv2.resize(x, (w, h))`` (INTER_LINEAR) of the reference up to float rounding.
    """
    return F.interpolate(labels[None].float(), size=size, mode="bilinear", align_corners=False, antialias=False)[0]


def upsample_labels(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Soft predictions ``[L, h, w]`` -> ``[L, H, W]`` by bilinear interpolation (half-pixel centres, as cv2)."""
    return F.interpolate(pred[None], size=size, mode="bilinear", align_corners=False)[0]


def upsample_argmax(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Soft predictions ``[L, h, w]`` -> label index map ``int64 [H, W]`` (bilinear up-sampling, then arg-max over L).

    Ties go to the lower label index (``torch.argmax`` returns the first maximum), like ``np.argmax``.
    """
    return upsample_labels(pred, size).argmax(dim=0)


def propagate_step(
    query: torch.Tensor,
    keys: torch.Tensor,
    labels: torch.Tensor,
    cfg: PropagationConfig,
    n_global: int = 1,
) -> torch.Tensor:
    """One propagation step. ``query [C, h, w]``, ``keys [T, C, h, w]``, ``labels [T, L, h, w]`` -> ``[L, h, w]``.

    The first ``n_global`` memory frames are searched globally, the others within ``cfg.radius``.
    """
    pred = ext_ops.topk_propagate(
        query,
        keys,
        labels,
        topk=int(cfg.topk),
        temperature=float(cfg.temperature),
        radius=float(cfg.radius),
        n_global=int(n_global),
    )
    if cfg.norm_mask:
        # Per-pixel min-max over labels (reference `norm_mask`: subtract the min, divide by the max).
        pred = pred - pred.min(dim=0, keepdim=True).values
        pred = pred / pred.max(dim=0, keepdim=True).values.clamp_min(1e-12)
    return pred


@dataclass
class _Entry:
    feats: torch.Tensor  # [C, h, w]
    labels: torch.Tensor  # [L, h, w]


@dataclass
class LabelMemory:
    """Context bank for label propagation: long-term frames + the previous ``n_context`` frames.

    Usage::

        mem = LabelMemory(cfg)
        mem.reset(feats0, labels0)          # frame 0: features [C,h,w] (already normalised), labels [L,h,w]
        for each later frame t:
            pred = mem.step(feats_t)        # [L, h, w] soft labels for frame t
            (pred is pushed into the memory automatically)

    The memory for target frame ``t >= 1`` is, in this order: the long-term frames (frame 0, plus any other
    ``long_mem`` frame already processed), then the short-term frames ``t-n_context .. t-1``, where indices < 0 stand
    for frame 0 (with frame 0's labels). This is exactly the reference's padded protocol.
    """

    cfg: PropagationConfig = field(default_factory=PropagationConfig)
    _long: dict = field(default_factory=dict, init=False, repr=False)
    _short: Deque[_Entry] = field(default_factory=deque, init=False, repr=False)
    _t: int = field(default=-1, init=False, repr=False)

    @property
    def frame_index(self) -> int:
        """Index of the last frame stored in the memory (-1 before :meth:`reset`)."""
        return self._t

    def reset(self, feats0: torch.Tensor, labels0: torch.Tensor) -> None:
        """Start a new sequence with frame 0's features ``[C, h, w]`` and soft labels ``[L, h, w]``."""
        self.cfg.validate()
        if feats0.dim() != 3 or labels0.dim() != 3:
            raise ValueError(
                f"feats0/labels0: expected [C, h, w] and [L, h, w], got {tuple(feats0.shape)} and "
                f"{tuple(labels0.shape)}"
            )
        if feats0.shape[-2:] != labels0.shape[-2:]:
            raise ValueError(
                f"labels0: spatial size {tuple(labels0.shape[-2:])} differs from the features' "
                f"{tuple(feats0.shape[-2:])}"
            )
        # Labels in the features' dtype, float32 with bf16/fp16 features (topk_propagate returns float32 then).
        lab_dtype = feats0.dtype if feats0.dtype in (torch.float32, torch.float64) else torch.float32
        labels0 = labels0.to(device=feats0.device, dtype=lab_dtype)
        e0 = _Entry(feats0, labels0)
        self._long = {0: e0}
        # Padding: n_context copies of frame 0; after frame 0 itself is pushed the slots are still all frame 0.
        self._short = deque([e0] * int(self.cfg.n_context), maxlen=int(self.cfg.n_context))
        self._short.append(e0)
        self._t = 0

    def memory(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The current memory as ``(keys [T, C, h, w], labels [T, L, h, w], n_global)``."""
        if self._t < 0:
            raise RuntimeError("LabelMemory: call reset(feats0, labels0) before step()")
        longs = [self._long[i] for i in self.cfg.long_mem if i in self._long]
        entries = longs + list(self._short)
        keys = torch.stack([e.feats for e in entries])
        labels = torch.stack([e.labels for e in entries])
        return keys, labels, len(longs)

    def push(self, feats: torch.Tensor, labels: torch.Tensor) -> None:
        """Append the next frame (features ``[C, h, w]``, soft labels ``[L, h, w]``) to the memory."""
        self._t += 1
        e = _Entry(feats, labels)
        self._short.append(e)
        if self._t in self.cfg.long_mem:
            self._long[self._t] = e

    def step(self, feats: torch.Tensor) -> torch.Tensor:
        """Propagate the memory's labels to the next frame (features ``[C, h, w]``) and store the result.

        Returns the soft prediction ``[L, h, w]``.
        """
        keys, labels, n_global = self.memory()
        if feats.shape != keys.shape[1:]:
            raise ValueError(
                f"feats: expected shape {tuple(keys.shape[1:])} (same size as the memory frames), got "
                f"{tuple(feats.shape)}"
            )
        pred = propagate_step(feats, keys, labels, self.cfg, n_global=n_global)
        self.push(feats, pred)
        return pred
