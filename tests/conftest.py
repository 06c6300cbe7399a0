import math
import os

import numpy as np
import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op torch thread for the tests of a module, restored afterwards: the tiny ops of the association
    and head tests oversubscribe shared CI machines otherwise. Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _literal_roi_align(
    feat, boxes, ph: int, pw: int, scale: float = 1.0, sampling_ratio: int = -1, aligned: bool = False
) -> np.ndarray:
    """torchvision ``roi_align`` semantics, one bilinear sample at a time, in numpy float64.

    ``feat [C, H, W]`` and ``boxes [K, 4]`` (x1, y1, x2, y2) as numpy arrays or tensors -> ``float64 [K, C, ph, pw]``.
    """
    feat = np.asarray(feat.detach().cpu().double() if isinstance(feat, torch.Tensor) else feat, dtype=np.float64)
    boxes = np.asarray(boxes.detach().cpu().double() if isinstance(boxes, torch.Tensor) else boxes, dtype=np.float64)
    C, H, W = feat.shape
    out = np.zeros((len(boxes), C, ph, pw))

    def sample(y: float, x: float) -> np.ndarray:
        if y < -1.0 or y > H or x < -1.0 or x > W:
            return np.zeros(C)
        y, x = max(y, 0.0), max(x, 0.0)
        y0, x0 = int(y), int(x)
        if y0 >= H - 1:
            y0 = y1 = H - 1
            y = float(y0)
        else:
            y1 = y0 + 1
        if x0 >= W - 1:
            x0 = x1 = W - 1
            x = float(x0)
        else:
            x1 = x0 + 1
        ly, lx = y - y0, x - x0
        return (
            (1 - ly) * (1 - lx) * feat[:, y0, x0]
            + (1 - ly) * lx * feat[:, y0, x1]
            + ly * (1 - lx) * feat[:, y1, x0]
            + ly * lx * feat[:, y1, x1]
        )

    def bins(extent: float, n: int) -> int:
        return sampling_ratio if sampling_ratio > 0 else math.ceil(extent / n)

    off = 0.5 if aligned else 0.0
    for k, (bx1, by1, bx2, by2) in enumerate(boxes.tolist()):
        sx, sy = bx1 * scale - off, by1 * scale - off
        rw, rh = bx2 * scale - off - sx, by2 * scale - off - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh, gw = bins(rh, ph), bins(rw, pw)
        count = max(gh * gw, 1)
        for p in range(ph):
            for q in range(pw):
                acc = np.zeros(C)
                for iy in range(gh):
                    y = sy + p * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        acc += sample(y, sx + q * bw + (ix + 0.5) * bw / gw)
                out[k, :, p, q] = acc / count
    return out


@pytest.fixture(scope="session")
def literal_roi_align():
    """The test oracle of every RoIAlign test: ``literal_roi_align(feat, boxes, ph, pw, scale=1.0,
    sampling_ratio=-1, aligned=False) -> float64 [K, C, ph, pw]`` (numpy), torchvision's semantics evaluated one
    bilinear sample at a time."""
    return _literal_roi_align


def pytest_report_header(config):
    import unitrack_ext

    return [
        f"unitrack_ext from {os.path.dirname(unitrack_ext.__file__)}; compiled _C: {unitrack_ext.HAS_EXT}",
        f"torch {torch.__version__}, threads {torch.get_num_threads()}",
    ]
