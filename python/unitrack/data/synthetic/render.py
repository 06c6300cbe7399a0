"""Procedural rendering for the synthetic benchmark: textures, textured shapes, articulated figures, compositing.

Everything here is deterministic given a :class:`numpy.random.Generator`; nothing reads global random state.
Images are ``uint8`` RGB arrays ``[H, W, 3]``; masks are ``bool`` arrays ``[H, W]``; coordinates are 0-based
pixel coordinates in ``(x, y)`` order where pixel ``(i, j)`` (row, column) covers ``[j, j+1) x [i, i+1)`` and its
centre is ``(j + 0.5, i + 0.5)``. Joint positions are given at pixel-centre convention (a joint drawn at
``(x, y)`` lights the pixel ``(floor(y), floor(x))``).

Actors (the moving things) render one frame at a time into a *local canvas* (a small crop around the actor), so the
full, un-occluded, un-clipped mask of each actor is known (its area and box do not depend on the frame border or
on other actors). :func:`compose` pastes the canvases far-to-near and returns the owner map, from which the visible
mask and visibility of every actor follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..skeletons import JHMDB_JOINTS

__all__ = [
    "TEXTURE_KINDS",
    "random_colors",
    "make_texture",
    "make_background",
    "random_shape",
    "ShapeActor",
    "FigureActor",
    "RenderedActor",
    "compose",
    "JHMDB_JOINTS",
    "FIGURE_LIMBS",
]

TEXTURE_KINDS = ("noise", "grating", "checker", "stripes", "dots")

_J = {n: i for i, n in enumerate(JHMDB_JOINTS)}

#: limbs drawn as thick lines (0-based JHMDB joint pairs) with a thickness factor relative to the figure height.
FIGURE_LIMBS = (
    (_J["right_shoulder"], _J["right_elbow"], 0.055, "upper"),
    (_J["right_elbow"], _J["right_wrist"], 0.045, "upper"),
    (_J["left_shoulder"], _J["left_elbow"], 0.055, "upper"),
    (_J["left_elbow"], _J["left_wrist"], 0.045, "upper"),
    (_J["right_hip"], _J["right_knee"], 0.07, "lower"),
    (_J["right_knee"], _J["right_ankle"], 0.055, "lower"),
    (_J["left_hip"], _J["left_knee"], 0.07, "lower"),
    (_J["left_knee"], _J["left_ankle"], 0.055, "lower"),
    (_J["neck"], _J["face"], 0.05, "head"),
)

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT


# ------------------------------------------------------------------------------------------------ colours/textures
def random_colors(rng: np.random.Generator, n: int, *, hue: float | None = None) -> np.ndarray:
    """``n`` random saturated RGB colours ``[n, 3] uint8``. With ``hue`` (in [0, 1)) all hues lie within +-0.04
    of it (used to make look-alike distractors); otherwise hues are uniform."""
    hues = rng.random(n) if hue is None else (hue + rng.uniform(-0.04, 0.04, n)) % 1.0
    hsv = np.zeros((1, n, 3), np.uint8)
    hsv[0, :, 0] = (hues * 180).astype(np.uint8) % 180
    hsv[0, :, 1] = rng.integers(90, 256, n)
    hsv[0, :, 2] = rng.integers(70, 256, n)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int, octaves: int = 3) -> np.ndarray:
    """Multi-octave value noise in [0, 1], ``[h, w] float32`` (random grids up-sampled bicubically)."""
    out = np.zeros((h, w), np.float32)
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        c = max(2, cells * (2**o))
        g = rng.random((c + 1, c + 1)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        tot += amp
        amp *= 0.5
    out /= tot
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _rotated_coords(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    phi = rng.random() * np.pi
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = xx * np.cos(phi) + yy * np.sin(phi)
    v = -xx * np.sin(phi) + yy * np.cos(phi)
    return u, v


def make_texture(
    rng: np.random.Generator,
    h: int,
    w: int,
    *,
    kind: str | None = None,
    colors: np.ndarray | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """A procedural texture ``[h, w, 3] uint8``.

    Args:
        kind: one of :data:`TEXTURE_KINDS` (random when None).
        colors: ``[>=2, 3] uint8`` colours to use (random when None).
        scale: spatial period multiplier (>1 = coarser pattern).
    """
    if kind is None:
        kind = TEXTURE_KINDS[int(rng.integers(len(TEXTURE_KINDS)))]
    if kind not in TEXTURE_KINDS:
        raise ValueError(f"make_texture: kind must be one of {TEXTURE_KINDS}, got {kind!r}")
    if colors is None:
        colors = random_colors(rng, 3)
    colors = np.asarray(colors, np.float32)
    if colors.ndim != 2 or colors.shape[0] < 2 or colors.shape[1] != 3:
        raise ValueError(f"make_texture: colors must have shape [>=2, 3], got {colors.shape}")
    period = float(rng.uniform(8, 22) * scale)
    if kind == "noise":
        t = _value_noise(rng, h, w, cells=int(rng.integers(3, 7)))
        t = np.clip((t - 0.5) * rng.uniform(1.5, 3.0) + 0.5, 0, 1)
    elif kind == "grating":
        u, _ = _rotated_coords(rng, h, w)
        t = 0.5 + 0.5 * np.cos(2 * np.pi * u / period + rng.random() * 6.283)
    elif kind == "checker":
        u, v = _rotated_coords(rng, h, w)
        t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == "stripes":
        u, _ = _rotated_coords(rng, h, w)
        t = (np.floor(u / (period * 0.6)) % 2).astype(np.float32)
    else:  # dots
        u, v = _rotated_coords(rng, h, w)
        du = (u % period) - period / 2
        dv = (v % period) - period / 2
        t = (du * du + dv * dv < (period * 0.3) ** 2).astype(np.float32)
    t = t.astype(np.float32)
    img = colors[0][None, None] * (1 - t[..., None]) + colors[1][None, None] * t[..., None]
    if colors.shape[0] >= 3:  # low-frequency modulation by a third colour for a more natural look
        m = _value_noise(rng, h, w, cells=2, octaves=1)[..., None] * 0.35
        img = img * (1 - m) + colors[2][None, None] * m
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def make_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured background ``[h, w, 3] uint8``: two textures blended by a smooth region map (e.g. floor/wall),
    slightly desaturated and darkened so that objects are not trivially separable by colour."""
    a = make_texture(rng, h, w, scale=float(rng.uniform(1.0, 2.0)))
    b = make_texture(rng, h, w, scale=float(rng.uniform(1.0, 2.0)))
    region = _value_noise(rng, h, w, cells=2, octaves=2)
    region = np.clip((region - 0.5) * 8 + 0.5, 0, 1)[..., None]
    img = a.astype(np.float32) * region + b.astype(np.float32) * (1 - region)
    grey = img.mean(axis=2, keepdims=True)
    img = 0.75 * img + 0.25 * grey
    return np.clip(img * 0.85 + 0.5, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------------ shapes
def random_shape(rng: np.random.Generator, kind: str | None = None, n: int = 40) -> np.ndarray:
    """A closed polygon ``[n, 2] float64`` in the normalised square [-1, 1]^2 (touching its border).

    ``kind``: "ellipse", "rect", "blob" (random star-convex radial profile) or "polygon" (random convex-ish
    5-8 gon); random when None."""
    kinds = ("ellipse", "rect", "blob", "polygon")
    if kind is None:
        kind = kinds[int(rng.integers(len(kinds)))]
    if kind not in kinds:
        raise ValueError(f"random_shape: kind must be one of {kinds}, got {kind!r}")
    if kind == "rect":
        p = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)
    else:
        if kind == "polygon":
            k = int(rng.integers(5, 9))
            ang = np.sort(rng.random(k)) * 2 * np.pi
            r = rng.uniform(0.75, 1.0, k)
        else:
            ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
            r = np.ones(n)
            if kind == "blob":
                for f in (2, 3, 5):
                    r += rng.uniform(0.05, 0.18) * np.cos(f * ang + rng.random() * 6.283)
        p = np.stack([r * np.cos(ang), r * np.sin(ang)], 1)
    p -= (p.max(0) + p.min(0)) / 2
    p /= np.abs(p).max(0, keepdims=True)
    return p


