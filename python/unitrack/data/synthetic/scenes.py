"""Scene and trajectory generators of the synthetic benchmark, one per task.

Each ``make_*_sequence(rng, name, T, H, W)`` renders a whole sequence in memory and returns a small dataclass with
the frames (``list of [H, W, 3] uint8 RGB``) and the ground truth in 0-based pixel coordinates; writers.py turns it
into the standard on-disk layout. All randomness comes from the ``rng`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from scipy.interpolate import CubicSpline

from ..skeletons import POSETRACK18_KEYPOINTS
from .render import (
    TEXTURE_KINDS,
    Composite,
    FigureActor,
    ShapeActor,
    compose,
    finish_frame,
    make_background,
    make_texture,
    random_colors,
    random_shape,
)

__all__ = [
    "SotSequence",
    "VosSequence",
    "PosePropSequence",
    "MotSequence",
    "MotsSequence",
    "PoseTrackSequence",
    "make_sot_sequence",
    "make_vos_sequence",
    "make_poseprop_sequence",
    "make_mot_sequence",
    "make_mots_sequence",
    "make_posetrack_sequence",
    "jhmdb_to_posetrack",
]

TEX = 96  # texture tile size


# --------------------------------------------------------------------------------------------------- containers
@dataclass
class SotSequence:
    """``boxes``: ``[T, 4]`` x, y, w, h (0-based) of the target, clipped to the image; ``attr``: OTB-style tags."""

    name: str
    frames: list
    boxes: np.ndarray
    attr: list
    visibility: np.ndarray


@dataclass
class VosSequence:
    """``labels``: per frame ``[H, W] uint8`` (0 background, 1..K objects); ``n_objects`` = K."""

    name: str
    frames: list
    labels: list
    n_objects: int


@dataclass
class PosePropSequence:
    """``joints``: ``[T, 15, 2]`` JHMDB joints (0-based pixel coordinates, pixel-centre convention)."""

    name: str
    frames: list
    joints: np.ndarray


@dataclass
class MotSequence:
    """``gt``: rows ``(frame 1-based, id 1-based, x, y, w, h (0-based), conf, class, visibility)``;
    ``dets``: rows ``(frame, x, y, w, h (0-based), score)``."""

    name: str
    frames: list
    gt: list
    dets: list
    frame_rate: int = 30


@dataclass
class MotsSequence:
    """``gt``: rows ``(frame 1-based, id (2000+k), class 2, rle dict)``; ``dets``: rows ``(frame, id, 2, rle)``."""

    name: str
    frames: list
    gt: list
    dets: list
    frame_rate: int = 30


@dataclass
class PoseTrackSequence:
    """``gt[t]``: list of dicts {track_id, keypoints [17, 3], bbox [4], bbox_head [4]} (0-based pixels);
    ``dets[t]``: list of dicts {keypoints [17, 3], scores [17], bbox [4], bbox_head [4], score}."""

    name: str
    vid_id: int
    frames: list
    gt: list
    dets: list = field(default_factory=list)


# -------------------------------------------------------------------------------------------------- trajectories
def smooth_noise(rng: np.random.Generator, T: int, *, cycles: float = 1.5, n: int = 3) -> np.ndarray:
    """Smooth zero-mean noise ``[T]`` with values in about [-1, 1] (sum of ``n`` random low-frequency sines)."""
    t = np.linspace(0.0, 1.0, T)
    out = np.zeros(T)
    for _ in range(n):
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(0.2, cycles) * t + rng.random() * 6.283)
    return out / n


def spline_path(points: np.ndarray, times: np.ndarray, T: int) -> np.ndarray:
    """``[T, 2]`` smooth path passing exactly through ``points [K, 2]`` at frame ``times [K]`` (cubic spline)."""
    times = np.asarray(times, np.float64)
    if len(points) == 2:
        a = (np.arange(T) - times[0]) / max(times[1] - times[0], 1e-6)
        return points[0][None] + a[:, None] * (points[1] - points[0])[None]
    return CubicSpline(times, np.asarray(points, np.float64), bc_type="natural")(np.arange(T))


def random_path(
    rng: np.random.Generator, T: int, lo: np.ndarray, hi: np.ndarray, *, n_way: int = 4, max_step: float = 4.0
) -> np.ndarray:
    """Smooth random path ``[T, 2]`` through ``n_way`` random waypoints in the box [lo, hi]; successive waypoints
    are at most ``max_step * (T / (n_way - 1))`` apart (a speed limit in px/frame)."""
    times = np.linspace(0, T - 1, n_way)
    pts = [lo + rng.random(2) * (hi - lo)]
    span = max_step * (times[1] - times[0]) if n_way > 1 else 0
    for _ in range(n_way - 1):
        step = rng.uniform(-1, 1, 2) * span
        pts.append(np.clip(pts[-1] + step, lo, hi))
    return np.clip(spline_path(np.array(pts), times, T), lo, hi)


# -------------------------------------------------------------------------------------------------- appearances
def appearance(
    rng: np.random.Generator, *, kind: str | None = None, hue: float | None = None
) -> tuple[np.ndarray, str, float]:
    """A texture tile ``[TEX, TEX, 3]`` for an object plus its kind and main hue (for look-alikes)."""
    if kind is None:
        kind = TEXTURE_KINDS[int(rng.integers(len(TEXTURE_KINDS)))]
    if hue is None:
        hue = float(rng.random())
    colors = random_colors(rng, 3, hue=hue)
    # the second colour contrasts in value so that the pattern itself is visible
    colors[1] = np.clip(255 - colors[1].astype(np.int32) // 2 - 40, 0, 255).astype(np.uint8)
    return make_texture(rng, TEX, TEX, kind=kind, colors=colors, scale=float(rng.uniform(0.6, 1.2))), kind, hue


def shape_actor(
    rng: np.random.Generator,
    path: np.ndarray,
    half: np.ndarray,
    *,
    aspect: float = 1.0,
    depth: float | np.ndarray = 0.0,
    spin: float = 0.0,
    tile: np.ndarray | None = None,
    shape: str | None = None,
) -> ShapeActor:
    """A textured shape following ``path [T, 2]`` with per-frame half size ``half [T]`` (px)."""
    T = len(path)
    if tile is None:
        tile = appearance(rng)[0]
    theta = rng.uniform(-0.3, 0.3) + spin * np.arange(T)
    depth = np.broadcast_to(np.asarray(depth, np.float64), (T,)).copy()
    return ShapeActor(
        random_shape(rng, shape),
        tile,
        path[:, 0].copy(),
        path[:, 1].copy(),
        half * np.sqrt(aspect),
        half / np.sqrt(aspect),
        theta,
        depth,
    )


# ------------------------------------------------------------------------------------------------------ figures
def figure_angles(
    rng: np.random.Generator, T: int, action: str, *, fps: float = 30.0, gait_hz: float | None = None
) -> dict:
    """Smoothly varying joint angles ``{name: [T]}`` for ``action`` in {"walk", "wave", "squat", "clap",
    "stand"} (see :class:`FigureActor` for the angle conventions)."""
    t = np.arange(T) / fps
    z = np.zeros(T)
    a = {
        "r_shoulder": z - 0.15,
        "l_shoulder": z + 0.15,
        "r_elbow": z - 0.15,
        "l_elbow": z + 0.15,
        "r_hip": z - 0.04,
        "l_hip": z + 0.04,
        "r_knee": z.copy(),
        "l_knee": z.copy(),
        "head": z.copy(),
    }
    ph = rng.random() * 6.283
    if action == "walk":
        f = gait_hz if gait_hz is not None else rng.uniform(1.0, 1.6)
        s = np.sin(2 * np.pi * f * t + ph)
        amp = rng.uniform(0.3, 0.5)
        a["r_hip"] = amp * s
        a["l_hip"] = -amp * s
        a["r_knee"] = -np.maximum(0, -np.sin(2 * np.pi * f * t + ph - 1.2)) * 0.7
        a["l_knee"] = -np.maximum(0, np.sin(2 * np.pi * f * t + ph - 1.2)) * 0.7
        a["r_shoulder"] = -amp * 0.8 * s
        a["l_shoulder"] = amp * 0.8 * s
        a["r_elbow"] = a["r_shoulder"] * 0.5 - 0.2
        a["l_elbow"] = a["l_shoulder"] * 0.5 + 0.2
    elif action == "wave":
        f = rng.uniform(1.0, 2.0)
        ramp = np.clip(t / max(t[-1], 1e-6) * 3, 0, 1)
        a["r_shoulder"] = -0.15 - ramp * rng.uniform(2.0, 2.6)
        a["r_elbow"] = -ramp * (0.4 + 0.6 * np.sin(2 * np.pi * f * t + ph))
    elif action == "squat":
        f = rng.uniform(0.5, 1.0)
        b = 0.5 - 0.5 * np.cos(2 * np.pi * f * t + ph)
        a["r_hip"] = b * -1.0
        a["l_hip"] = b * -1.0
        a["r_knee"] = b * 2.0
        a["l_knee"] = b * 2.0
        a["r_shoulder"] = -0.15 - b * 1.3
        a["l_shoulder"] = 0.15 + b * 1.3
    elif action == "clap":
        f = rng.uniform(1.0, 2.0)
        b = 0.5 - 0.5 * np.cos(2 * np.pi * f * t + ph)
        a["r_shoulder"] = -0.6 - 0.9 * b
        a["l_shoulder"] = 0.6 + 0.9 * b
        a["r_elbow"] = 1.2 + 0.6 * b
        a["l_elbow"] = -1.2 - 0.6 * b
    elif action != "stand":
        raise ValueError(f"figure_angles: unknown action {action!r}")
    for k in a:  # individual variation
        a[k] = a[k] + 0.12 * smooth_noise(rng, T, cycles=1.0)
    return a


def leg_extent(angles: dict, height: np.ndarray) -> np.ndarray:
    """Vertical distance ``[T]`` from the hip centre down to the lower ankle."""
    th, sh = FigureActor.THIGH, FigureActor.SHIN
    legs = [th * np.cos(angles[f"{p}_hip"]) + sh * np.cos(angles[f"{p}_hip"] + angles[f"{p}_knee"]) for p in ("r", "l")]
    return np.maximum(legs[0], legs[1]) * height


def figure_actor(
    rng: np.random.Generator,
    feet: np.ndarray,
    height: np.ndarray,
    action: str,
    *,
    yaw: np.ndarray | float = 0.0,
    depth: np.ndarray | float | None = None,
    gait_hz: float | None = None,
) -> FigureActor:
    """A figure standing with its lower ankle on ``feet [T, 2]`` (ground point), per-frame ``height [T]``."""
    T = len(feet)
    ang = figure_angles(rng, T, action, gait_hz=gait_hz)
    ry = feet[:, 1] - leg_extent(ang, height)
    up, _, _ = appearance(rng)
    lo, _, _ = appearance(rng)
    skin = np.array([rng.integers(120, 240), rng.integers(80, 200), rng.integers(60, 170)], np.uint8)
    yaw = np.broadcast_to(np.asarray(yaw, np.float64), (T,)).copy()
    lean = 0.06 * smooth_noise(rng, T)
    d = feet[:, 1].copy() if depth is None else np.broadcast_to(np.asarray(depth, np.float64), (T,)).copy()
    return FigureActor(feet[:, 0].copy(), ry, np.asarray(height, np.float64), yaw, lean, ang, d, up, lo, skin)


# ------------------------------------------------------------------------------------------------------- scenes
@dataclass
class _Scene:
    background: np.ndarray  # [H + 2m, W + 2m, 3]
    cam: np.ndarray  # [T, 2] int offsets of the crop
    gain: np.ndarray  # [T]
    actors: list
    H: int
    W: int

    def render(self, t: int) -> tuple[np.ndarray, Composite]:
        ox, oy = int(self.cam[t, 0]), int(self.cam[t, 1])
        bg = self.background[oy : oy + self.H, ox : ox + self.W]
        comp = compose(bg, self.actors, t)
        return finish_frame(comp.image, float(self.gain[t])), comp


def _scene(rng: np.random.Generator, T: int, H: int, W: int, actors: list, *, pan: float = 0.06) -> _Scene:
    m = max(4, int(pan * min(H, W)))
    bg = make_background(rng, H + 2 * m, W + 2 * m)
    cam = np.round(m + m * np.stack([smooth_noise(rng, T, cycles=0.7), smooth_noise(rng, T, cycles=0.7)], 1))
    cam = np.clip(cam, 0, 2 * m).astype(np.int64)
    gain = 1.0 + 0.08 * smooth_noise(rng, T, cycles=1.0)
    return _Scene(bg, cam, gain, actors, H, W)


def _clip_box(box: np.ndarray, H: int, W: int) -> np.ndarray:
    x1, y1 = max(box[0], 0.0), max(box[1], 0.0)
    x2, y2 = min(box[0] + box[2], float(W)), min(box[1] + box[3], float(H))
    return np.array([x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0)])


# ---------------------------------------------------------------------------------------------------------- SOT
def make_sot_sequence(rng: np.random.Generator, name: str, T: int, H: int, W: int) -> SotSequence:
    """One target (textured shape that moves, scales, rotates slowly) with 2-3 distractors; one look-alike
    distractor (same texture kind, similar hue) crosses the target's path mid-sequence, in front of or behind it."""
    S = min(H, W)
    half0 = rng.uniform(0.07, 0.11) * S
    s_end = float(np.exp(rng.uniform(np.log(0.7), np.log(1.5))))
    half = half0 * np.exp(np.log(s_end) * np.linspace(0, 1, T) + 0.1 * smooth_noise(rng, T))
    margin = np.array([0.18 * W, 0.18 * H])
    lo, hi = margin, np.array([W, H]) - margin
    path = random_path(rng, T, lo, hi, max_step=0.012 * S)
    tile, kind, hue = appearance(rng)
    spin = rng.uniform(-0.02, 0.02)
    target = shape_actor(rng, path, half, aspect=float(rng.uniform(0.6, 1.6)), depth=0.0, spin=spin, tile=tile)
    actors = [target]
    # look-alike distractor crossing the target at t_meet
    tm = int(rng.integers(int(0.35 * T), max(int(0.65 * T), int(0.35 * T) + 1)))
    a0 = np.array([rng.uniform(0, W), rng.choice([-0.1 * H, 1.1 * H])])
    a1 = np.array([W - a0[0], H - a0[1]])
    la_path = spline_path(np.array([a0, path[tm], a1]), np.array([0, tm, T - 1]), T)
    la_tile = appearance(rng, kind=kind, hue=hue)[0]
    in_front = bool(rng.random() < 0.5)
    actors.append(
        shape_actor(
            rng,
            la_path,
            half * rng.uniform(0.6, 0.85),
            aspect=float(rng.uniform(0.7, 1.4)),
            depth=1.0 if in_front else -1.0,
            tile=la_tile,
        )
    )
    for _ in range(int(rng.integers(1, 3))):
        p = random_path(rng, T, np.zeros(2), np.array([W, H], np.float64), max_step=0.02 * S)
        actors.append(
            shape_actor(
                rng,
                p,
                np.full(T, rng.uniform(0.05, 0.1) * S),
                aspect=float(rng.uniform(0.5, 2)),
                depth=float(rng.choice([-2.0, 2.0])),
                spin=rng.uniform(-0.05, 0.05),
            )
        )
    scene = _scene(rng, T, H, W, actors)
    frames, boxes, vis = [], np.zeros((T, 4)), np.zeros(T)
    for t in range(T):
        img, comp = scene.render(t)
        frames.append(img)
        boxes[t] = _clip_box(comp.rendered[0].box(), H, W)
        vis[t] = comp.visibility[0]
    attr = ["BC"]
    if vis.min() < 0.7:
        attr.append("OCC")
    if max(s_end, 1 / s_end) > 1.3:
        attr.append("SV")
    if abs(spin) * T > 0.5:
        attr.append("IPR")
    return SotSequence(name, frames, boxes, sorted(attr), vis)


