// CUDA kernels of unitrack::rsm: Gram blocks and the per-pair quadratic forms (see csrc/cpu/rsm.cpp for the algebra).
// Everything that sums over points runs in double: products of two ~1e-28 softmax weights are below the float range
// and w^T G w may cancel for signed features.
#include "cuda/rsm_kernel.h"

namespace unitrack {
namespace cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void gram_kernel(const T* __restrict__ X, int64_t C, const int64_t* __restrict__ off,
                            const int64_t* __restrict__ goff, double* __restrict__ G, double* __restrict__ trace) {
  const int64_t o = blockIdx.x;
  const int64_t p0 = off[o], P = off[o + 1] - p0;
  double* g = G + goff[o];
  __shared__ double red[kThreads];
  double tr = 0;
  for (int64_t idx = threadIdx.x; idx < P * P; idx += blockDim.x) {
    const int64_t a = idx / P, b = idx % P;
    const T* xa = X + (p0 + a) * C;
    const T* xb = X + (p0 + b) * C;
    double acc = 0;
    for (int64_t c = 0; c < C; ++c) acc += static_cast<double>(xa[c]) * static_cast<double>(xb[c]);
    g[idx] = acc;
    if (a == b) tr += acc;
  }
  red[threadIdx.x] = tr;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) trace[o] = red[0];
}

template <typename T>
__global__ void pair_kernel(const T* __restrict__ A, const T* __restrict__ Wtd, const T* __restrict__ Wdt, int64_t SQ,
                            const int64_t* __restrict__ toff, const int64_t* __restrict__ doff,
                            const double* __restrict__ H, const int64_t* __restrict__ hoff,
                            const double* __restrict__ G, const int64_t* __restrict__ goff,
                            const double* __restrict__ ttr, const double* __restrict__ dtr, int64_t M,
                            T* __restrict__ out) {
  const int64_t pair = blockIdx.x;
  const int64_t i = pair / M, j = pair % M;
  const int64_t p0 = toff[i], P = toff[i + 1] - p0, q0 = doff[j], Q = doff[j + 1] - q0;
  const double* Hi = H + hoff[i];
  const double* Gj = G + goff[j];
  double dot_td = 0, nr_td = 0, dot_dt = 0, nr_dt = 0;
  for (int64_t idx = threadIdx.x; idx < P * Q; idx += blockDim.x) {
    const int64_t p = idx / Q, k = idx % Q;
    const int64_t at = (p0 + p) * SQ + q0 + k;
    const double a = static_cast<double>(A[at]);
    const double w = static_cast<double>(Wtd[at]);
    const double v = static_cast<double>(Wdt[at]);
    // track -> detection: (G_j w_p)[k]
    const T* wrow = Wtd + (p0 + p) * SQ + q0;
    double y = 0;
    for (int64_t q = 0; q < Q; ++q) y += static_cast<double>(wrow[q]) * Gj[q * Q + k];
    // detection -> track: (H_i v_k)[p]
    const T* vcol = Wdt + p0 * SQ + q0 + k;
    double u = 0;
    for (int64_t pp = 0; pp < P; ++pp) u += Hi[p * P + pp] * static_cast<double>(vcol[pp * SQ]);
    dot_td += w * a;
    nr_td += w * y;
    dot_dt += v * a;
    nr_dt += v * u;
  }
  __shared__ double red[4][kThreads];
  red[0][threadIdx.x] = dot_td;
  red[1][threadIdx.x] = nr_td;
  red[2][threadIdx.x] = dot_dt;
  red[3][threadIdx.x] = nr_dt;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      for (int r = 0; r < 4; ++r) red[r][threadIdx.x] += red[r][threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const double s_td = red[0][0] / (fmax(sqrt(fmax(red[1][0], 0.0)), 1e-12) * fmax(sqrt(ttr[i]), 1e-12));
    const double s_dt = red[2][0] / (fmax(sqrt(fmax(red[3][0], 0.0)), 1e-12) * fmax(sqrt(dtr[j]), 1e-12));
    out[pair] = static_cast<T>(0.5 * (s_td + s_dt));
  }
}

}  // namespace

template <typename T>
cudaError_t launch_rsm_gram(const T* X, int64_t C, const int64_t* off, const int64_t* goff, int64_t n, double* G,
                            double* trace, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  gram_kernel<T><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(X, C, off, goff, G, trace);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_rsm_pairs(const T* A, const T* Wtd, const T* Wdt, int64_t SQ, const int64_t* toff,
                             const int64_t* doff, const double* H, const int64_t* hoff, const double* G,
                             const int64_t* goff, const double* ttr, const double* dtr, int64_t N, int64_t M, T* out,
                             cudaStream_t stream) {
  if (N == 0 || M == 0) return cudaSuccess;
  pair_kernel<T><<<static_cast<unsigned>(N * M), kThreads, 0, stream>>>(A, Wtd, Wdt, SQ, toff, doff, H, hoff, G, goff,
                                                                        ttr, dtr, M, out);
  return cudaGetLastError();
}

template cudaError_t launch_rsm_gram<float>(const float*, int64_t, const int64_t*, const int64_t*, int64_t, double*,
                                            double*, cudaStream_t);
template cudaError_t launch_rsm_gram<double>(const double*, int64_t, const int64_t*, const int64_t*, int64_t, double*,
                                             double*, cudaStream_t);
template cudaError_t launch_rsm_pairs<float>(const float*, const float*, const float*, int64_t, const int64_t*,
                                             const int64_t*, const double*, const int64_t*, const double*,
                                             const int64_t*, const double*, const double*, int64_t, int64_t, float*,
                                             cudaStream_t);
template cudaError_t launch_rsm_pairs<double>(const double*, const double*, const double*, int64_t, const int64_t*,
                                              const int64_t*, const double*, const int64_t*, const double*,
                                              const int64_t*, const double*, const double*, int64_t, int64_t, double*,
                                              cudaStream_t);

}  // namespace cuda
}  // namespace unitrack
