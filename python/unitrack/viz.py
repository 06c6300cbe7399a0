"""Visualisation of tracking results on RGB frames: boxes with ids and trails, mask overlays, skeletons, text.

Every function takes an RGB ``uint8 [H, W, 3]`` image and returns a new annotated copy (the input is never
modified), so they compose: ``draw_skeleton(overlay_mask(frame, mask), joints)``.

Colours:

* track ids -> :func:`id_color`: a fixed hue from a hash of the id (golden-ratio spacing of consecutive integers,
  CRC-32 for other ids), so an id keeps its colour across frames, runs and videos; nothing random, no global state.
* mask ids -> the DAVIS / PASCAL palette (:func:`davis_palette`), the colours of indexed DAVIS PNGs.

Skeletons (``skeleton=`` name or a list of 0-based ``(a, b)`` joint pairs):

* ``"posetrack"`` -- the 15 PoseTrack joints (:data:`POSETRACK_JOINTS`), the 13 limbs of SPEC §5 / appendix
  (``skltn2mask``), plus head_bottom -- nose.
* ``"posetrack18"`` -- the 17 PoseTrack-18 / COCO-order keypoints (:data:`POSETRACK18_KEYPOINTS`), the same limbs
  mapped to that order (the unused ears are not connected).
* ``"jhmdb"`` -- the 15 JHMDB joints (:data:`JHMDB_JOINTS`), puppet-mask order.
"""

from __future__ import annotations

import colorsys
import zlib
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from .data.skeletons import (
    JHMDB_JOINTS,
    JHMDB_LIMBS,
    POSETRACK18_KEYPOINTS,
    POSETRACK18_LIMBS,
    POSETRACK_JOINTS,
    POSETRACK_LIMBS,
    SKELETONS,
    davis_palette,
)

__all__ = [
    "JHMDB_JOINTS",
    "JHMDB_LIMBS",
    "POSETRACK_JOINTS",
    "POSETRACK_LIMBS",
    "POSETRACK18_KEYPOINTS",
    "POSETRACK18_LIMBS",
    "SKELETONS",
    "TrailHistory",
    "davis_palette",
    "draw_boxes",
    "draw_skeleton",
    "draw_text",
    "id_color",
    "mask_contours",
    "overlay_mask",
    "overlay_style",
]

_GOLDEN = 0.6180339887498949


def _cv2():
    import cv2

    return cv2


_PALETTE = davis_palette(256)
_OUTLINE = (20, 20, 20)  # the dark line under boxes and trails


def id_color(track_id: Union[int, str], saturation: float = 0.85, value: float = 0.95) -> tuple[int, int, int]:
    """Stable RGB colour of a track id: hue = frac(id * golden ratio) for integers (consecutive ids far apart on the
    colour wheel), frac(crc32(str(id)) * golden ratio) otherwise."""
    if isinstance(track_id, (int, np.integer)) and not isinstance(track_id, bool):
        h = (int(track_id) * _GOLDEN) % 1.0
    else:
        h = (zlib.crc32(str(track_id).encode("utf-8")) * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, saturation, value)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def _check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{name}: expected an RGB uint8 array [H, W, 3], got {image.dtype} {list(image.shape)}")
    return np.ascontiguousarray(image).copy()


def overlay_style(size: tuple[int, int]) -> dict:
    """Line ``thickness``, joint ``radius``, frame-counter font ``scale`` and box-label font ``label_scale`` for a
    frame of ``size = (H, W)``: proportional to the frame (a 640-px frame gets 3-px lines and 0.6 text) with floors
    that keep 100-px frames readable (2-px lines, 0.4 text) and no ceiling, so 4K overlays are not hair-thin."""
    k = max(int(size[0]), int(size[1])) / 640.0
    return {
        "thickness": max(2, round(3 * k)),
        "radius": max(2, round(4 * k)),
        "scale": max(0.4, 0.6 * k),
        "label_scale": max(0.4, 0.55 * k),
    }


def _text_color(rgb: Sequence[int]) -> tuple[int, int, int]:
    return (0, 0, 0) if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 else (255, 255, 255)


