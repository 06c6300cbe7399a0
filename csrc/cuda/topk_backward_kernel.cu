// CUDA kernels of the top-K selection primitives behind the topk backward (issue #16): direct ports of the CPU kernels
// (csrc/cpu/kernels/topk_backward.h), one thread per output element of gather_dot and one per (b, x, n) source
// element of scatter, which adds its K contributions with atomicAdd (float and double: sm_60 and up).
// NOT YET RUN ON A GPU: compiled by `make cuda-check` only (see the README).
#include "cuda/topk_backward_kernel.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace unitrack {
namespace cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void topk_gather_dot_kernel(const T* __restrict__ grad, const int64_t* __restrict__ idx,
                                       const T* __restrict__ src, T* __restrict__ out, int64_t B, int64_t T_, int64_t X,
                                       int64_t HW, int64_t K) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= B * K * HW) return;
  const int64_t b = p / (K * HW), n = p % HW;
  const int64_t m = idx[p], t = m / HW, mm = m % HW;
  const T* g = grad + b * X * HW + n;
  const T* s = src + (b * T_ + t) * X * HW + mm;
  T acc = T(0);
  for (int64_t x = 0; x < X; ++x) acc += g[x * HW] * s[x * HW];
  out[p] = acc;
}

template <typename T>
__global__ void topk_scatter_kernel(const T* __restrict__ w, const int64_t* __restrict__ idx,
                                    const T* __restrict__ grad, T* __restrict__ out, int64_t B, int64_t T_, int64_t X,
                                    int64_t HW, int64_t K) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= B * X * HW) return;
  const int64_t b = p / (X * HW), x = (p / HW) % X, n = p % HW;
  const T gv = grad[p];
  for (int64_t k = 0; k < K; ++k) {
    const int64_t e = (b * K + k) * HW + n;
    const int64_t m = idx[e], t = m / HW, mm = m % HW;
    atomicAdd(out + ((b * T_ + t) * X + x) * HW + mm, w[e] * gv);
  }
}

inline unsigned blocks_for(int64_t total) {
  return static_cast<unsigned>((total + kThreads - 1) / kThreads);
}

}  // namespace

template <typename T>
cudaError_t launch_topk_gather_dot(const T* grad, const int64_t* indices, const T* src, T* out, int64_t B, int64_t T_,
                                   int64_t X, int64_t HW, int64_t K, cudaStream_t stream) {
  const int64_t total = B * K * HW;
  if (total == 0) return cudaSuccess;
  topk_gather_dot_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(grad, indices, src, out, B, T_, X, HW, K);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_topk_scatter(const T* weights, const int64_t* indices, const T* grad, T* out, int64_t B, int64_t T_,
                                int64_t X, int64_t HW, int64_t K, cudaStream_t stream) {
  const int64_t total = B * X * HW;
  if (total == 0 || K == 0) return cudaSuccess;
  topk_scatter_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(weights, indices, grad, out, B, T_, X, HW, K);
  return cudaGetLastError();
}

#define UNITRACK_INSTANTIATE(T)                                                                                     \
  template cudaError_t launch_topk_gather_dot<T>(const T*, const int64_t*, const T*, T*, int64_t, int64_t, int64_t, \
                                                 int64_t, int64_t, cudaStream_t);                                   \
  template cudaError_t launch_topk_scatter<T>(const T*, const int64_t*, const T*, T*, int64_t, int64_t, int64_t,    \
                                              int64_t, int64_t, cudaStream_t);
UNITRACK_INSTANTIATE(float)
UNITRACK_INSTANTIATE(double)
#undef UNITRACK_INSTANTIATE

}  // namespace cuda
}  // namespace unitrack
