"""Reference Reconstruction Similarity Metric (SPEC appendix b). Placeholder until the association issue lands."""
import torch


def rsm(track_feats, det_feats, *, temperature=0.01) -> torch.Tensor:
    raise NotImplementedError("unitrack_ext.reference.rsm is not implemented yet")


def rsm_packed(track_points, track_sizes, det_points, det_sizes, *, temperature=0.01) -> torch.Tensor:
    raise NotImplementedError("unitrack_ext.reference.rsm_packed is not implemented yet")
