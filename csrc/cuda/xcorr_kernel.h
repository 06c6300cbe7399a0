#pragma once
// Raw CUDA launchers of unitrack::xcorr (no torch headers: compiled by scripts/cuda_compile_check.sh with plain nvcc).
//   out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * templ[(s,) k, i, j]
// search: contiguous [S, C, H, W]; templ: contiguous [C, h, w] (per_scale = false) or [S, C, h, w]; out: [S, Ho, Wo]
// with Ho = H-h+1, Wo = W-w+1. The channel sum may be split over `splits` blocks that write partial sums into
// `workspace` ([splits, S, Ho, Wo] elements, only used when splits > 1) and a second kernel adds them up in a fixed
// order (deterministic).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace unitrack {
namespace cuda {

struct XcorrShape {
  int64_t S, C, H, W, h, w;
  bool per_scale;
};

// Channel splits chosen for the shape and the current device (fills about two waves of blocks).
int xcorr_num_splits(const XcorrShape& shape, int device);
// Workspace elements needed for `splits` (0 when splits == 1).
size_t xcorr_workspace_elems(const XcorrShape& shape, int splits);

// Naming: launch_<op>[_<stage>]<T> (all launchers: device pointers, the caller's stream, returns cudaError_t).
template <typename T>
cudaError_t launch_xcorr(const T* search, const T* templ, T* out, T* workspace, const XcorrShape& shape, int splits,
                         cudaStream_t stream);

}  // namespace cuda
}  // namespace unitrack
