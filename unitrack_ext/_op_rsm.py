import torch

from . import HAS_EXT
from .reference.rsm import rsm as _ref_rsm


def rsm(track_feats, det_feats, *, temperature=0.01) -> torch.Tensor:
    """Reconstruction Similarity Metric. (Placeholder wrapper; see the association issue.)"""
    return _ref_rsm(track_feats, det_feats, temperature=temperature)
