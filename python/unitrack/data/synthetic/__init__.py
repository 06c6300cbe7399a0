"""A deterministic synthetic benchmark for all five UniTrack tasks (+ pose propagation) that needs no download.

``generate_benchmark(out_dir, seed=0, size="small")`` renders short videos of procedurally textured objects and
articulated figures and writes them, with ground truth and noisy detections, in the *standard* dataset layouts, so
that exactly the same readers, heads and metrics run on it as on the real datasets::

    <out>/otb/        OTB-2015:    <Video>/img/0001.jpg, <Video>/groundtruth_rect.txt, OTB2015.json (pysot)
    <out>/davis/      DAVIS-2017:  JPEGImages/480p/<seq>/00000.jpg, Annotations/480p/<seq>/00000.png (palette),
                                   ImageSets/2017/{val,train}.txt
    <out>/jhmdb/      JHMDB-like:  Frames/<video>/00001.png, joint_positions/<video>/joint_positions.mat (pos_img
                                   2x15xT, 1-based), testlist_split1.txt ("<abs .mat> <abs frames dir>")
    <out>/mot/        MOT17-like:  train/<seq>/{seqinfo.ini, img1/, gt/gt.txt, det/det.txt}, seqmaps/SYNTH-train.txt
    <out>/mots/       MOTS-like:   train/<seq>/{seqinfo.ini, img1/, gt/gt.txt, det/det.txt} (COCO RLE),
                                   seqmaps/SYNTH-MOTS-train.txt
    <out>/posetrack/  PoseTrack-18: images/val/<seq>/000000.jpg, annotations/val/<seq>.json,
                                   detections/val/<seq>.json (noisy poses, track_id -1)
    <out>/MANIFEST.json  tasks, sequences, seed, generator version, SHA-256 of the content

Command line (:mod:`unitrack.cli.synth`): ``unitrack synth --out DIR [--seed 0] [--size small|tiny] [--tasks sot,vos]``,
also ``python -m unitrack.data.synthetic ...``.

What it contains
----------------
* **Textures.** Every object has its own procedural texture (value noise, sinusoid grating, rotated checkers,
  stripes or dots in random colours, modulated by a third colour); backgrounds blend two such textures by a smooth
  region map and pan slowly (camera motion); a slowly varying global gain changes the illumination. Frames are
  lightly blurred and JPEG-compressed (quality 90; JHMDB frames are PNG as in JHMDB).
* **SOT** (OTB layout): one textured target per video that translates along a smooth random path, scales (0.7-1.5x
  over the video) and rotates slowly, plus 2-3 distractors, one of which is a *look-alike* (same texture kind,
  similar hue, different shape) that crosses the target's position mid-video in front of or behind it (so a
  colour-histogram or motion-only tracker drifts to it). ``attr`` tags: BC always, OCC / SV / IPR when they occur.
* **VOS** (DAVIS layout): 1-3 annotated objects (shapes; sometimes one articulated figure with thin limbs) that
  start well separated, then wander, scale and occlude each other (exact visible masks, every frame annotated),
  plus 1-2 *unannotated* moving distractors (one a look-alike of object 1) which are background.
* **Pose propagation** (JHMDB layout): one large 15-joint stick figure (JHMDB joint order) drawn with thick
  textured limbs, torso and head, doing walk / wave / squat / clap with smoothly varying joint angles and turning
  (yaw), under camera panning, with a distractor passing behind (sometimes in front of) it.
* **MOT** (MOT17 layout): walking figures (class 1) with perspective scaling, entering and leaving the frame;
  a static person (class 7) and a frozen mannequin-like figure (class 8), both ``conf = 0``; crossing pairs
  that meet at the same point and frame and then alternately pass or *both turn back* (after a turn the motion
  model cannot tell them apart, only appearance can); ``visibility`` = visible / full mask area (occlusion by
  other objects and the frame border). ``det.txt``: GT boxes with ~5 % jitter, ~6 % misses (more under
  occlusion, none below 15 % visibility), false positives (Poisson 0.6 per frame, mostly low scores).
* **MOTS** (MOTSChallenge layout): the same kind of scene with exact, disjoint visible masks (id 2000+k, class 2);
  ``det.txt`` masks are dilated/eroded and shifted by a pixel, with misses and false-positive blobs, made
  disjoint by a random priority.
* **PoseTrack** (PoseTrack-18 layout): 3-5 large walking figures, about half of them in crossing pairs; GT
  keypoints (17, PoseTrack order; ears unused) with ``v = 1`` for joints inside the image (occluded ones
  included, as annotators do); detections with joint jitter (1.5 % of the height for visible joints, 5 % and low
  scores for occluded ones), misses and false-positive poses.

What it measures, and its limits
--------------------------------
It is a *smoke and sanity* benchmark: it checks that a representation, a head and the whole evaluation pipeline
(readers -> heads -> writers -> metrics) work end to end and that appearance is actually used (look-alike
distractors, crossing trajectories where motion alone fails, occlusions). Relative comparisons are meaningful
only for large effects: e.g. a random-feature model versus an ImageNet-pretrained one, appearance-on versus
motion-only association, a broken versus a fixed implementation. It does **not** predict the numbers on the real
datasets: objects are rigid textured polygons or stick figures with no semantics, no deformation of texture with
articulation, no lighting or shading, no motion blur, no real camera perspective or clutter; textures are
stationary patterns which low-level features (colour statistics) can already separate in many cases; sequences are
short (tens of frames) and small (240x320), so the feature maps are 30x40 cells and thin limbs (a few pixels)
are below the stride-8 resolution for VOS/pose (as thin structures are at 480p). The "480p" folder names are kept for
layout compatibility although frames are 240x320. Detections are simulated by perturbing the ground truth, so
their error statistics are simpler than a real detector's. Generation is deterministic: the same seed, size and
library versions (numpy, OpenCV, Pillow, pycocotools, scipy) give byte-identical files; different library versions
may change JPEG/PNG bytes but not the ground truth.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ...tasks import TASK_NAMES
from ...tasks import TASKS as TASK_TABLE
from . import writers
from .scenes import (
    make_mot_sequence,
    make_mots_sequence,
    make_poseprop_sequence,
    make_posetrack_sequence,
    make_sot_sequence,
    make_vos_sequence,
)

__all__ = [
    "TASKS",
    "TASK_ROOTS",
    "PRESETS",
    "GENERATOR_VERSION",
    "Preset",
    "generate_benchmark",
    "content_hash",
    "add_parser",
    "main",
]

GENERATOR_VERSION = "1.0"
#: task name -> dataset folder under the output directory, from the task table (its order fixes the per-task
#: random streams).
TASK_ROOTS = {t.name: t.folder for t in TASK_TABLE}
TASKS = TASK_NAMES
_FORMATS = {t.name: t.data_format for t in TASK_TABLE}
#: files whose content depends on the absolute output path (excluded from the content hash)
PATH_DEPENDENT = ("jhmdb/testlist_split1.txt",)


@dataclass(frozen=True)
class Preset:
    """Sizes of one benchmark preset: frame size and (number of sequences, frames per sequence) per task."""

    H: int
    W: int
    sot: tuple
    vos: tuple
    vos_train: int
    poseprop: tuple
    mot: tuple
    mots: tuple
    posetrack: tuple
    mot_people: int
    pose_people: int


PRESETS = {
    "tiny": Preset(
        120,
        160,
        sot=(2, 10),
        vos=(2, 10),
        vos_train=1,
        poseprop=(2, 10),
        mot=(2, 12),
        mots=(2, 10),
        posetrack=(2, 10),
        mot_people=4,
        pose_people=3,
    ),
    "small": Preset(
        240,
        320,
        sot=(4, 40),
        vos=(3, 30),
        vos_train=1,
        poseprop=(4, 30),
        mot=(3, 40),
        mots=(2, 30),
        posetrack=(3, 30),
        mot_people=7,
        pose_people=4,
    ),
}


def _rng(seed: int, task: str, index: int) -> np.random.Generator:
    """Independent stream per (seed, task, sequence): generating a subset of tasks gives the same files."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TASKS.index(task), index)))


