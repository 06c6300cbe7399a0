"""VOS head (SPEC §2, appendix a): follows objects, preserves ids, equals the reference's padded-memory loop."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from _synth_vos import H, W, iou, square_sequence  # noqa: E402
from unitrack.heads.vos import VOSConfig, VOSTracker, run_vos_sequence  # noqa: E402
from unitrack.model import ColorStatsModel  # noqa: E402
from unitrack.propagation.mask import LabelMemory, downsample_labels, upsample_argmax  # noqa: E402
from unitrack_ext.reference.topk_propagate import topk_propagate as ref_topk_propagate  # noqa: E402


@pytest.fixture(scope="module")
def seq():
    return square_sequence(n_frames=6, seed=0, ids=(3, 7))


@pytest.fixture(scope="module")
def model():
    return ColorStatsModel()


@pytest.fixture(scope="module")
def vos_out(seq, model):
    frames, masks = seq
    return run_vos_sequence(model, frames, masks[0])


def test_config_defaults_match_spec():
    c = VOSConfig()
    assert (c.temperature, c.topk, c.radius, c.n_context, tuple(c.long_mem)) == (0.05, 10, 12.0, 5, (0,))
    assert c.norm_mask is False and c.l2_normalize is True


def test_follows_objects_and_preserves_ids(seq, vos_out):
    frames, masks = seq
    assert len(vos_out) == len(frames)
    np.testing.assert_array_equal(vos_out[0], masks[0])
    for t in range(1, len(frames)):
        out = vos_out[t]
        assert out.shape == (H, W) and out.dtype == masks[0].dtype
        assert set(np.unique(out)) <= {0, 3, 7}
        for oid in (3, 7):
            assert iou(out == oid, masks[t] == oid) > 0.55, (t, oid)
    # the objects moved far: a static copy of the first mask scores much lower than the propagation
    for oid in (3, 7):
        assert iou(vos_out[-1] == oid, masks[-1] == oid) > iou(masks[0] == oid, masks[-1] == oid) + 0.4


def _reference_loop(model, frames, first_mask, cfg: VOSConfig):
    """The reference protocol, written out: padded frame list [f0]*n + frames, labels zeroed from index n, key slots
    [0, t, ..., t+n-1], one topk_propagate per target, labels down-sampled with cv2.resize, output = argmax of the
    cv2-up-sampled prediction."""
    n = cfg.n_context
    feats = F.normalize(model.features(frames).float(), dim=1)
    ids = np.unique(first_mask)
    onehot = np.stack([(first_mask == i) for i in ids], axis=-1).astype(np.float32)  # [H, W, L]
    h, w = feats.shape[-2:]
    lab0 = cv2.resize(onehot, (w, h), interpolation=cv2.INTER_LINEAR)
    lab0 = torch.from_numpy(lab0.reshape(h, w, -1)).permute(2, 0, 1).float()
    padded = [feats[0]] * n + [feats[i] for i in range(len(frames))]
    lbls = [lab0] * n + [torch.zeros_like(lab0) for _ in frames]
    lbls[n] = lab0
    softs, hards = [lab0], []
    for t in range(1, len(frames)):
        keys_idx = [0] + list(range(t, t + n))
        keys = torch.stack([padded[i] for i in keys_idx])
        labs = torch.stack([lbls[i] for i in keys_idx])
        pred = ref_topk_propagate(
            padded[t + n], keys, labs, topk=cfg.topk, temperature=cfg.temperature, radius=cfg.radius, n_global=1
        )
        lbls[t + n] = pred
        softs.append(pred)
        up = cv2.resize(pred.permute(1, 2, 0).numpy(), (frames[0].shape[1], frames[0].shape[0]))
        hards.append(ids[up.reshape(up.shape[0], up.shape[1], -1).argmax(-1)])
    return softs, hards


@pytest.mark.parametrize("n_frames", [7])
def test_equals_reference_padded_protocol(model, n_frames, device):
    """The head (on ``device``) equals the reference loop computed on CPU."""
    frames, masks = square_sequence(n_frames=n_frames, seed=3, ids=(1, 2), step=(4, 3))
    cfg = VOSConfig()
    softs, hards = _reference_loop(model, frames, masks[0], cfg)
    tr = VOSTracker(ColorStatsModel().to(device), VOSConfig())
    tr.init(frames[0], masks[0])
    assert tr.soft.device.type == device.type
    torch.testing.assert_close(tr.soft.cpu(), softs[0], atol=1e-5, rtol=0)
    for t in range(1, n_frames):  # more frames than n_context: covers the padded and the filled memory
        out = tr.track(frames[t])
        torch.testing.assert_close(tr.soft.cpu(), softs[t], atol=1e-5, rtol=1e-5)
        agree = np.mean(out == hards[t - 1])
        assert agree > 0.999, (t, agree)


def test_soft_predictions_are_distributions(seq, model):
    frames, masks = seq
    tr = VOSTracker(model)
    tr.init(frames[0], masks[0])
    for f in frames[1:3]:
        tr.track(f)
        s = tr.soft
        assert s.shape == (3, 8, 12)
        torch.testing.assert_close(s.sum(0), torch.ones(8, 12), atol=1e-5, rtol=0)
        assert float(s.min()) >= 0


def test_downsample_matches_cv2():
    rng = np.random.default_rng(1)
    m = (rng.random((61, 90)) > 0.5).astype(np.float32)
    ours = downsample_labels(torch.from_numpy(m)[None], (8, 12))[0].numpy()
    ref = cv2.resize(m, (12, 8), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_upsample_matches_cv2():
    rng = np.random.default_rng(2)
    p = rng.random((4, 8, 12)).astype(np.float32)
    ours = upsample_argmax(torch.from_numpy(p), (61, 90)).numpy()
    ref = cv2.resize(p.transpose(1, 2, 0), (90, 61)).argmax(-1)
    assert np.mean(ours == ref) > 0.999


def test_noncontiguous_ids_and_uint16(model):
    frames, masks = square_sequence(n_frames=3, seed=4, ids=(3, 7))
    first = masks[0].astype(np.uint16) * 100  # ids {0, 300, 700}
    out = run_vos_sequence(model, frames, first)
    assert out[1].dtype == np.uint16
    assert set(np.unique(out[2])) == {0, 300, 700}
    assert iou(out[2] == 300, masks[2] == 3) > 0.55


def test_mask_without_objects(model):
    frames, _ = square_sequence(n_frames=3, seed=5)
    out = run_vos_sequence(model, frames, np.zeros((H, W), dtype=np.uint8))
    assert all(o.shape == (H, W) and not o.any() for o in out)


def test_mask_without_background_id(model):
    frames, _ = square_sequence(n_frames=2, seed=6)
    full = np.full((H, W), 5, dtype=np.uint8)
    out = run_vos_sequence(model, frames, full)
    assert np.all(out[1] == 5)


def test_bad_inputs(model):
    frames, masks = square_sequence(n_frames=3, seed=7)
    tr = VOSTracker(model)
    with pytest.raises(RuntimeError, match="init"):
        tr.track(frames[0])
    with pytest.raises(ValueError, match="mask"):
        tr.init(frames[0], masks[0][:-1])
    with pytest.raises(TypeError, match="mask"):
        tr.init(frames[0], masks[0].astype(np.float32))
    with pytest.raises(ValueError, match="frame"):
        tr.init(frames[0][..., :2], masks[0])
    tr.init(frames[0], masks[0])
    with pytest.raises(ValueError, match="frame"):
        tr.track(frames[1][:, :-8])
    bad = list(frames)
    bad[2] = np.zeros((H + 8, W, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"frames\[2\]"):
        run_vos_sequence(model, bad, masks[0])
    with pytest.raises(ValueError, match="first_mask"):
        run_vos_sequence(model, frames, masks[0][:, :-1])
    with pytest.raises(ValueError, match="frames"):
        run_vos_sequence(model, [], masks[0])
    with pytest.raises(ValueError, match="n_context"):
        VOSTracker(model, VOSConfig(n_context=0))


def test_memory_protocol_slots():
    """The memory holds frame 0 (global) + n_context short-term frames, padded with frame-0 copies."""
    mem = LabelMemory(VOSConfig(n_context=3))
    f = [torch.full((2, 2, 2), float(i)) for i in range(6)]
    lab = torch.zeros(1, 2, 2)
    mem.reset(f[0], lab)
    keys, _, ng = mem.memory()
    assert ng == 1 and [int(k[0, 0, 0]) for k in keys] == [0, 0, 0, 0]
    for i in range(1, 5):
        mem.push(f[i], lab)
    keys, _, _ = mem.memory()
    assert [int(k[0, 0, 0]) for k in keys] == [0, 2, 3, 4]


def test_run_matches_track_loop(seq, model, vos_out):
    frames, masks = seq
    tr = VOSTracker(model)
    tr.init(frames[0], masks[0])
    for t in range(1, len(frames)):
        np.testing.assert_array_equal(tr.track(frames[t]), vos_out[t])


def test_extreme_ids_preserved(model):
    frames, masks = square_sequence(n_frames=2, seed=8, ids=(3, 7))
    first = masks[0].astype(np.int64)
    first[first == 3] = -2
    first[first == 7] = 10**12
    out = run_vos_sequence(model, frames, first)
    assert out[1].dtype == np.int64 and set(np.unique(out[1])) == {0, -2, 10**12}


def test_run_davis_and_cli_parser(tmp_path, model):
    import argparse

    from test_davis_io import make_davis
    from unitrack.data.davis import read_mask
    from unitrack.heads.vos import add_parser, run_davis
    from unitrack.metrics.davis import evaluate_davis

    root = str(tmp_path / "DAVIS")
    make_davis(root, seqs=("cows",), n=4, size=(32, 48))
    out = str(tmp_path / "out")
    assert run_davis(model, root, out, split="val", progress=False) == ["cows"]
    files = sorted(os.listdir(os.path.join(out, "cows")))
    assert files == ["00000.png", "00001.png", "00002.png", "00003.png"]
    assert set(np.unique(read_mask(os.path.join(out, "cows", "00002.png")))) <= {0, 1, 2}
    r = evaluate_davis(out, root, split="val", progress=False)
    assert set(r.per_object) == {"cows_1", "cows_2"} and 0.0 <= r.summary["J&F-Mean"] <= 1.0
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="command"))
    a = p.parse_args(["vos", "--davis-root", root, "--out", out, "--topk", "5"])
    assert a.func is not None and a.topk == 5 and a.split == "val"
