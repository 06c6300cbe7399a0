#pragma once
// Raw CUDA launchers of unitrack::topk_affinity / unitrack::topk_propagate (no torch headers; CUDA runtime + std only).
// Semantics: see csrc/cpu/topk_propagate.cpp (SPEC appendix a). The torch-facing wrapper is topk_propagate_cuda.cpp.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/topk_geometry.h"  // kTopkMaskValue, topk_radius_table: the geometry shared with the CPU kernels

namespace unitrack {
namespace cuda {

struct TopkParams {
  int64_t B, T, C, H, W, K;  // K = min(topk, T*H*W) >= 1
  int64_t n_global;          // frames t < n_global are searched whole
  bool restricted;           // radius > 0: frames t >= n_global only within the radius
  int maxdy;                 // largest |dy| with an admissible |dx| (-1: none)
  double temperature;
};

// All launchers: device pointers, the caller's stream; they return the launch's cudaError_t (checked by the caller
// with UNITRACK_CUDA_CHECK, csrc/cuda/launch.h). Naming: launch_<op>[_<stage>]<T>.
// weights/indices: [B, K, H*W]. hw: device array of H ints (topk_radius_table of ops/topk_geometry.h).
template <typename T>
cudaError_t launch_topk_affinity(const T* query, const T* keys, const int* hw, const TopkParams& p, T* weights,
                                 int64_t* indices, cudaStream_t stream);
// out[b, l, n] = sum_k weights[b, k, n] * labels[b, idx / HW, l, idx % HW]
template <typename T>
cudaError_t launch_topk_gather(const T* weights, const int64_t* indices, const T* labels, T* out, int64_t B, int64_t T_,
                               int64_t L, int64_t HW, int64_t K, cudaStream_t stream);

}  // namespace cuda
}  // namespace unitrack