# ---------------------------------------------------------------------------------------------------------- VOS
def make_vos_sequence(rng: np.random.Generator, name: str, T: int, H: int, W: int, n_objects: int) -> VosSequence:
    """``n_objects`` annotated objects (shapes, sometimes one articulated figure) well separated in frame 0, then
    wandering and crossing; 1-2 unannotated distractors (one a look-alike of object 1) are background."""
    if not 1 <= n_objects <= 4:
        raise ValueError(f"make_vos_sequence: n_objects must be in 1..4, got {n_objects}")
    S = min(H, W)
    cells = [(0.25, 0.3), (0.75, 0.3), (0.25, 0.72), (0.75, 0.72)]
    order = rng.permutation(4)
    actors, kinds = [], []
    for i in range(n_objects):
        cx, cy = cells[order[i]]
        start = np.array([cx * W, cy * H]) + rng.uniform(-0.05, 0.05, 2) * S
        use_fig = i == n_objects - 1 and n_objects >= 2 and rng.random() < 0.5
        if use_fig:
            height = np.full(T, rng.uniform(0.35, 0.45) * H)
            feet0 = start + np.array([0, height[0] * 0.45])
            way = [feet0]
            for _ in range(2):
                way.append(way[-1] + rng.uniform(-0.15, 0.15, 2) * S)
            p = spline_path(np.array(way), np.array([0, T // 2, T - 1]), T)
            actors.append(figure_actor(rng, p, height, str(rng.choice(["wave", "walk", "clap"])), depth=float(i)))
            kinds.append(None)
        else:
            half = rng.uniform(0.08, 0.12) * S * np.exp(0.2 * smooth_noise(rng, T))
            way = [start]
            for _ in range(2):
                way.append(np.clip(way[-1] + rng.uniform(-0.3, 0.3, 2) * S, [0.1 * W, 0.1 * H], [0.9 * W, 0.9 * H]))
            p = spline_path(np.array(way), np.array([0, T // 2, T - 1]), T)
            tile, kind, hue = appearance(rng)
            kinds.append((kind, hue))
            actors.append(
                shape_actor(
                    rng,
                    p,
                    half,
                    aspect=float(rng.uniform(0.6, 1.6)),
                    depth=float(i),
                    spin=rng.uniform(-0.03, 0.03),
                    tile=tile,
                )
            )
    n_distr = int(rng.integers(1, 3))
    for j in range(n_distr):
        look = kinds[0] if (j == 0 and kinds[0] is not None) else (None, None)
        tile = appearance(rng, kind=look[0], hue=look[1])[0]
        p0 = np.array([rng.choice([-0.1 * W, 1.1 * W]), rng.uniform(0.2, 0.8) * H])
        p = spline_path(
            np.array(
                [p0, [rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H], [W - p0[0], rng.uniform(0.2, 0.8) * H]]
            ),
            np.array([0, T // 2, T - 1]),
            T,
        )
        actors.append(
            shape_actor(rng, p, np.full(T, rng.uniform(0.06, 0.1) * S), depth=float(rng.choice([-1, 10])), tile=tile)
        )
    scene = _scene(rng, T, H, W, actors)
    frames, labels = [], []
    lut = np.zeros(len(actors) + 1, np.uint8)  # owner -1 -> index 0 -> background
    lut[1 : n_objects + 1] = np.arange(1, n_objects + 1)
    for t in range(T):
        img, comp = scene.render(t)
        frames.append(img)
        labels.append(lut[comp.owner.astype(np.int64) + 1])
    present = np.unique(labels[0])
    if len(present) != n_objects + 1:  # cannot happen with the separated start cells; guard anyway
        raise RuntimeError(f"make_vos_sequence({name}): not every object is visible in frame 0 ({present})")
    return VosSequence(name, frames, labels, n_objects)


# ---------------------------------------------------------------------------------------------- pose propagation
def make_poseprop_sequence(
    rng: np.random.Generator, name: str, T: int, H: int, W: int, action: str | None = None
) -> PosePropSequence:
    """JHMDB-like: one large articulated figure doing ``action`` (random) with a panning camera and a textured
    distractor passing behind (or briefly in front of) it."""
    actions = ("walk", "wave", "squat", "clap")
    if action is None:
        action = actions[int(rng.integers(len(actions)))]
    height = np.full(T, rng.uniform(0.6, 0.75) * H) * np.exp(0.05 * smooth_noise(rng, T))
    x0 = rng.uniform(0.4, 0.6) * W
    drift = rng.uniform(-0.15, 0.15) * W if action == "walk" else rng.uniform(-0.04, 0.04) * W
    feet = np.stack([x0 + drift * np.linspace(-0.5, 0.5, T), np.full(T, 0.9 * H) + 2 * smooth_noise(rng, T)], 1)
    yaw = rng.uniform(-0.5, 0.5) + (np.sign(drift) * 1.2 if action == "walk" else 0.0) + 0.2 * smooth_noise(rng, T)
    fig = figure_actor(rng, feet, height, action, yaw=yaw, depth=0.0)
    p0 = np.array([rng.choice([-0.15 * W, 1.15 * W]), rng.uniform(0.2, 0.8) * H])
    p = spline_path(np.array([p0, [W - p0[0], rng.uniform(0.2, 0.8) * H]]), np.array([0, T - 1]), T)
    dist = shape_actor(
        rng, p, np.full(T, rng.uniform(0.07, 0.12) * min(H, W)), depth=float(rng.choice([-1.0, -1.0, 1.0]))
    )
    scene = _scene(rng, T, H, W, [fig, dist])
    frames, joints = [], np.zeros((T, 15, 2))
    for t in range(T):
        img, comp = scene.render(t)
        frames.append(img)
        joints[t] = comp.rendered[0].joints - 0.5  # continuous -> pixel-index coordinates
    return PosePropSequence(name, frames, joints)


# -------------------------------------------------------------------------------------------- pedestrian scenes
def _pedestrians(
    rng: np.random.Generator, T: int, H: int, W: int, n: int, *, h_range: tuple[float, float], n_cross: int
) -> tuple[list, list]:
    """``n`` walking figures (people) with perspective (lower on the image = bigger and nearer) entering, leaving
    and crossing; the first ``2 * n_cross`` form meet-and-turn or meet-and-pass pairs (alternately, starting with
    a turn): both reach the same point at the same frame (one hides the other) and then either continue or both
    turn back; after a turn the motion model cannot tell which is which, only appearance can.
    Returns (actors, kinds) where kind is "walk", "turn" or "pass"."""
    actors, kinds = [], []

    def height_at(y: np.ndarray) -> np.ndarray:
        return (h_range[0] + (h_range[1] - h_range[0]) * np.clip((y - 0.45 * H) / (0.55 * H), 0, 1)) * H

    for c in range(n_cross):
        tm = int(rng.integers(int(0.3 * T), max(int(0.7 * T), int(0.3 * T) + 1)))
        meet = np.array([rng.uniform(0.3, 0.7) * W, rng.uniform(0.7, 0.95) * H])
        speed = rng.uniform(0.006, 0.01) * W
        bounce = c % 2 == 0  # the first pair of every scene turns back, the next passes, ...
        u = np.arange(T, dtype=np.float64) - tm
        for side in (-1, 1):
            if bounce:  # approach, slow down, turn back exactly at tm
                dx = side * speed * (np.sqrt(u * u + 4.0) - 2.0)
            else:  # pass through
                dx = -side * speed * u
            dy = side * 0.005 * H + rng.uniform(-0.04, 0.04) * H * u / T
            feet = np.stack([meet[0] + dx, meet[1] + dy], 1)
            vx = np.gradient(feet[:, 0])
            yaw = np.where(vx >= 0, 1.2, -1.2) + 0.1 * smooth_noise(rng, T)
            actors.append(figure_actor(rng, feet, height_at(feet[:, 1]), "walk", yaw=yaw, gait_hz=1.0 + 0.15 * speed))
            kinds.append("turn" if bounce else "pass")
    for _ in range(n - 2 * n_cross):
        y = rng.uniform(0.6, 1.0) * H
        direction = rng.choice([-1.0, 1.0])
        speed = rng.uniform(0.003, 0.01) * W
        x_start = rng.uniform(-0.1, 1.1) * W
        xs = x_start + direction * speed * np.arange(T)
        ys = y + 0.03 * H * smooth_noise(rng, T) + rng.uniform(-0.05, 0.05) * H * np.linspace(0, 1, T)
        feet = np.stack([xs, ys], 1)
        yaw = direction * 1.2 + 0.1 * smooth_noise(rng, T)
        actors.append(figure_actor(rng, feet, height_at(ys), "walk", yaw=yaw, gait_hz=1.0 + 0.15 * speed))
        kinds.append("walk")
    return actors, kinds


def _intersects(box: np.ndarray, H: int, W: int) -> bool:
    return box[2] > 0 and box[3] > 0 and box[0] < W and box[1] < H and box[0] + box[2] > 0 and box[1] + box[3] > 0


def make_mot_sequence(rng: np.random.Generator, name: str, T: int, H: int, W: int, n_people: int) -> MotSequence:
    """MOT17-like: walking people (class 1), one static person (class 7, conf 0) and one mannequin-like
    distractor (class 8, conf 0), crossing pairs; noisy public detections (misses ~10 %, more under occlusion,
    box jitter ~5 %, false positives with mostly low scores)."""
    people, kinds = _pedestrians(rng, T, H, W, n_people, h_range=(0.25, 0.5), n_cross=max(1, n_people // 3))
    static_feet = np.tile([rng.uniform(0.1, 0.9) * W, rng.uniform(0.55, 0.75) * H], (T, 1))
    static = figure_actor(rng, static_feet, np.full(T, 0.3 * H), "stand", yaw=rng.uniform(-0.5, 0.5))
    manq_feet = np.tile([rng.uniform(0.1, 0.9) * W, rng.uniform(0.5, 0.6) * H], (T, 1))
    manq = figure_actor(rng, manq_feet, np.full(T, 0.27 * H), "stand", yaw=0.0)
    manq.angles = {k: np.full_like(v, v[0]) for k, v in manq.angles.items()}  # frozen pose
    manq.ry[:] = manq.ry[0]
    manq.lean[:] = 0.0
    actors = people + [static, manq]
    classes = [1] * len(people) + [7, 8]
    confs = [1] * len(people) + [0, 0]
    actors.append(
        shape_actor(
            rng,
            random_path(rng, T, np.zeros(2), np.array([W, H], float), max_step=0.01 * W),
            np.full(T, 0.06 * min(H, W)),
            depth=-1.0,
        )
    )  # background clutter, not annotated
    scene = _scene(rng, T, H, W, actors, pan=0.0)
    frames, gt, dets = [], [], []
    for t in range(T):
        img, comp = scene.render(t)
        frames.append(img)
        vis = comp.visibility
        for k in range(len(classes)):
            box = comp.rendered[k].box()
            if not _intersects(box, H, W):
                continue
            gt.append((t + 1, k + 1, *box, confs[k], classes[k], float(vis[k])))
            p_miss = 0.06 + 0.6 * (1 - vis[k]) ** 3
            if vis[k] < 0.15 or rng.random() < p_miss:
                continue
            jit = box + rng.normal(0, 0.05, 4) * np.array([box[2], box[3], box[2], box[3]])
            jit = _clip_box(jit, H, W)
            if jit[2] < 2 or jit[3] < 2:
                continue
            score = float(np.clip(0.55 + 0.4 * vis[k] + rng.normal(0, 0.1), 0.05, 0.99))
            dets.append((t + 1, *jit, score))
        for _ in range(int(rng.poisson(0.6))):
            hh = rng.uniform(0.2, 0.45) * H
            ww = hh * rng.uniform(0.3, 0.5)
            fp = _clip_box(np.array([rng.uniform(0, W - ww), rng.uniform(0, H - hh), ww, hh]), H, W)
            dets.append((t + 1, *fp, float(rng.uniform(0.05, 0.75))))
    return MotSequence(name, frames, gt, dets)


def rle_encode(mask: np.ndarray) -> dict:
    """COCO compressed RLE of a ``[H, W] bool`` mask (``counts`` as an ASCII string)."""
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode("ascii")}


def make_mots_sequence(rng: np.random.Generator, name: str, T: int, H: int, W: int, n_people: int) -> MotsSequence:
    """MOTS-like: the pedestrian scene of MOT with exact, disjoint visible masks (id 2000+k, class 2); noisy mask
    detections (dilated/eroded/shifted, misses, false-positive blobs), made disjoint by a random priority."""
    import cv2

    people, _ = _pedestrians(rng, T, H, W, n_people, h_range=(0.3, 0.55), n_cross=max(1, n_people // 3))
    actors = people + [
        shape_actor(
            rng,
            random_path(rng, T, np.zeros(2), np.array([W, H], float), max_step=0.01 * W),
            np.full(T, 0.07 * min(H, W)),
            depth=-1.0,
        )
    ]
    scene = _scene(rng, T, H, W, actors, pan=0.0)
    frames, gt, dets = [], [], []
    kern = np.ones((3, 3), np.uint8)
    det_id = 0
    for t in range(T):
        img, comp = scene.render(t)
        frames.append(img)
        cand = []
        for k in range(len(people)):
            m = comp.visible_mask(k)
            n_px = int(m.sum())
            if n_px < 4:
                continue
            gt.append((t + 1, 2000 + k + 1, 2, rle_encode(m)))
            vis = comp.visibility[k]
            if vis < 0.15 or rng.random() < 0.06 + 0.5 * (1 - vis) ** 3:
                continue
            mm = m.astype(np.uint8)
            op = rng.integers(3)
            if op == 0:
                mm = cv2.dilate(mm, kern, iterations=int(rng.integers(1, 3)))
            elif op == 1 and n_px > 60:
                mm = cv2.erode(mm, kern, iterations=1)
            dx, dy = rng.integers(-1, 2, 2)
            mm = np.roll(mm, (int(dy), int(dx)), axis=(0, 1))
            cand.append(mm.astype(bool))
        for _ in range(int(rng.poisson(0.3))):
            fp = np.zeros((H, W), np.uint8)
            c = (int(rng.integers(0, W)), int(rng.integers(0, H)))
            ax = (int(rng.integers(4, max(5, W // 16))), int(rng.integers(8, max(9, H // 6))))
            cv2.ellipse(fp, c, ax, 0, 0, 360, 1, -1)
            cand.append(fp.astype(bool))
        taken = np.zeros((H, W), bool)
        for i in rng.permutation(len(cand)):
            m = cand[i] & ~taken
            if m.sum() < 4:
                continue
            taken |= m
            det_id += 1
            dets.append((t + 1, det_id, 2, rle_encode(m)))
    gt.sort(key=lambda r: (r[0], r[1]))
    dets.sort(key=lambda r: (r[0], r[1]))
    return MotsSequence(name, frames, gt, dets)


# -------------------------------------------------------------------------------------------------- PoseTrack
POSETRACK_KEYPOINTS = POSETRACK18_KEYPOINTS
# PoseTrack-18 index <- JHMDB index (None: ears, unused; "top": head top)
_PT_FROM_JHMDB = (2, 0, "top", None, None, 4, 3, 8, 7, 12, 11, 6, 5, 10, 9, 14, 13)


def jhmdb_to_posetrack(joints: np.ndarray, head_top: np.ndarray) -> np.ndarray:
    """``[17, 2]`` PoseTrack-18 keypoints from ``[15, 2]`` JHMDB joints and the head top (ears = NaN)."""
    out = np.full((17, 2), np.nan)
    for i, src in enumerate(_PT_FROM_JHMDB):
        if src == "top":
            out[i] = head_top
        elif src is not None:
            out[i] = joints[src]
    return out


def make_posetrack_sequence(
    rng: np.random.Generator, name: str, vid_id: int, T: int, H: int, W: int, n_people: int
) -> PoseTrackSequence:
    """PoseTrack-like: several large walking figures, some crossing (meet-and-turn/pass); GT keypoints with v=1
    for joints inside the image; noisy pose detections (jitter, lower scores for occluded joints, misses, false
    positives)."""
    people, _ = _pedestrians(rng, T, H, W, n_people, h_range=(0.45, 0.7), n_cross=max(1, n_people // 2))
    scene = _scene(
        rng,
        T,
        H,
        W,
        people
        + [
            shape_actor(
                rng,
                random_path(rng, T, np.zeros(2), np.array([W, H], float), max_step=0.01 * W),
                np.full(T, 0.07 * min(H, W)),
                depth=-1.0,
            )
        ],
        pan=0.03,
    )
    frames, gts, dets = [], [], []
    for t in range(T):
        img, comp = scene.render(t)
        frames.append(img)
        g, d = [], []
        for k in range(len(people)):
            r = comp.rendered[k]
            vis = comp.visibility[k]
            box = _clip_box(r.box(), H, W)
            if vis < 0.05 or box[2] < 2 or box[3] < 2:
                continue
            kp = jhmdb_to_posetrack(r.joints, r.head_top)
            inside = (kp[:, 0] >= 0) & (kp[:, 0] < W) & (kp[:, 1] >= 0) & (kp[:, 1] < H)
            if not inside.any():
                continue
            kps = np.zeros((17, 3))
            kps[inside, :2] = kp[inside] - 0.5  # continuous -> pixel-index coordinates
            kps[inside, 2] = 1
            hb = r.head_box - np.array([0.5, 0.5, 0.0, 0.0])
            g.append({"track_id": k, "keypoints": kps, "bbox": box, "bbox_head": hb})
            if vis < 0.2 or rng.random() < 0.06 + 0.5 * (1 - vis) ** 3:
                continue
            hgt = float(people[k].height[t])
            own = np.zeros(17, bool)
            ij = np.floor(kp[inside]).astype(np.int64)
            own[np.flatnonzero(inside)] = comp.owner[ij[:, 1], ij[:, 0]] == k
            sig = np.where(own, 0.015, 0.05) * hgt
            noisy = kp + rng.normal(0, 1, (17, 2)) * sig[:, None]
            sc = np.where(own, rng.uniform(0.6, 1.0, 17), rng.uniform(0.05, 0.5, 17))
            ok = inside & (noisy[:, 0] >= 0) & (noisy[:, 0] < W) & (noisy[:, 1] >= 0) & (noisy[:, 1] < H)
            dk = np.zeros((17, 3))
            dk[ok, :2] = noisy[ok] - 0.5
            dk[ok, 2] = 1
            sc = np.where(ok, sc, 0.0)
            d.append(
                {
                    "keypoints": dk,
                    "scores": sc,
                    "bbox": box + rng.normal(0, 0.03, 4) * box[[2, 3, 2, 3]],
                    "bbox_head": hb,
                    "score": float(sc[ok].mean()) if ok.any() else 0.0,
                }
            )
        for _ in range(int(rng.poisson(0.3))):  # false positive: a jittered copy of a random pose elsewhere
            src = people[int(rng.integers(len(people)))]
            j, top = src.joints(t)
            kp = jhmdb_to_posetrack(j, top)
            shift = np.array([rng.uniform(0, W), rng.uniform(0, H)]) - np.nanmean(kp, 0)
            kp = kp + shift + rng.normal(0, 0.05 * float(src.height[t]), (17, 2))
            ok = ~np.isnan(kp[:, 0]) & (kp[:, 0] >= 0) & (kp[:, 0] < W) & (kp[:, 1] >= 0) & (kp[:, 1] < H)
            if ok.sum() < 3:
                continue
            dk = np.zeros((17, 3))
            dk[ok, :2] = kp[ok] - 0.5
            dk[ok, 2] = 1
            sc = np.where(ok, rng.uniform(0.05, 0.55, 17), 0.0)
            x1, y1 = dk[ok, :2].min(0)
            x2, y2 = dk[ok, :2].max(0)
            d.append(
                {
                    "keypoints": dk,
                    "scores": sc,
                    "bbox": np.array([x1, y1, x2 - x1, y2 - y1]),
                    "bbox_head": np.zeros(4),
                    "score": float(sc[ok].mean()),
                }
            )
        gts.append(g)
        dets.append(d)
    return PoseTrackSequence(name, vid_id, frames, gts, dets)
