#pragma once
// The geometry of unitrack::topk_affinity / topk_propagate, shared by the CPU kernels and the CUDA launcher (no torch
// headers: csrc/cuda/*.cu include it too). Semantics (SPEC appendix a): candidate m = t*H*W + y*W + x; frames
// t < n_global, or every frame when radius <= 0, are searched whole; in the others a candidate is admissible when the
// grid distance sqrt(dy^2 + dx^2) < radius (the reference's float64 test). Fewer than K admissible candidates: the
// remaining slots take the lowest-index inadmissible candidates with the mask's logit kMaskValue / temperature.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace unitrack {

// The dense reference's additive mask value (applied before the division by the temperature).
constexpr double kTopkMaskValue = -1e10;

struct TopkGeometry {
  int64_t T = 0, C = 0, H = 0, W = 0, HW = 0, K = 0, n_global = 0;
  bool restricted = false;  // radius > 0: frames t >= n_global are windowed
  int64_t maxdy = -1;       // largest |dy| with an admissible dx (-1: none)
  std::vector<int64_t> hw;  // hw[d] = largest |dx| admissible at |dy| = d, or -1 (d < H)
  bool is_global(int64_t t) const { return !restricted || t < n_global; }
};

// hw[d] = largest dx with sqrt(d^2 + dx^2) < radius, or -1 (d < H); returns maxdy. O(H + admissible cells of one
// quadrant row scan); the table has H entries (H <= the number of output columns).
inline int64_t topk_radius_table(int64_t H, int64_t W, double radius, std::vector<int64_t>& hw) {
  hw.assign(static_cast<size_t>(std::max<int64_t>(H, 1)), -1);
  int64_t maxdy = -1;
  if (!(radius > 0)) return maxdy;
  for (int64_t d = 0; d < H; ++d) {
    // Exactly the reference's test in float64 (exact for d, dx < 2^26; no integer overflow for any size).
    const double dd = static_cast<double>(d) * static_cast<double>(d);
    if (!(std::sqrt(dd) < radius)) break;  // no dx admissible at this or any larger |dy|
    int64_t best = -1;
    for (int64_t dx = 0; dx < W; ++dx) {
      if (std::sqrt(dd + static_cast<double>(dx) * static_cast<double>(dx)) < radius)
        best = dx;
      else
        break;
    }
    hw[static_cast<size_t>(d)] = best;
    if (best >= 0) maxdy = d;
  }
  return maxdy;
}

// K = min(topk, T*H*W); the caller has checked T*H*W for overflow (topk_check_args).
inline TopkGeometry make_topk_geometry(int64_t T, int64_t C, int64_t H, int64_t W, int64_t topk, double radius,
                                       int64_t n_global) {
  TopkGeometry g;
  g.T = T;
  g.C = C;
  g.H = H;
  g.W = W;
  g.HW = H * W;
  g.K = std::min<int64_t>(topk, T * H * W);
  g.n_global = n_global;
  g.restricted = radius > 0;
  g.maxdy = topk_radius_table(H, W, radius, g.hw);
  return g;
}

}  // namespace unitrack
