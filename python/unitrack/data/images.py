"""The image reader of the framework: every frame and every id-mask PNG is decoded here.

* :func:`read_image` -- an image file (jpg, png, bmp, ...) -> RGB ``uint8 [H, W, 3]`` (OpenCV; grey and RGBA images
  are converted). Frames of every dataset reader, of :class:`unitrack.data.video.FrameSource` and of the heads'
  image-path inputs go through it, so a frame decodes to the same pixels whichever way it is read.
* :func:`read_id_mask` -- an indexed (palette, mode ``P``) or 8-bit grey PNG -> ``uint8 [H, W]`` of palette
  *indices* (object ids; Pillow, never read as colours): DAVIS annotations, the first-frame masks of VOS.

Errors name the file and what was expected: a missing file is FileNotFoundError, a file that cannot be decoded or a
colour PNG given as an id mask is ValueError.
"""

from __future__ import annotations

import os
from typing import Optional, Union

import numpy as np

__all__ = ["read_image", "read_id_mask"]

PathLike = Union[str, os.PathLike]


def _prefix(name: Optional[str]) -> str:
    return f"{name}: " if name else ""


def read_image(path: PathLike, name: Optional[str] = None) -> np.ndarray:
    """One image file -> RGB ``uint8 [H, W, 3]`` (gray and RGBA images are converted).

    ``name`` (e.g. ``"frame"``, ``"frames[3]"``) prefixes the error messages. Raises FileNotFoundError for a missing
    file, ValueError for one OpenCV cannot decode."""
    import cv2

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{_prefix(name)}image file not found: {path!r}")
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{_prefix(name)}image file {path!r}: cannot be decoded; expected a jpg/png/bmp image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_id_mask(path: PathLike, name: str = "mask") -> np.ndarray:
    """An indexed (palette) or 8-bit grey PNG -> ``uint8 [H, W]`` of palette indices (object ids, 0 = background).

    Raises FileNotFoundError for a missing file, ValueError for a file that cannot be decoded or a colour image
    (colour masks are not id maps). ``name`` names the mask in the messages (e.g. ``"--mask"``)."""
    from PIL import Image

    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"{name}: file not found: {p!r}")
    try:
        with Image.open(p) as im:
            mode = im.mode
            if mode not in ("P", "L", "1"):
                raise ValueError(
                    f"{name} {p}: PNG mode {mode!r}; expected an indexed (palette, mode P) or 8-bit grey "
                    "id mask (0 = background, 1..255 = object ids), not a colour image"
                )
            return np.asarray(im, dtype=np.uint8).copy()
    except OSError:
        raise ValueError(f"{name} {p}: cannot be decoded as an image; expected an indexed (palette) PNG") from None
