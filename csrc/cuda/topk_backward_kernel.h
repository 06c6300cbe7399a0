#pragma once
// Raw CUDA launchers of the top-K selection primitives behind the topk backward (issue #16; no torch headers). The
// gather itself (_topk_gather) is launch_topk_gather of topk_propagate_kernel.h. Semantics: csrc/cpu/topk_backward.cpp.
// NOT YET RUN ON A GPU: compiled by `make cuda-check` (sm_80, sm_90) only; the CPU kernels are the tested ones.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace unitrack {
namespace cuda {

// out[b, k, n] = sum_x grad[b, x, n] * src[b, t, x, mm]   (indices[b, k, n] = t*HW + mm; out [B, K, HW])
template <typename T>
cudaError_t launch_topk_gather_dot(const T* grad, const int64_t* indices, const T* src, T* out, int64_t B, int64_t T_,
                                   int64_t X, int64_t HW, int64_t K, cudaStream_t stream);
// out[b, t, x, mm] += weights[b, k, n] * grad[b, x, n] for every (k, n) with indices[b, k, n] = t*HW + mm
// (out [B, T, X, HW] zero-filled by the caller; atomics: the summation order, so the last bits, vary run to run).
template <typename T>
cudaError_t launch_topk_scatter(const T* weights, const int64_t* indices, const T* grad, T* out, int64_t B, int64_t T_,
                                int64_t X, int64_t HW, int64_t K, cudaStream_t stream);

}  // namespace cuda
}  // namespace unitrack