def content_hash(root: Path, rel_dirs: list) -> tuple[str, int]:
    """SHA-256 over ``(relative path, file SHA-256)`` of every file under ``root/<rel_dir>`` (sorted), excluding
    :data:`PATH_DEPENDENT`; returns ``(hex digest, number of files)``."""
    h = hashlib.sha256()
    n = 0
    files = sorted(p for d in rel_dirs for p in (root / d).rglob("*") if p.is_file())
    for p in files:
        rel = p.relative_to(root).as_posix()
        if rel in PATH_DEPENDENT:
            continue
        h.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).hexdigest().encode() + b"\n")
        n += 1
    return h.hexdigest(), n


def _parse_tasks(tasks) -> list:
    if tasks is None:
        return list(TASKS)
    if isinstance(tasks, str):
        tasks = [t for t in tasks.split(",") if t]
    tasks = list(tasks)
    bad = [t for t in tasks if t not in TASK_ROOTS]
    if bad or not tasks:
        raise ValueError(f"generate_benchmark: tasks must be a non-empty subset of {list(TASKS)}, got {tasks}")
    return [t for t in TASKS if t in tasks]  # canonical order, no duplicates


def generate_benchmark(
    out_dir, *, seed: int = 0, size: str = "small", tasks=None, overwrite: bool = False, progress: bool = True
) -> dict:
    """Render the synthetic benchmark and write it under ``out_dir`` in the standard layouts (see module doc).

    Args:
        out_dir: output directory (created).
        seed: integer seed; the same seed, size and library versions give byte-identical files.
        size: "small" (default benchmark, 240x320, 20-40 frames) or "tiny" (tests, 120x160, 10-12 frames).
        tasks: subset of ``TASKS`` ("sot", "vos", "poseprop", "mot", "mots", "posetrack"), list or comma string;
            None = all. Each task has its own random stream, so a subset gives the same files as the full run.
        overwrite: replace existing task folders (otherwise a non-empty task folder is an error).
        progress: show a tqdm bar over sequences.

    Returns:
        dict task -> dataset root ``Path`` (e.g. ``{"sot": out/otb, ...}``) plus ``"manifest"`` -> MANIFEST.json.
    """
    if size not in PRESETS:
        raise ValueError(f"generate_benchmark: size must be one of {list(PRESETS)}, got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"generate_benchmark: seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    tasks = _parse_tasks(tasks)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"generate_benchmark: out_dir {out} exists and is not a directory")
    for t in tasks:
        d = out / TASK_ROOTS[t]
        if d.exists() and not d.is_dir():
            raise ValueError(f"generate_benchmark: {d} exists and is not a directory")
        if d.exists() and any(d.iterdir()) and not overwrite:
            raise FileExistsError(f"generate_benchmark: {d} is not empty (pass overwrite=True / --overwrite)")
    created_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _generate(out, seed, size, tasks, progress)
    except BaseException:
        # an error or Ctrl-C: remove what this call wrote (half-written task folders, a manifest that no longer
        # matches them), so the next run starts clean instead of trusting partial data
        for t in tasks:
            shutil.rmtree(out / TASK_ROOTS[t], ignore_errors=True)
        (out / "MANIFEST.json").unlink(missing_ok=True)
        if created_out:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _generate(out: Path, seed: int, size: str, tasks: list, progress: bool) -> dict:
    """The body of :func:`generate_benchmark` once its arguments are checked (it cleans up after a failure)."""
    p = PRESETS[size]
    for t in tasks:
        d = out / TASK_ROOTS[t]
        if d.exists():
            shutil.rmtree(d)
    H, W = p.H, p.W
    n_seqs = {
        "sot": p.sot[0],
        "vos": p.vos[0] + p.vos_train,
        "poseprop": p.poseprop[0],
        "mot": p.mot[0],
        "mots": p.mots[0],
        "posetrack": p.posetrack[0],
    }
    bar = tqdm(total=sum(n_seqs[t] for t in tasks), desc="synthetic benchmark", unit="seq", disable=not progress)
    seqs_by_task: dict = {}
    t0 = time.perf_counter()

    def step(task: str, seq):
        bar.update(1)
        bar.set_postfix_str(f"{task}:{seq.name}")
        return seq

    for task in tasks:
        root = out / TASK_ROOTS[task]
        root.mkdir(parents=True, exist_ok=True)
        if task == "sot":
            n, T = p.sot
            seqs = [step(task, make_sot_sequence(_rng(seed, task, i), f"Synth{i + 1:02d}", T, H, W)) for i in range(n)]
            names = writers.write_otb(root, seqs)
        elif task == "vos":
            n, T = p.vos
            k_objects = [2, 3, 1, 3, 2]

            def vos(i: int, name: str, task=task, T=T, k_objects=k_objects):
                r = _rng(seed, task, i)
                return step(task, make_vos_sequence(r, name, T, H, W, k_objects[i % len(k_objects)]))

            val = [vos(i, f"synth-vos-{i + 1:02d}") for i in range(n)]
            train = [vos(100 + i, f"synth-vos-train-{i + 1:02d}") for i in range(p.vos_train)]
            names = writers.write_davis(root, val, train)
            seqs = val
        elif task == "poseprop":
            n, T = p.poseprop
            actions = ("wave", "walk", "squat", "clap")
            seqs = [
                step(
                    task,
                    make_poseprop_sequence(
                        _rng(seed, task, i), f"synth_{actions[i % 4]}_{i + 1:02d}", T, H, W, action=actions[i % 4]
                    ),
                )
                for i in range(n)
            ]
            names = writers.write_jhmdb(root, seqs)
        elif task == "mot":
            n, T = p.mot
            seqs = [
                step(
                    task, make_mot_sequence(_rng(seed, task, i), f"SYNTH-{i + 1:02d}", T, H, W, p.mot_people + (i % 2))
                )
                for i in range(n)
            ]
            names = writers.write_mot(root, seqs)
        elif task == "mots":
            n, T = p.mots
            seqs = [
                step(
                    task,
                    make_mots_sequence(
                        _rng(seed, task, i), f"SYNTH-MOTS-{i + 1:02d}", T, H, W, p.mot_people - 1 + (i % 2)
                    ),
                )
                for i in range(n)
            ]
            names = writers.write_mots(root, seqs)
        else:
            n, T = p.posetrack
            seqs = [
                step(
                    task,
                    make_posetrack_sequence(
                        _rng(seed, task, i), f"{i + 1:06d}_synth", i + 1, T, H, W, p.pose_people + (i % 2)
                    ),
                )
                for i in range(n)
            ]
            names = writers.write_posetrack(root, seqs)
        seqs_by_task[task] = {
            "root": TASK_ROOTS[task],
            "format": _FORMATS[task],
            "sequences": names,
            "frames": [len(s.frames) for s in seqs],
        }
    bar.close()
    digest, n_files = content_hash(out, [TASK_ROOTS[t] for t in tasks])
    manifest = {
        "generator": "unitrack.data.synthetic",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "size": size,
        "frame_size": [H, W],
        "tasks": seqs_by_task,
        "n_files": n_files,
        "content_sha256": digest,
        "path_dependent_files": [f for f in PATH_DEPENDENT if f.split("/")[0] in {TASK_ROOTS[t] for t in tasks}],
    }
    man = out / "MANIFEST.json"
    from .._atomic import atomic_write_text

    atomic_write_text(man, json.dumps(manifest, indent=1) + "\n")
    result = {t: out / TASK_ROOTS[t] for t in tasks}
    result["manifest"] = man
    if progress:
        print(
            f"synthetic benchmark ({size}, seed {seed}): {n_files} files in {time.perf_counter() - t0:.1f} s -> {out}"
        )
    return result


def __getattr__(name: str):
    # Compatibility re-export: the `synth` command line (add_parser, main) moved to unitrack.cli.synth; data/ does not
    # import the CLI, so it is looked up only when asked for.
    if name in ("add_parser", "main"):
        from ...cli import synth  # compatibility re-export

        return getattr(synth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