def _label(img: np.ndarray, text: str, x: int, y: int, color, scale: float) -> None:
    """A filled label box with ``text`` whose bottom-left corner is at (x, y) (moved inside the image)."""
    cv2 = _cv2()
    thickness = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    H, W = img.shape[:2]
    x = int(min(max(x, 0), max(W - tw - 2, 0)))
    y = int(min(max(y, th + base + 2), H))
    cv2.rectangle(img, (x, y - th - base - 2), (x + tw + 2, y), tuple(int(c) for c in color), -1)
    cv2.putText(
        img, text, (x + 1, y - base - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, _text_color(color), thickness, cv2.LINE_AA
    )


class TrailHistory:
    """Per-id history of box centres for drawing trails. Call :meth:`update` once per frame, then pass
    :meth:`trails` (or the object itself) to :func:`draw_boxes`. ``length``: how many past frames a trail shows."""

    def __init__(self, length: int = 30):
        if int(length) < 1:
            raise ValueError(f"length: expected a positive number of frames, got {length!r}")
        self.length = int(length)
        self._hist: dict = {}
        self._frame = -1

    def update(self, boxes_xywh: np.ndarray, ids: Iterable) -> None:
        """Record this frame's box centres (``boxes_xywh [N, 4]``, ``ids [N]``); ids absent for ``length`` frames are
        forgotten."""
        self._frame += 1
        boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
        for b, i in zip(boxes, ids):
            key = i.item() if isinstance(i, np.generic) else i
            self._hist.setdefault(key, []).append((self._frame, b[0] + b[2] / 2, b[1] + b[3] / 2))
        cutoff = self._frame - self.length
        for key in list(self._hist):
            pts = [p for p in self._hist[key] if p[0] > cutoff]
            if pts:
                self._hist[key] = pts
            else:
                del self._hist[key]

    def trails(self) -> dict:
        """``{id: float [K, 2]}`` centre points, oldest first."""
        return {k: np.array([(p[1], p[2]) for p in v]) for k, v in self._hist.items()}


def _per_box(values: Optional[Iterable], n: int, name: str, what: str) -> Optional[list]:
    values = None if values is None else list(values)
    if values is not None and len(values) != n:
        raise ValueError(f"{name}: expected {n} {what}, got {len(values)}")
    return values


def _draw_trails(img: np.ndarray, trails: Optional[dict], color, thickness: int, outline: bool) -> None:
    """Trails ``{id: [K, 2]}`` of centre points, in place: older segments thinner, the newest about half the box
    line, each over a dark outline."""
    cv2 = _cv2()
    for key, pts in (trails or {}).items():
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 2:
            continue
        col = id_color(key) if color is None else tuple(int(c) for c in color)
        n = len(pts)
        for k in range(1, n):
            t = max(2, int(round(thickness * (0.2 + 0.4 * k / n))))
            p0 = tuple(np.round(pts[k - 1]).astype(int).tolist())
            p1 = tuple(np.round(pts[k]).astype(int).tolist())
            if outline:
                cv2.line(img, p0, p1, _OUTLINE, t + 2, cv2.LINE_AA)
            cv2.line(img, p0, p1, col, t, cv2.LINE_AA)


def draw_boxes(
    image: np.ndarray,
    boxes_xywh,
    ids: Optional[Iterable] = None,
    *,
    scores: Optional[Iterable[float]] = None,
    trails: Union[TrailHistory, dict, None] = None,
    color: Optional[Sequence[int]] = None,
    thickness: int = 2,
    show_ids: bool = True,
    font_scale: float = 0.45,
    outline: bool = True,
) -> np.ndarray:
    """Boxes ``[N, 4]`` as (x, y, w, h) pixels (0-based) with their ids (coloured by :func:`id_color`), optional
    scores and trails (``{id: [K, 2]}`` centre points or a :class:`TrailHistory`). Without ids every box gets
    ``color`` (default green); ``color`` also overrides the id colours (boxes, trails and labels). ``outline`` draws
    every box and trail over a dark line 2 px wider, so it stands out on any background. Returns the annotated
    copy."""
    cv2 = _cv2()
    img = _check_image(image)
    boxes = np.asarray(boxes_xywh, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes_xywh: expected [N, 4] (x, y, w, h), got shape {list(boxes.shape)}")
    ids = _per_box(ids, len(boxes), "ids", "ids (one per box)")
    scores = _per_box(scores, len(boxes), "scores", "scores (one per box)")
    _draw_trails(img, trails.trails() if isinstance(trails, TrailHistory) else trails, color, thickness, outline)
    default = tuple(int(c) for c in (color if color is not None else (0, 255, 0)))
    for n, b in enumerate(boxes):
        if not np.all(np.isfinite(b)):
            continue
        col = id_color(ids[n]) if ids is not None and color is None else default
        x1, y1 = int(round(b[0])), int(round(b[1]))
        x2, y2 = int(round(b[0] + b[2])), int(round(b[1] + b[3]))
        if outline:
            cv2.rectangle(img, (x1, y1), (x2, y2), _OUTLINE, thickness + 2)
        cv2.rectangle(img, (x1, y1), (x2, y2), col, thickness)
        parts = []
        if ids is not None and show_ids:
            parts.append(str(ids[n]))
        if scores is not None:
            parts.append(f"{float(scores[n]):.2f}")
        if parts:
            _label(img, " ".join(parts), x1, y1, col, font_scale)
    return img


def mask_contours(mask: np.ndarray) -> np.ndarray:
    """bool ``[H, W]``: pixels of ``mask`` (an id map) whose 4-neighbourhood holds a different id (object borders)."""
    m = np.asarray(mask)
    edge = np.zeros(m.shape, dtype=bool)
    edge[:-1, :] |= m[:-1, :] != m[1:, :]
    edge[1:, :] |= m[1:, :] != m[:-1, :]
    edge[:, :-1] |= m[:, :-1] != m[:, 1:]
    edge[:, 1:] |= m[:, 1:] != m[:, :-1]
    return edge


def overlay_mask(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    alpha: float = 0.5,
    palette: Optional[np.ndarray] = None,
    contours: bool = True,
    colors: Optional[dict] = None,
    contour_width: int = 1,
    outline: bool = False,
    label_ids: bool = False,
    font_scale: float = 0.45,
) -> np.ndarray:
    """Blend an id map ``mask [H, W]`` (0 = background, ids 1..255) over ``image``: ``(1-alpha)*image +
    alpha*colour(id)`` on object pixels, object borders drawn solid (``contour_width`` px wide). Colours:
    ``colors[id]`` when given (e.g. :func:`id_color` for track ids), else the DAVIS palette. ``outline`` also draws a
    dark line just outside every object (contrast on any background); ``label_ids`` writes each object's id at the
    top-left of its bounding box (text size ``font_scale``). Raises ValueError when sizes differ."""
    img = _check_image(image)
    m = np.asarray(mask)
    if m.ndim != 2 or m.shape != img.shape[:2]:
        raise ValueError(
            f"mask: expected an id map of the image size {img.shape[0]}x{img.shape[1]} (HxW), got shape {list(m.shape)}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a value in [0, 1], got {alpha}")
    if m.size == 0 or not np.any(m):
        return img
    if colors is None:
        if m.min() < 0 or m.max() > 255:
            raise ValueError("mask: ids must be in 0..255 to be coloured with the DAVIS palette")
        pal = _PALETTE if palette is None else np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        col = pal[m.astype(np.int64) % len(pal)]
    else:
        col = np.zeros(img.shape, dtype=np.uint8)
        for k in np.unique(m):
            if k != 0:
                col[m == k] = colors[k.item()] if k.item() in colors else id_color(k.item())
    fg = m != 0
    out = img.astype(np.float32)
    out[fg] = (1.0 - alpha) * out[fg] + alpha * col[fg].astype(np.float32)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if contours or outline:
        edges = mask_contours(m)
        if int(contour_width) > 1:  # thicker borders for large frames: grow the edges
            k = np.ones((2 * (int(contour_width) // 2) + 1,) * 2, np.uint8)
            edges = _cv2().dilate(edges.astype(np.uint8), k).astype(bool)
        if outline:
            out[edges & ~fg] = _OUTLINE
        if contours:
            out[edges & fg] = col[edges & fg]
    if label_ids:
        for k in np.unique(m):
            if k == 0:
                continue
            ys, xs = np.nonzero(m == k)
            c = (
                colors.get(k.item(), id_color(k.item()))
                if colors is not None
                else tuple(int(v) for v in col[ys[0], xs[0]])
            )
            _label(out, str(k.item()), int(xs.min()), int(ys.min()), c, font_scale)
    return out


def _skeleton_limbs(skeleton: Union[str, Sequence[tuple[int, int]]], n: int) -> tuple:
    """``(joint names or None, limbs)`` of a skeleton name (checked to have ``n`` joints) or of joint pairs (checked
    to index ``n`` joints)."""
    if isinstance(skeleton, str):
        if skeleton not in SKELETONS:
            raise ValueError(
                f"skeleton: expected one of {sorted(SKELETONS)} or a list of joint pairs, got {skeleton!r}"
            )
        names, limbs = SKELETONS[skeleton]
        if n != len(names):
            raise ValueError(f"joints: skeleton {skeleton!r} has {len(names)} joints, got {n}")
        return names, limbs
    limbs = [tuple(int(v) for v in p) for p in skeleton]
    if any(a < 0 or b < 0 or a >= n or b >= n for a, b in limbs):
        raise ValueError(f"skeleton: joint pairs must index the {n} joints")
    return None, limbs


def draw_skeleton(
    image: np.ndarray,
    joints: np.ndarray,
    *,
    skeleton: Union[str, Sequence[tuple[int, int]]] = "jhmdb",
    color: Optional[Sequence[int]] = None,
    track_id=None,
    visible: Optional[np.ndarray] = None,
    radius: int = 3,
    thickness: int = 2,
    label: Optional[str] = None,
    font_scale: float = 0.45,
    outline: bool = True,
) -> np.ndarray:
    """Draw one skeleton: ``joints [J, 2]`` (x, y) pixels; a joint with a negative or non-finite coordinate, or with
    ``visible`` false, is skipped with its limbs. ``skeleton``: ``"jhmdb"`` (15 joints), ``"posetrack"`` (15),
    ``"posetrack18"`` (17) or 0-based ``(a, b)`` pairs. Colour: ``color``, else :func:`id_color` of ``track_id``,
    else one colour per limb side (left = blue, right = red, centre = green). ``outline`` draws limbs and joints over
    a dark line 2 px wider; ``font_scale`` sizes the id label."""
    cv2 = _cv2()
    img = _check_image(image)
    pts = np.asarray(joints, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise ValueError(f"joints: expected [J, 2] (x, y) coordinates, got shape {list(pts.shape)}")
    pts = pts[:, :2]
    names, limbs = _skeleton_limbs(skeleton, len(pts))
    ok = np.all(np.isfinite(pts), axis=1) & (pts[:, 0] >= 0) & (pts[:, 1] >= 0)
    if visible is not None:
        vis = np.asarray(visible).reshape(-1).astype(bool)
        if vis.shape[0] != len(pts):
            raise ValueError(f"visible: expected {len(pts)} flags, got {vis.shape[0]}")
        ok &= vis
    fixed = (
        tuple(int(c) for c in color) if color is not None else (id_color(track_id) if track_id is not None else None)
    )

    def side_color(a: int, b: int):
        if fixed is not None:
            return fixed
        if names is None:
            return (0, 255, 0)
        sides = {names[a].split("_")[0], names[b].split("_")[0]}
        return (255, 60, 60) if "right" in sides else (60, 120, 255) if "left" in sides else (60, 220, 60)

    ipts = np.round(np.where(ok[:, None], pts, 0)).astype(int)
    drawn = [(a, b) for a, b in limbs if ok[a] and ok[b]]
    if outline:  # a dark line under every limb and joint: legible on any background
        for a, b in drawn:
            cv2.line(img, tuple(ipts[a].tolist()), tuple(ipts[b].tolist()), _OUTLINE, thickness + 2, cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(img, tuple(ipts[j].tolist()), radius + 1, _OUTLINE, -1, cv2.LINE_AA)
    for a, b in drawn:
        cv2.line(img, tuple(ipts[a].tolist()), tuple(ipts[b].tolist()), side_color(a, b), thickness, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(img, tuple(ipts[j].tolist()), radius, fixed if fixed is not None else (255, 255, 0), -1, cv2.LINE_AA)
    if (label is not None or track_id is not None) and ok.any():
        text = label if label is not None else str(track_id)
        x, y = ipts[ok].min(axis=0)
        _label(img, text, int(x), int(y) - radius, fixed if fixed is not None else (255, 255, 0), font_scale)
    return img


def draw_text(
    image: np.ndarray,
    text: str,
    org: tuple[int, int] = (5, 5),
    *,
    color=(255, 255, 255),
    background=(0, 0, 0),
    scale: float = 0.5,
) -> np.ndarray:
    """Text with a filled background box whose top-left corner is ``org`` (e.g. a frame counter or the model name)."""
    cv2 = _cv2()
    img = _check_image(image)
    thickness = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = int(org[0]), int(org[1])
    if background is not None:
        cv2.rectangle(img, (x, y), (x + tw + 4, y + th + base + 4), tuple(int(c) for c in background), -1)
    cv2.putText(
        img,
        text,
        (x + 2, y + th + 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        tuple(int(c) for c in color),
        thickness,
        cv2.LINE_AA,
    )
    return img