@dataclass
class RenderedActor:
    """One actor rendered at one frame.

    Attributes:
        x0, y0: image position of the local canvas' top-left pixel (may be negative / beyond the image).
        mask: ``[h, w] bool`` full (un-occluded, un-clipped) mask on the local canvas.
        rgb: ``[h, w, 3] uint8`` colours on the local canvas (valid where ``mask``).
        joints: ``[15, 2]`` JHMDB joints in image coordinates for figures, else None.
        head_top: ``[2]`` top of the head (figures only).
        head_box: ``[4]`` x, y, w, h of the head (figures only).
    """

    x0: int
    y0: int
    mask: np.ndarray
    rgb: np.ndarray
    joints: np.ndarray | None = None
    head_top: np.ndarray | None = None
    head_box: np.ndarray | None = None

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    def box(self) -> np.ndarray:
        """Tight box ``[x, y, w, h]`` (0-based, integer pixel extents) of the full mask in image coordinates."""
        ys, xs = np.nonzero(self.mask)
        if xs.size == 0:
            return np.array([self.x0, self.y0, 0, 0], np.float64)
        return np.array(
            [self.x0 + xs.min(), self.y0 + ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], np.float64
        )


def _warp_texture(tex: np.ndarray, m: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


@dataclass
class ShapeActor:
    """A textured rigid shape.

    Attributes:
        polygon: ``[n, 2]`` shape in [-1, 1]^2.
        texture: ``[S, S, 3] uint8`` tile mapped onto [-1, 1]^2 (it moves, scales and rotates with the shape).
        cx, cy, sx, sy, theta, depth: per-frame ``[T]`` centre, half-extents (px), rotation (rad) and depth
            (larger = nearer the camera).
    """

    polygon: np.ndarray
    texture: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    theta: np.ndarray
    depth: np.ndarray
    meta: dict = field(default_factory=dict)

    def render(self, t: int) -> RenderedActor:
        c, s = np.cos(self.theta[t]), np.sin(self.theta[t])
        a = np.array([[c * self.sx[t], -s * self.sy[t]], [s * self.sx[t], c * self.sy[t]]])
        pts = self.polygon @ a.T + np.array([self.cx[t], self.cy[t]])
        x0, y0 = int(np.floor(pts[:, 0].min())) - 1, int(np.floor(pts[:, 1].min())) - 1
        w = int(np.ceil(pts[:, 0].max())) - x0 + 2
        h = int(np.ceil(pts[:, 1].max())) - y0 + 2
        mask = np.zeros((h, w), np.uint8)
        # polygon vertices are in continuous coords; the pixel-centre convention means subtracting 0.5
        loc = np.round((pts - [x0 + 0.5, y0 + 0.5]) * _ONE).astype(np.int32)
        cv2.fillPoly(mask, [loc], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        half = self.texture.shape[0] / 2.0
        # texture coords u -> p = (u - half)/half in [-1,1]^2 -> image = A p + c -> local = image - (x0, y0)
        lin = a / half
        off = np.array([self.cx[t] - x0, self.cy[t] - y0]) - lin @ np.array([half, half])
        m = np.concatenate([lin, off[:, None]], 1)
        # warpAffine maps dst pixel centres; shift by 0.5 so texture pixel centres map consistently
        m[:, 2] += lin @ np.array([0.5, 0.5]) - 0.5
        rgb = _warp_texture(self.texture, m, w, h)
        return RenderedActor(x0, y0, mask.astype(bool), rgb)


@dataclass
class FigureActor:
    """An articulated 15-joint stick figure (JHMDB joints) drawn with thick textured limbs, a torso and a head.

    Per-frame arrays ``[T]``: ``rx, ry`` hip-centre position, ``height`` (px, head top to ankles when standing),
    ``yaw`` (rad; 0 = facing the camera, +-pi/2 = profile: shoulders/hips shrink by cos(yaw)), ``lean`` (torso
    angle from vertical) and ``angles``: dict of per-frame joint angles (rad) ``r_shoulder, l_shoulder, r_elbow,
    l_elbow, r_hip, l_hip, r_knee, l_knee, head``; limb angles are measured from "straight down", positive =
    towards image +x. ``depth`` as in :class:`ShapeActor`. ``tex_upper`` / ``tex_lower``: ``[S, S, 3]`` tiles for
    shirt and trousers; ``skin``: RGB colour of the head.
    """

    rx: np.ndarray
    ry: np.ndarray
    height: np.ndarray
    yaw: np.ndarray
    lean: np.ndarray
    angles: dict
    depth: np.ndarray
    tex_upper: np.ndarray
    tex_lower: np.ndarray
    skin: np.ndarray
    meta: dict = field(default_factory=dict)

    # segment lengths as fractions of the height
    TORSO, NECK, HEAD_R = 0.30, 0.07, 0.065
    UPPER_ARM, FOREARM, THIGH, SHIN = 0.16, 0.15, 0.23, 0.22
    SHOULDER_W, HIP_W = 0.11, 0.07

    def joints(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """``([15, 2] joints, [2] head top)`` in image coordinates at frame ``t`` (forward kinematics)."""
        H = float(self.height[t])
        root = np.array([self.rx[t], self.ry[t]], np.float64)
        cy = np.cos(self.yaw[t])
        sgn = 1.0 if cy >= 0 else -1.0  # facing away: left/right swap sides in the image
        wscale = max(abs(cy), 0.15) * sgn

        def d(angle: float) -> np.ndarray:  # unit vector at `angle` from straight down
            return np.array([np.sin(angle), np.cos(angle)])

        lean = float(self.lean[t])
        up = -d(lean)  # along the torso, upwards
        side = np.array([-up[1], up[0]])  # perpendicular; image +x when upright
        if side[0] < 0:
            side = -side
        a = {k: float(v[t]) for k, v in self.angles.items()}
        j = np.zeros((15, 2))
        neck = root + up * self.TORSO * H
        j[_J["neck"]] = neck
        j[_J["belly"]] = root + up * 0.3 * self.TORSO * H
        head_dir = -d(lean + a["head"])
        face = neck + head_dir * (self.NECK + self.HEAD_R) * H
        j[_J["face"]] = face
        head_top = face + head_dir * self.HEAD_R * H
        # the person's right is at image -x when facing the camera
        j[_J["right_shoulder"]] = neck - side * self.SHOULDER_W * H * wscale
        j[_J["left_shoulder"]] = neck + side * self.SHOULDER_W * H * wscale
        j[_J["right_hip"]] = root - side * self.HIP_W * H * wscale
        j[_J["left_hip"]] = root + side * self.HIP_W * H * wscale
        for s in ("right", "left"):
            p = s[0]
            sh, hp = j[_J[f"{s}_shoulder"]], j[_J[f"{s}_hip"]]
            e = sh + d(lean + a[f"{p}_shoulder"]) * self.UPPER_ARM * H
            j[_J[f"{s}_elbow"]] = e
            j[_J[f"{s}_wrist"]] = e + d(lean + a[f"{p}_shoulder"] + a[f"{p}_elbow"]) * self.FOREARM * H
            k = hp + d(a[f"{p}_hip"]) * self.THIGH * H
            j[_J[f"{s}_knee"]] = k
            j[_J[f"{s}_ankle"]] = k + d(a[f"{p}_hip"] + a[f"{p}_knee"]) * self.SHIN * H
        return j, head_top

    def render(self, t: int) -> RenderedActor:
        j, top = self.joints(t)
        H = float(self.height[t])
        r_head = self.HEAD_R * H
        pad = int(np.ceil(max(0.08 * H, r_head))) + 2
        pts = np.concatenate([j, top[None]], 0)
        x0 = int(np.floor(pts[:, 0].min())) - pad
        y0 = int(np.floor(pts[:, 1].min())) - pad
        w = int(np.ceil(pts[:, 0].max())) - x0 + pad
        h = int(np.ceil(pts[:, 1].max())) - y0 + pad
        part = np.zeros((h, w), np.uint8)  # 0 none, 1 lower, 2 upper, 3 head

        def P(p: np.ndarray) -> tuple[int, int]:
            q = np.round((p - [x0 + 0.5, y0 + 0.5]) * _ONE).astype(np.int64)
            return int(q[0]), int(q[1])

        order = ("lower", "upper", "head")
        val = {"lower": 1, "upper": 2, "head": 3}
        for grp in order:
            if grp == "upper":
                torso = np.array(
                    [j[_J["right_shoulder"]], j[_J["left_shoulder"]], j[_J["left_hip"]], j[_J["right_hip"]]]
                )
                c = torso.mean(0)
                # give the torso a minimum width in profile view
                wdir = torso[1] - torso[0]
                if np.linalg.norm(wdir) < 0.12 * H:
                    up = j[_J["neck"]] - j[_J["belly"]]
                    side = np.array([-up[1], up[0]]) / max(np.linalg.norm(up), 1e-6)
                    torso = np.array(
                        [
                            j[_J["neck"]] - side * 0.06 * H,
                            j[_J["neck"]] + side * 0.06 * H,
                            j[_J["belly"]] + side * 0.06 * H + (j[_J["belly"]] - j[_J["neck"]]) * 0.4,
                            j[_J["belly"]] - side * 0.06 * H + (j[_J["belly"]] - j[_J["neck"]]) * 0.4,
                        ]
                    )
                    c = torso.mean(0)
                poly = np.array([P(c + (p - c) * 1.12) for p in torso], np.int32)
                cv2.fillConvexPoly(part, poly, val["upper"], lineType=cv2.LINE_8, shift=_SHIFT)
            for a, b, th, g in FIGURE_LIMBS:
                if g == grp:
                    cv2.line(
                        part,
                        P(j[a]),
                        P(j[b]),
                        val[g],
                        thickness=max(2, int(round(th * H))),
                        lineType=cv2.LINE_8,
                        shift=_SHIFT,
                    )
            if grp == "head":
                cv2.circle(
                    part,
                    P(j[_J["face"]]),
                    int(round(r_head * _ONE)),
                    val["head"],
                    thickness=-1,
                    lineType=cv2.LINE_8,
                    shift=_SHIFT,
                )
        S = self.tex_upper.shape[0]
        sc = H / S
        m = np.array([[sc, 0.0, self.rx[t] - x0 - H / 2], [0.0, sc, self.ry[t] - y0 - H / 2]])
        up_rgb = _warp_texture(self.tex_upper, m, w, h)
        lo_rgb = _warp_texture(self.tex_lower, m, w, h)
        rgb = np.where((part == 2)[..., None], up_rgb, lo_rgb)
        rgb[part == 3] = self.skin
        face = j[_J["face"]]
        head_box = np.array(
            [
                face[0] - r_head,
                top[1] - 0.1 * r_head,
                2 * r_head,
                (face[1] + r_head) - (top[1] - 0.1 * r_head) + 0.25 * r_head,
            ]
        )
        return RenderedActor(x0, y0, part > 0, rgb, joints=j, head_top=top, head_box=head_box)


# ------------------------------------------------------------------------------------------------- compositing
@dataclass
class Composite:
    """Result of :func:`compose` for one frame.

    Attributes:
        image: ``[H, W, 3] uint8``.
        owner: ``[H, W] int16``: index of the actor that owns each pixel, -1 = background.
        rendered: the :class:`RenderedActor` of every actor (same order as the input).
        visible_px: ``[N] int64`` visible pixels per actor; ``visibility``: visible / full area (0 if area 0).
    """

    image: np.ndarray
    owner: np.ndarray
    rendered: list
    visible_px: np.ndarray

    @property
    def visibility(self) -> np.ndarray:
        area = np.array([r.area for r in self.rendered], np.float64)
        return np.where(area > 0, self.visible_px / np.maximum(area, 1), 0.0)

    def visible_mask(self, k: int) -> np.ndarray:
        return self.owner == k


def compose(background: np.ndarray, actors: list, t: int) -> Composite:
    """Paint ``actors`` (ShapeActor / FigureActor) at frame ``t`` over ``background`` ``[H, W, 3] uint8``
    far-to-near (ascending ``depth[t]``, ties by list order) and return the image and the owner map."""
    img = background.copy()
    H, W = img.shape[:2]
    owner = np.full((H, W), -1, np.int16)
    rendered = [a.render(t) for a in actors]
    order = sorted(range(len(actors)), key=lambda k: (float(actors[k].depth[t]), k))
    for k in order:
        r = rendered[k]
        h, w = r.mask.shape
        ax0, ay0 = max(r.x0, 0), max(r.y0, 0)
        ax1, ay1 = min(r.x0 + w, W), min(r.y0 + h, H)
        if ax1 <= ax0 or ay1 <= ay0:
            continue
        m = r.mask[ay0 - r.y0 : ay1 - r.y0, ax0 - r.x0 : ax1 - r.x0]
        img[ay0:ay1, ax0:ax1][m] = r.rgb[ay0 - r.y0 : ay1 - r.y0, ax0 - r.x0 : ax1 - r.x0][m]
        owner[ay0:ay1, ax0:ax1][m] = k
    counts = np.bincount(owner.ravel().astype(np.int64) + 1, minlength=len(actors) + 1)[1:]
    return Composite(img, owner, rendered, counts.astype(np.int64))


def finish_frame(img: np.ndarray, gain: float) -> np.ndarray:
    """Global illumination ``gain`` and a light blur (softens aliased edges like a camera would)."""
    out = cv2.GaussianBlur(img, (3, 3), 0.6)
    if gain != 1.0:
        out = np.clip(out.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)
    return out
