"""unitrack.associate: stage-1 association for other trackers, incl. a runnable SORT-style example and bad input."""

import numpy as np
import pytest
import torch

import unitrack
from unitrack.association import KalmanFilter, fuse_motion, rsm_cost, tlwh_to_xyah
from unitrack_ext import reference

pytestmark = pytest.mark.usefixtures("one_thread")


def _sets(n, P=6, C=8, seed=0, protos=None):
    g = torch.Generator().manual_seed(seed)
    if protos is None:
        protos = torch.rand(n, C, generator=g)
    return protos[:, None, :] + 0.05 * torch.rand(n, P, C, generator=g), protos


def test_appearance_only_matches_reference_rsm():
    t, protos = _sets(4, seed=1)
    d, _ = _sets(5, seed=2, protos=torch.cat([protos[[2, 0, 3, 1]], torch.rand(1, 8)]))
    m, ut, ud, cost = unitrack.associate(t, d)
    ref = 1 - reference.rsm(list(t), list(d), temperature=0.01)
    np.testing.assert_allclose(cost, ref.numpy(), rtol=1e-5, atol=1e-6)
    assert cost.dtype == np.float32 and cost.shape == (4, 5)
    assert sorted(map(tuple, m.tolist())) == [(0, 1), (1, 3), (2, 0), (3, 2)]
    assert ut.tolist() == [] and ud.tolist() == [4]
    assert m.dtype == ut.dtype == ud.dtype == np.int64


def test_features_on_device(device):
    t, protos = _sets(3, seed=8)
    d, _ = _sets(2, seed=9, protos=protos[[2, 0]])
    m, ut, ud, cost = unitrack.associate(t.to(device), d.to(device))
    assert isinstance(cost, np.ndarray) and m.tolist() == [[0, 1], [2, 0]] and ut.tolist() == [1]
    np.testing.assert_allclose(cost, unitrack.associate(t, d)[3], rtol=1e-4, atol=1e-5)


def test_input_forms_agree():
    t, protos = _sets(3, P=40, seed=3)
    d, _ = _sets(3, P=40, seed=4, protos=protos)
    base = unitrack.associate(t, d)[3]
    grids = t.transpose(1, 2).reshape(3, 8, 4, 10)  # [N, C, 4, 10] like roi_align output, row-major points
    np.testing.assert_allclose(unitrack.associate(grids, d.numpy())[3], base, rtol=1e-6)
    np.testing.assert_allclose(unitrack.associate(list(t), [x.numpy() for x in d])[3], base, rtol=1e-6)
    packed = (t.reshape(-1, 8), torch.tensor([40, 40, 40]))
    np.testing.assert_allclose(unitrack.associate(packed, d)[3], base, rtol=1e-6)
    assert unitrack.associate(t.double(), d.double())[3].dtype == np.float64


def test_motion_fusion_and_gating():
    t, protos = _sets(2, seed=5)
    d, _ = _sets(2, seed=6, protos=protos)
    kf = KalmanFilter()
    boxes = np.array([[100.0, 200.0, 50.0, 100.0], [300.0, 200.0, 50.0, 100.0]])
    means, covs = kf.predict(*kf.initiate(tlwh_to_xyah(boxes)))
    det = boxes.copy()
    det[1, 0] += 55.0  # d2 = 16 > 9.4877: gated although the appearance matches
    m, ut, ud, cost = unitrack.associate(t, d, track_means=means, track_covs=covs, det_boxes=det)
    app = rsm_cost(t, d)
    np.testing.assert_allclose(cost, fuse_motion(app, means, covs, tlwh_to_xyah(det), motion_lambda=0.98, gate=True))
    assert np.isinf(cost[1, 1]) and m.tolist() == [[0, 0]] and ut.tolist() == [1] and ud.tolist() == [1]
    m2, _, _, cost2 = unitrack.associate(t, d, track_means=means, track_covs=covs, det_boxes=det, gate=False)
    assert np.isfinite(cost2).all() and cost2[1, 1] == pytest.approx(0.98 * app[1, 1] + 0.02 * 16, rel=1e-4)
    assert m2.tolist() == [[0, 0], [1, 1]]
    # motion_lambda = 1 and no gate: the appearance cost
    np.testing.assert_array_equal(
        unitrack.associate(t, d, track_means=means, track_covs=covs, det_boxes=det, motion_lambda=1.0, gate=False)[3],
        app,
    )


