"""Pose-propagation head: follows moving joints, equals the reference's padded loop, bad inputs."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from _synth_vos import H, W, square_sequence  # noqa: E402
from unitrack.heads.poseprop import PosePropagator, PosePropConfig, run_poseprop_sequence  # noqa: E402
from unitrack.model import ColorStatsModel  # noqa: E402
from unitrack.propagation.pose import belief_maps, readout_topk  # noqa: E402
from unitrack_ext.reference.topk_propagate import topk_propagate as ref_topk_propagate  # noqa: E402

STEP = 4


def centres(t):
    """Centres of the two 24-px squares of square_sequence(step=(4, 4), size=24) at frame t, as [J, 2] (x, y)."""
    ya, xa = 10 + STEP * t, 8 + STEP * t
    yb, xb = 34 - STEP * t, 60 - STEP * t
    return np.array([[xa + 12, ya + 12], [xb + 12, yb + 12]], dtype=np.float64)


@pytest.fixture(scope="module")
def seq():
    frames, _ = square_sequence(n_frames=6, seed=0, step=(STEP, STEP), size=24)
    return frames


@pytest.fixture(scope="module")
def model():
    return ColorStatsModel()


def test_config_defaults():
    c = PosePropConfig()
    assert (c.temperature, c.topk, c.radius, c.n_context, tuple(c.long_mem), c.readout_topk) == (
        0.05,
        10,
        12.0,
        5,
        (0,),
        3,
    )


def test_follows_moving_joints(seq, model):
    out = run_poseprop_sequence(model, seq, centres(0))
    assert out.shape == (6, 2, 2)
    np.testing.assert_allclose(out[0], centres(0), atol=8)  # read-out of the frame-0 belief maps
    for t in range(1, 6):
        err = np.abs(out[t] - centres(t)).max()
        assert err <= 10, (t, out[t], centres(t))
    static = np.abs(centres(0) - centres(5)).max()
    assert np.abs(out[5] - centres(5)).max() < static - 8


def test_equals_reference_padded_loop(model, device):
    frames, _ = square_sequence(n_frames=7, seed=2, step=(3, 2), size=24)
    cfg = PosePropConfig()
    joints = np.array([[20.0, 22.0], [70.0, 45.0], [-5.0, 10.0]])  # one joint outside the image
    feats = F.normalize(model.features(frames).float(), dim=1)
    h, w = feats.shape[-2:]
    lab0 = torch.from_numpy(belief_maps(joints.T / 8.0, h, w)).permute(2, 0, 1)
    n = cfg.n_context
    padded = [feats[0]] * n + list(feats)
    lbls = [lab0] * (n + 1) + [None] * (len(frames) - 1)
    tr = PosePropagator(ColorStatsModel().to(device), cfg)
    tr.init(frames[0], joints)
    torch.testing.assert_close(tr.soft.cpu(), lab0)
    for t in range(1, len(frames)):
        idx = [0] + list(range(t, t + n))
        pred = ref_topk_propagate(
            padded[t + n], torch.stack([padded[i] for i in idx]), torch.stack([lbls[i] for i in idx]), n_global=1
        )
        lbls[t + n] = pred
        got = tr.track(frames[t])
        torch.testing.assert_close(tr.soft.cpu(), pred, atol=1e-5, rtol=1e-5)
        xy = readout_topk(pred).numpy().astype(np.float64)
        exp = np.where(xy[0][None] >= 0, xy * 8, -1.0).T
        np.testing.assert_allclose(got, exp, atol=1e-4)


def test_lost_joint_is_minus_one(model):
    frames, _ = square_sequence(n_frames=2, seed=3)
    # a joint far outside: its belief map is all zero, so it propagates nothing and reads out as -1
    out = run_poseprop_sequence(model, frames, np.array([[30.0, 30.0], [500.0, 500.0]]))
    assert out[1, 1].tolist() == [-1.0, -1.0]
    assert out[1, 0, 0] >= 0


def test_bad_inputs(model, seq):
    p = PosePropagator(model)
    with pytest.raises(RuntimeError, match="init"):
        p.track(seq[0])
    with pytest.raises(ValueError, match="joints"):
        p.init(seq[0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="joints"):
        p.init(seq[0], np.array([[np.nan, 1.0]]))
    p.init(seq[0], centres(0))
    with pytest.raises(ValueError, match="frame"):
        p.track(np.zeros((H, W + 8, 3), np.uint8))
    bad = list(seq[:3]) + [np.zeros((H - 8, W, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"frames\[3\]"):
        run_poseprop_sequence(model, bad, centres(0))


def test_cli_parser():
    import argparse

    from unitrack.heads.poseprop import add_parser

    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="command"))
    a = p.parse_args(["poseprop", "--filelist", "list.txt", "--limit", "3"])
    assert a.func is not None and a.limit == 3 and a.crop_size == 320 and a.topk == 10
