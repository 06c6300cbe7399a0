"""Constructed OTB cases shared by tests/test_otb_metrics.py and the out-of-repo run of UniTrack's pysot toolkit
(Zhongdao/UniTrack tracker/sot/lib/eval_toolkit/pysot) that produced the expected values kept in that test.

Ground truth and results are written as text (1-based OTB coordinates, decimals as written), so both sides read
exactly the same values."""

from __future__ import annotations

import os


def _pair_at_iou(alpha: float, k: float, x: float, y: float, h: float) -> tuple[str, str]:
    """gt and result of width (1 + alpha) k, shifted by (1 - alpha) k: IoU = alpha in decimal arithmetic."""
    w = round((1 + alpha) * k, 4)
    d = round((1 - alpha) * k, 4)
    return f"{x},{y},{w},{h}", f"{round(x + d, 4)},{y},{w},{h}"


def videos() -> dict:
    """``{name: (gt lines, result lines)}`` -- the text of groundtruth_rect.txt and of the result file."""
    out = {}
    gt, res = [], []
    gt.append("1489.3,967.5,69.0,40.3")
    res.append("1490.1,966.9,70.2,40.0")  # first result box != gt: got10k replaces it, pysot scores it
    g, r = _pair_at_iou(0.5, 46.0, 1489.3, 967.5, 40.3)  # the MOT example: IoU 0.5 exactly (69 x 40.3, shift 23)
    gt.append(g), res.append(r)
    for alpha, k, x, y, h in (
        (0.15, 20.1, 10.7, 33.3, 51.9),
        (0.35, 30.3, 200.5, 17.9, 60.1),
        (0.55, 12.7, 1.1, 2.2, 33.3),
        (0.75, 44.4, 99.9, 88.8, 77.7),
        (0.95, 50.5, 300.3, 200.2, 100.1),
        (0.05, 80.2, 5.5, 6.6, 7.7),
    ):
        g, r = _pair_at_iou(alpha, k, x, y, h)
        gt.append(g), res.append(r)
    gt.append("100,100,40,30"), res.append("112,116,40,30")  # centre error exactly 20
    gt.append("100,100,40,30"), res.append("112.5,116,40,30")  # just above 20
    gt.append("50.5,60.5,20,20"), res.append("500,600,20,20")  # complete miss
    gt.append("10,20,30,40"), res.append("10,20,30,40")  # exact hit (IoU 1)
    out["Alpha"] = (gt, res)
    # absent / degenerate ground truth: pysot's presence tests vs got10k's plain arithmetic
    out["Beta"] = (
        [
            "5,6,30,40",
            "0,6,30,40",  # x = 0: pysot IoU -1 (not all > 0)
            "0,0,0,0",  # absent target: pysot IoU -1, centre (-0.5, -0.5) -> error -1 = "precise"
            "4,5,0,40",  # zero width
            "-3,5,30,40",  # negative x (centre 11.5 > 0 -> pysot measures the centre error)
            "7,8,30,40",
            "0,0,0,0",
            "7,8,30.5,40",
        ],
        [
            "5,6,30,40",
            "1,6,30,40",
            "40,50,30,40",
            "4,5,10,40",
            "-2,5,30,40",
            "7.25,8.5,29,41",
            "0,0,0,0",
            "70,80,30,40",
        ],
    )
    out["Gamma"] = (
        ["11,12,13,14", "11.5,12,13,14", "12,12,13,14", "12.5,12.5,13,14", "13,13,13,14"],
        ["11,12,13,14", "11,12,13,14", "11,12,13,14", "11,12,13,14", "11,12,13,14"],
    )
    return out


def write_layout(otb_root: str, results_dir: str) -> None:
    """OTB folder layout (``<root>/<Video>/img/0001.jpg``, ``groundtruth_rect.txt``) and ``<results>/<Video>.txt``."""
    import numpy as np
    from PIL import Image

    for name, (gt, res) in videos().items():
        os.makedirs(os.path.join(otb_root, name, "img"), exist_ok=True)
        for t in range(len(gt)):
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(otb_root, name, "img", f"{t + 1:04d}.jpg"))
        with open(os.path.join(otb_root, name, "groundtruth_rect.txt"), "w") as f:
            f.write("\n".join(gt) + "\n")
        os.makedirs(results_dir, exist_ok=True)
        with open(os.path.join(results_dir, f"{name}.txt"), "w") as f:
            f.write("\n".join(res) + "\n")