def test_pad_like_reference_with_ragged_sets():
    g = torch.Generator().manual_seed(7)
    ts = [torch.rand(3, 8, generator=g), torch.rand(7, 8, generator=g)]
    ds = [torch.rand(5, 8, generator=g), torch.rand(2, 8, generator=g), torch.rand(6, 8, generator=g)]
    ragged = unitrack.associate(ts, ds)[3]
    padded = unitrack.associate(ts, ds, pad_like_reference=True)[3]
    # explicit zero padding to the largest set per side: the zero points are real points of the dense sets
    zt = torch.zeros(2, 7, 8)
    zd = torch.zeros(3, 6, 8)
    for i, s in enumerate(ts):
        zt[i, : len(s)] = s
    for j, s in enumerate(ds):
        zd[j, : len(s)] = s
    np.testing.assert_allclose(padded, 1 - reference.rsm(list(zt), list(zd)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ragged, 1 - reference.rsm(ts, ds).numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(padded - ragged).max() > 1e-3


@pytest.mark.parametrize("N,M", [(0, 0), (0, 3), (2, 0)])
def test_empty_sets(N, M):
    t, d = torch.rand(N, 4, 8), torch.rand(M, 4, 8)
    kf = KalmanFilter()
    means, covs = kf.initiate(np.tile([10.0, 10.0, 0.5, 20.0], (N, 1)))
    m, ut, ud, cost = unitrack.associate(t, d, track_means=means, track_covs=covs, det_boxes=np.ones((M, 4)))
    assert m.shape == (0, 2) and ut.tolist() == list(range(N)) and ud.tolist() == list(range(M))
    assert cost.shape == (N, M)
    assert unitrack.associate([], [])[3].shape == (0, 0)


def test_bad_input():
    t, d = torch.rand(2, 4, 8), torch.rand(3, 4, 8)
    kf = KalmanFilter()
    means, covs = kf.initiate(np.tile([10.0, 10.0, 0.5, 20.0], (2, 1)))
    boxes = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"det_feats\[0\] has C=5"):
        unitrack.associate(t, torch.rand(3, 4, 5))
    bad = t.clone()
    bad[1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"track_feats\[1\] contains NaN or inf"):
        unitrack.associate(bad, d)
    bad[1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match="track_feats"):
        unitrack.associate(bad, d)
    with pytest.raises(ValueError, match="sizes"):
        unitrack.associate((torch.rand(4, 8), torch.tensor([5, -1])), d)
    with pytest.raises(ValueError, match="sizes sum"):
        unitrack.associate((torch.rand(4, 8), torch.tensor([1, 2])), d)
    with pytest.raises(ValueError, match=r"det_boxes\[1\]"):
        b = boxes.copy()
        b[1, 2] = 0
        unitrack.associate(t, d, track_means=means, track_covs=covs, det_boxes=b)
    with pytest.raises(ValueError, match=r"det_boxes must have shape \[M=3, 4\]"):
        unitrack.associate(t, d, track_means=means, track_covs=covs, det_boxes=np.ones((3, 5)))
    with pytest.raises(ValueError, match="track_means must have shape"):
        unitrack.associate(t, d, track_means=means[:1], track_covs=covs, det_boxes=boxes)
    with pytest.raises(ValueError, match="track_covs must have shape"):
        unitrack.associate(t, d, track_means=means, track_covs=covs[:, :4, :4], det_boxes=boxes)
    neg = covs.copy()
    neg[1, 0, 0] = -5.0
    with pytest.raises(ValueError, match=r"track_covs\[1\] is not positive definite"):
        unitrack.associate(t, d, track_means=means, track_covs=neg, det_boxes=boxes)
    with pytest.raises(ValueError, match="missing"):
        unitrack.associate(t, d, track_means=means, track_covs=covs)
    with pytest.raises(ValueError, match="track_feats must be"):
        unitrack.associate(torch.rand(2, 8), d)
    with pytest.raises(TypeError, match="floating"):
        unitrack.associate(torch.ones(2, 4, 8, dtype=torch.int64), d)
    with pytest.raises(ValueError, match="threshold"):
        unitrack.associate(t, d, threshold=-1)
    with pytest.raises(ValueError, match="temperature"):
        unitrack.associate(t, d, temperature=0)
    with pytest.raises(ValueError, match="motion_lambda"):
        unitrack.associate(t, d, motion_lambda=1.5)


# ------------------------------------------------------------------------------------------------ the README example
class SortLikeTracker:
    """A minimal SORT/ByteTrack-style tracker that delegates stage-1 association to ``unitrack.associate``."""

    def __init__(self, max_age: int = 5):
        self.kf = KalmanFilter()
        self.max_age = max_age
        self.ids: list[int] = []
        self.feats: list[torch.Tensor] = []  # each track's latest feature set [P, C]
        self.means = np.zeros((0, 8))
        self.covs = np.zeros((0, 8, 8))
        self.age: list[int] = []
        self.next_id = 1

    def step(self, det_tlwh: np.ndarray, det_feats: torch.Tensor) -> list[int]:
        """Returns the track id of every detection."""
        if self.ids:
            self.means, self.covs = self.kf.predict(self.means, self.covs)
        matches, u_trk, u_det, _ = unitrack.associate(
            self.feats, det_feats, track_means=self.means, track_covs=self.covs, det_boxes=det_tlwh
        )
        out = [0] * len(det_tlwh)
        for t, d in matches:
            self.means[t], self.covs[t] = self.kf.update(self.means[t], self.covs[t], tlwh_to_xyah(det_tlwh[d]))
            self.feats[t], self.age[t], out[d] = det_feats[d], 0, self.ids[t]
        for t in u_trk:
            self.age[t] += 1
        keep = [i for i, a in enumerate(self.age) if a <= self.max_age]
        self.ids, self.feats, self.age = (
            [self.ids[i] for i in keep],
            [self.feats[i] for i in keep],
            [self.age[i] for i in keep],
        )
        self.means, self.covs = self.means[keep], self.covs[keep]
        for d in u_det:
            m, c = self.kf.initiate(tlwh_to_xyah(det_tlwh[d]))
            self.means, self.covs = np.vstack([self.means, m[None]]), np.concatenate([self.covs, c[None]])
            self.ids.append(self.next_id)
            self.feats.append(det_feats[d])
            self.age.append(0)
            out[d] = self.next_id
            self.next_id += 1
        return out


def test_readme_example_sort_like_tracker_keeps_ids():
    g = torch.Generator().manual_seed(11)
    rng = np.random.default_rng(11)
    protos = torch.rand(3, 16, generator=g)
    start = np.array([[50.0, 100.0], [300.0, 100.0], [170.0, 220.0]])
    vel = np.array([[8.0, 0.0], [-8.0, 0.0], [0.0, -6.0]])
    tracker = SortLikeTracker()
    first = None
    for f in range(12):
        order = rng.permutation(3)  # detections arrive in a different order every frame
        xy = start + f * vel
        tlwh = np.c_[xy, np.full(3, 40.0), np.full(3, 90.0)][order]
        feats = protos[order][:, None, :] + 0.05 * torch.rand(3, 10, 16, generator=g)
        ids = tracker.step(tlwh, feats)
        by_object = dict(zip(order.tolist(), ids))
        if first is None:
            first = by_object
            assert sorted(first.values()) == [1, 2, 3]
        assert by_object == first, f"identity switch at frame {f}"
