"""Train a representation through the fused top-K label propagation (issue #16), then measure it on VOS.

The built-in ResNet-18 (``resnet18:random``: layer3 at stride 8, seeded random initialisation) is trained from
scratch with a self-supervised palindrome-cycle loss, as CRW and UVC train their representations, but through
``unitrack_ext.ops.topk_propagate`` -- the same fused op the VOS head runs -- instead of a dense affinity:

* a clip of ``clip_len`` frames (random video, start, frame stride, crop and horizontal flip) is encoded and
  L2-normalised (features ``[T, C, h, w]``);
* every feature cell of the first frame gets its own label (a one-hot labelling, ``L = h * w`` channels), which is
  propagated forward frame by frame and back again (0 -> 1 -> ... -> T-1 -> ... -> 0), each step with the top-``topk``
  affinities within ``radius`` cells, softmax ``temperature``;
* the loss is the cross-entropy of the labels that come back against the start: ``-mean_n log P[n, n]`` (a cell must
  find its way back to itself). Gradients reach the features through the selected affinities (query and keys) and
  through the propagated labels of every step.

Training videos: the synthetic benchmark generated with another seed (``--train-seed``, default 1: DAVIS-, OTB- and
MOT-style videos, no annotation used). Evaluation: the VOS J&F of the built-in synthetic benchmark (seed 0, what
``unitrack eval`` uses) before and after training, through the VOS evaluation adapter
(``unitrack.evaluation.adapters.vos``). BatchNorm layers keep their (initial) statistics: the model stays in eval
mode and only the weights are trained.

    python examples/train_propagation.py --steps 300 --out results/train_propagation
    python examples/train_propagation.py --steps 300 --save results/train_propagation/model.pth   # keep the weights

The result (``summary.json`` in ``--out``): the loss curve and J&F / J / F before and after. Runs on the CPU in
minutes (``--threads 1`` is often faster on a small, busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from unitrack.data.images import read_image
from unitrack.data.video import list_frame_files
from unitrack.evaluation.adapters.vos import VOSTask, run_davis
from unitrack.evaluation.platform import synthetic_roots
from unitrack.model import build_model
from unitrack_ext import ops

DEFAULTS = dict(
    steps=300,
    clip_len=3,
    max_stride=2,
    crop=(128, 160),
    jitter=16,
    lr=3e-4,
    topk=10,
    temperature=0.07,
    radius=5.0,
    seed=0,
)


def video_folders(roots: Sequence[str], min_frames: int) -> List[List[Path]]:
    """The frame files of every folder under ``roots`` that holds at least ``min_frames`` images."""
    videos = []
    for root in roots:
        for folder in sorted(p for p in Path(root).rglob("*") if p.is_dir()):
            try:
                files = list_frame_files(folder)
            except ValueError:
                continue
            if len(files) >= min_frames:
                videos.append(files)
    if not videos:
        raise ValueError(f"no video with at least {min_frames} frames under {', '.join(map(str, roots))}")
    return videos


def sample_clip(videos, clip_len: int, max_stride: int, crop, rng: random.Random, jitter: int = 0, max_shift: int = 2):
    """A random clip: ``(frames [clip_len + 1, 3, h, w] in [0, 1], (dy, dx))``.

    Random video, frame stride, start, crop and horizontal flip. ``frames[:clip_len]`` are the clip (each frame's crop
    window moved by up to ``jitter`` pixels on its own); ``frames[clip_len]`` is the first frame again, cropped
    ``(dy, dx)`` feature cells (8 px each, not both 0, at most ``max_shift``) away from its first crop: its cell
    ``(y, x)`` shows what cell ``(y + dy, x + dx)`` of ``frames[0]`` shows. The cycle returns to this shifted copy, so
    it cannot be closed by position alone (an encoder that knows where a cell is in its crop would otherwise return
    every cell to where it started without looking at it)."""
    files = rng.choice(videos)
    stride = rng.randint(1, max(1, min(max_stride, (len(files) - 1) // max(1, clip_len - 1))))
    start = rng.randint(0, len(files) - 1 - stride * (clip_len - 1))
    frames = [read_image(files[start + i * stride]) for i in range(clip_len)]
    H, W = frames[0].shape[:2]
    ch, cw = min(crop[0], H - 16 * max_shift) // 8 * 8, min(crop[1], W - 16 * max_shift) // 8 * 8
    if ch < 8 or cw < 8:
        raise ValueError(f"frames of {H}x{W} are too small for a {crop[0]}x{crop[1]} crop shifted by {max_shift} cells")
    y0, x0 = rng.randint(8 * max_shift, H - ch - 8 * max_shift), rng.randint(8 * max_shift, W - cw - 8 * max_shift)
    dy, dx = 0, 0
    while dy == 0 and dx == 0:
        dy, dx = rng.randint(-max_shift, max_shift), rng.randint(-max_shift, max_shift)
    crops = []
    for i, f in enumerate(frames):
        y = y0 if i == 0 else min(max(y0 + rng.randint(-jitter, jitter), 0), H - ch)
        x = x0 if i == 0 else min(max(x0 + rng.randint(-jitter, jitter), 0), W - cw)
        crops.append(f[y : y + ch, x : x + cw])
    crops.append(frames[0][y0 + 8 * dy : y0 + 8 * dy + ch, x0 + 8 * dx : x0 + 8 * dx + cw])
    clip = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
    if rng.random() < 0.5:
        clip, dx = clip.flip(-1), -dx
    return clip, (dy, dx)


def cycle_loss(model, clip: torch.Tensor, shift, *, topk: int, temperature: float, radius: float):
    """The cycle loss of one clip from :func:`sample_clip`; returns ``(loss, cycle accuracy)``.

    Labels: one channel per feature cell of frame 0, propagated 0 -> 1 -> ... -> T-1 -> ... -> 1 -> the shifted
    copy of frame 0 with ``topk_propagate`` (one memory frame per step, radius-restricted: ``n_global=0``); each cell
    of the shifted copy must come back with the label of the cell of frame 0 that shows the same thing (cross-entropy,
    over the cells whose content is in both crops)."""
    feats = F.normalize(model(model.normalize(clip)), dim=1)  # [T + 1, C, h, w]
    T, (_, _, h, w) = clip.shape[0] - 1, feats.shape
    n = h * w
    labels = torch.eye(n, dtype=feats.dtype).reshape(n, h, w)  # [L = n, h, w]: cell m of frame 0 -> label m
    path = list(range(T)) + list(range(T - 2, 0, -1)) + [T]
    for a, b in zip(path[:-1], path[1:]):
        labels = ops.topk_propagate(
            feats[b],
            feats[a : a + 1],
            labels.unsqueeze(0),
            topk=topk,
            temperature=temperature,
            radius=radius,
            n_global=0,
        )
    back = labels.reshape(n, n)  # back[l, m]: the probability that cell m of the shifted copy came back with label l
    dy, dx = shift
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ty, tx = ys + dy, xs + dx
    valid = ((ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)).reshape(-1)
    target = (ty.clamp(0, h - 1) * w + tx.clamp(0, w - 1)).reshape(-1)
    cells = torch.arange(n)[valid]
    p = back[target[valid], cells]
    loss = -torch.log(p + 1e-6).mean()  # a cell whose walk lost its target entirely (p = 0) costs log(1e6)
    acc = (back[:, cells].argmax(0) == target[valid]).float().mean()
    return loss, float(acc)


def evaluate_vos(model, davis_root: str, out_dir: str) -> Dict[str, float]:
    """VOS J&F-mean, J-mean, F-mean (percent) on a DAVIS-layout root, through the VOS evaluation adapter."""
    model.eval()
    done = run_davis(model, davis_root, out_dir, progress=False)
    return VOSTask().evaluate(davis_root, {seq: out_dir for seq in done})


def train(
    model,
    videos,
    *,
    steps: int,
    clip_len: int,
    max_stride: int,
    crop,
    lr: float,
    topk: int,
    temperature: float,
    radius: float,
    seed: int,
    jitter: int = 0,
    log_every: int = 25,
    log=print,
) -> List[Dict[str, float]]:
    """Adam on the cycle loss; returns the per-step history ``[{"step", "loss", "acc", "seconds"}]``."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.eval()  # BatchNorm keeps its statistics; autograd is on all the same
    history = []
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        clip, shift = sample_clip(videos, clip_len, max_stride, crop, rng, jitter)
        loss, acc = cycle_loss(model, clip, shift, topk=topk, temperature=temperature, radius=radius)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(dict(step=step, loss=float(loss.detach()), acc=acc, seconds=time.perf_counter() - t0))
        if step % log_every == 0 or step == steps:
            recent = history[-log_every:]
            log(
                f"step {step:5d}/{steps}  loss {np.mean([r['loss'] for r in recent]):.3f}  cycle accuracy "
                f"{100 * np.mean([r['acc'] for r in recent]):.1f} %  ({time.perf_counter() - t0:.0f} s)"
            )
    return history


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="training steps (one clip each)")
    p.add_argument("--clip-len", type=int, default=DEFAULTS["clip_len"], help="frames per clip (the cycle's length)")
    p.add_argument("--max-stride", type=int, default=DEFAULTS["max_stride"], help="largest frame stride of a clip")
    p.add_argument("--crop", type=int, nargs=2, default=DEFAULTS["crop"], metavar=("H", "W"), help="crop size (px)")
    p.add_argument("--jitter", type=int, default=DEFAULTS["jitter"], help="per-frame crop jitter (px)")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="Adam learning rate")
    p.add_argument("--topk", type=int, default=DEFAULTS["topk"], help="affinities kept per cell")
    p.add_argument("--temperature", type=float, default=DEFAULTS["temperature"], help="softmax temperature")
    p.add_argument("--radius", type=float, default=DEFAULTS["radius"], help="search radius (feature cells)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of the clip sampling")
    p.add_argument("--train-seed", type=int, default=1, help="seed of the synthetic training videos (not 0)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--out", default="results/train_propagation", help="output folder (summary.json, VOS masks)")
    p.add_argument("--cache", default="results/eval/data", help="where the synthetic benchmarks are generated")
    p.add_argument("--save", default=None, help="also save the trained weights (torchvision keys) here")
    p.add_argument("--skip-eval", action="store_true", help="train only (no VOS evaluation)")
    args = p.parse_args(argv)
    if args.steps < 0 or args.clip_len < 2 or args.topk < 1 or not (args.temperature > 0) or args.lr <= 0:
        p.error("expected --steps >= 0, --clip-len >= 2, --topk >= 1, --temperature > 0 and --lr > 0")
    if args.train_seed == 0:
        p.error("--train-seed 0 is the evaluation benchmark's seed: train on other videos")
    return args


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    train_roots = synthetic_roots(
        os.path.join(args.cache, f"synthetic-small-seed{args.train_seed}"),
        ["vos", "sot", "mot"],
        seed=args.train_seed,
        progress=False,
    )
    videos = video_folders(train_roots.values(), args.clip_len * args.max_stride)
    eval_root = synthetic_roots(os.path.join(args.cache, "synthetic-small"), ["vos"], seed=0, progress=False)["vos"]
    model = build_model("resnet18:random")
    print(f"training videos: {len(videos)} (synthetic benchmark, seed {args.train_seed}); evaluation: {eval_root}")
    summary: Dict = {"config": vars(args), "model": "resnet18:random"}
    if not args.skip_eval:
        summary["before"] = evaluate_vos(model, eval_root, os.path.join(args.out, "vos_before"))
        print(
            f"before: VOS J&F {summary['before']['jf_mean']:.1f}  J {summary['before']['j_mean']:.1f}  "
            f"F {summary['before']['f_mean']:.1f}"
        )
    history = train(
        model,
        videos,
        steps=args.steps,
        clip_len=args.clip_len,
        max_stride=args.max_stride,
        crop=tuple(args.crop),
        jitter=args.jitter,
        lr=args.lr,
        topk=args.topk,
        temperature=args.temperature,
        radius=args.radius,
        seed=args.seed,
    )
    summary["history"] = history
    summary["train_seconds"] = history[-1]["seconds"] if history else 0.0
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.backbone.state_dict() if hasattr(model, "backbone") else model.state_dict(), args.save)
    if not args.skip_eval:
        summary["after"] = evaluate_vos(model, eval_root, os.path.join(args.out, "vos_after"))
        print(
            f"after {args.steps} steps ({summary['train_seconds']:.0f} s): VOS J&F {summary['after']['jf_mean']:.1f}"
            f"  J {summary['after']['j_mean']:.1f}  F {summary['after']['f_mean']:.1f}"
        )
    if history:
        first, last = [r["loss"] for r in history[:25]], [r["loss"] for r in history[-25:]]
        summary["loss_first_25"], summary["loss_last_25"] = float(np.mean(first)), float(np.mean(last))
        print(f"loss: first 25 steps {summary['loss_first_25']:.3f}, last 25 steps {summary['loss_last_25']:.3f}")
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
