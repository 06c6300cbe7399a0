"""Generation time of the synthetic benchmark.

Budget (ratio in the same run, see ``benchmarks/common.py``): generating a preset costs at most 150 JPEG encodings
(OpenCV, quality 90, the generator's own encoder) of a frame of the preset's size per image it writes -- the
rendering of textures, figures, masks and annotations on top of the unavoidable encoding. (19 for "small" and 42
for "tiny" on this project's machine, one thread; "small" then takes 4 s.) The
size of the "small" benchmark stays under 50 MB.
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np

from common import check_ratio, interleaved_medians
from unitrack.data.synthetic import PRESETS, generate_benchmark

#: generation / (images written x one JPEG encoding of a frame of that size), same run
GENERATION_VS_ENCODING = 150.0


def _size_mb(root) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def _budget(benchmark, out, size: str, rounds: int) -> None:
    def run():
        shutil.rmtree(out, ignore_errors=True)
        return generate_benchmark(out, seed=0, size=size, progress=False)

    benchmark.pedantic(run, rounds=1, iterations=1)
    n_images = sum(1 for p in out.rglob("*") if p.suffix in (".jpg", ".png"))
    p = PRESETS[size]
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((p.H, p.W, 3)) * 255).astype(np.uint8), (5, 5), 2)

    def encode_all():
        for _ in range(n_images):
            cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])

    gen, enc = interleaved_medians([run, encode_all], rounds=rounds, warmup=0)
    benchmark.extra_info["images"] = n_images
    check_ratio(
        benchmark,
        f"synthetic-{size}-vs-jpeg-encoding",
        gen["median_s"],
        enc["median_s"],
        max_ratio=GENERATION_VS_ENCODING,
        candidate="generation",
        baseline="jpeg_encoding",
    )


def test_generate_small(benchmark, tmp_path):
    out = tmp_path / "synth"
    _budget(benchmark, out, "small", rounds=1)
    assert _size_mb(out) < 50.0


def test_generate_tiny(benchmark, tmp_path):
    _budget(benchmark, tmp_path / "synth", "tiny", rounds=3)
