#pragma once
// Raw CUDA launchers of unitrack::topk_affinity / unitrack::topk_propagate (no torch headers; CUDA runtime + std only).
// Semantics: see csrc/cpu/topk_propagate.cpp (SPEC appendix a). The torch-facing wrapper is topk_propagate_cuda.cpp.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace unitrack {
namespace cuda {

struct TopkParams {
  int64_t B, T, C, H, W, K;  // K = min(topk, T*H*W) >= 1
  int64_t n_global;          // frames t < n_global are searched whole
  bool restricted;           // radius > 0: frames t >= n_global only within the radius
  int maxdy;                 // largest |dy| with an admissible |dx| (-1: none)
  double temperature;
};

// hw[d] = largest |dx| with sqrt(d^2 + dx^2) < radius (the reference's float64 test), or -1; returns maxdy.
inline int topk_radius_table(int64_t H, int64_t W, double radius, std::vector<int>& hw) {
  hw.assign(H > 0 ? H : 1, -1);
  int maxdy = -1;
  if (!(radius > 0)) return maxdy;
  for (int64_t d = 0; d < H; ++d) {
    int best = -1;
    for (int64_t dx = 0; dx < W; ++dx) {
      if (std::sqrt(static_cast<double>(d * d + dx * dx)) < radius)
        best = static_cast<int>(dx);
      else
        break;
    }
    hw[d] = best;
    if (best >= 0) maxdy = static_cast<int>(d);
  }
  return maxdy;
}

// weights/indices: [B, K, H*W]. hw: device array of H ints (topk_radius_table).
cudaError_t launch_topk_affinity_f32(const float* query, const float* keys, const int* hw, const TopkParams& p,
                                     float* weights, int64_t* indices, cudaStream_t stream);
cudaError_t launch_topk_affinity_f64(const double* query, const double* keys, const int* hw, const TopkParams& p,
                                     double* weights, int64_t* indices, cudaStream_t stream);
// out[b, l, n] = sum_k weights[b, k, n] * labels[b, idx / HW, l, idx % HW]
cudaError_t launch_topk_gather_f32(const float* weights, const int64_t* indices, const float* labels, float* out,
                                   int64_t B, int64_t T, int64_t L, int64_t HW, int64_t K, cudaStream_t stream);
cudaError_t launch_topk_gather_f64(const double* weights, const int64_t* indices, const double* labels, double* out,
                                   int64_t B, int64_t T, int64_t L, int64_t HW, int64_t K, cudaStream_t stream);

}  // namespace cuda
}  // namespace unitrack
