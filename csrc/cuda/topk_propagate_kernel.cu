// CUDA kernels of unitrack::topk_affinity / unitrack::topk_propagate (SPEC appendix a; semantics identical to
// csrc/cpu/topk_propagate.cpp). No torch headers here: the launchers are called from topk_propagate_cuda.cpp.
//
// One thread per query point, a block of kBlock consecutive query points of one batch item. For every memory frame the
// block walks the candidate keys in tiles of kKT (frame-major, row-major order; radius frames only the key rows within
// the radius of the block's query rows), staging query and key channels through shared memory in chunks of kCC; each
// thread accumulates kKT dot products in registers and merges the admissible ones into its running top-K, which lives
// in registers for K <= 32 (compile-time MAXK) and in the output buffers otherwise. Candidates arrive in increasing
// index order, so a strict '>' against the K-th value implements the lower-index tie-break.
#include "cuda/topk_propagate_kernel.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace unitrack {
namespace cuda {
namespace {

constexpr int kBlock = 128;  // query points per block (threads)
constexpr int kKT = 32;      // keys per tile
constexpr int kCC = 16;      // channels per shared-memory chunk

template <typename T>
__device__ __forceinline__ T neg_inf();
template <>
__device__ __forceinline__ float neg_inf<float>() {
  return __int_as_float(0xff800000);
}
template <>
__device__ __forceinline__ double neg_inf<double>() {
  return __longlong_as_double(static_cast<long long>(0xfff0000000000000ULL));
}

__device__ __forceinline__ float dev_exp(float x) {
  return expf(x);
}
__device__ __forceinline__ double dev_exp(double x) {
  return exp(x);
}

struct Geo {
  int T, C, H, W, HW, K, n_global, maxdy;
  bool restricted;
  __device__ bool is_global(int t) const { return !restricted || t < n_global; }
};

// Lowest-index inadmissible candidates, in increasing index order (the fill-in slots).
struct FillIter {
  int t = 0, ky = 0, kx = 0;
  __device__ int next(const Geo& g, const int* hw, int qy, int qx) {
    while (true) {
      if (t >= g.T) return 0;  // cannot happen: K <= T*H*W
      if (g.is_global(t)) {
        ++t;
        ky = kx = 0;
        continue;
      }
      if (kx >= g.W) {
        kx = 0;
        ++ky;
      }
      if (ky >= g.H) {
        ky = 0;
        ++t;
        continue;
      }
      const int d = ky > qy ? ky - qy : qy - ky;
      const int h = d <= g.maxdy ? hw[d] : -1;
      if (h >= 0 && kx >= qx - h && kx <= qx + h) {
        kx = qx + h + 1;
        continue;
      }
      const int idx = t * g.HW + ky * g.W + kx;
      ++kx;
      return idx;
    }
  }
};

// MAXK > 0: top-K in registers (K <= MAXK); MAXK == 0: top-K stored in the output buffers (stride HW).
template <typename T, int MAXK>
__global__ void __launch_bounds__(kBlock)
    topk_affinity_kernel(const T* __restrict__ query, const T* __restrict__ keys, const int* __restrict__ hw, Geo g,
                         T temp, T* __restrict__ out_w, int64_t* __restrict__ out_i) {
  __shared__ T sQ[kCC][kBlock];
  __shared__ T sK[kCC][kKT];
  const int tid = threadIdx.x;
  const int b = blockIdx.y;
  const int n_first = blockIdx.x * kBlock;
  const int n = n_first + tid;
  const bool valid = n < g.HW;
  const int qy = valid ? n / g.W : 0, qx = valid ? n % g.W : 0;
  const int n_last = min(n_first + kBlock, g.HW) - 1;
  const int y_min = n_first / g.W, y_max = n_last / g.W;
  const int K = g.K;
  const T* q = query + static_cast<int64_t>(b) * g.C * g.HW;
  const T* kb = keys + static_cast<int64_t>(b) * g.T * g.C * g.HW;
  T* ow = out_w + static_cast<int64_t>(b) * K * g.HW;
  int64_t* oi = out_i + static_cast<int64_t>(b) * K * g.HW;

  // Running top-K (descending; empty slots hold -inf / -1).
  T rv[MAXK > 0 ? MAXK : 1];
  int ri[MAXK > 0 ? MAXK : 1];
  int cnt = 0;
  T thr = neg_inf<T>();
  if constexpr (MAXK > 0) {
#pragma unroll
    for (int s = 0; s < MAXK; ++s) {
      rv[s] = neg_inf<T>();
      ri[s] = -1;
    }
  }
  auto slot = [&](int s) { return static_cast<int64_t>(s) * g.HW + n; };  // [K, HW] offset of slot s
  auto insert = [&](T x, int index) {
    if constexpr (MAXK > 0) {
#pragma unroll
      for (int i = MAXK - 1; i > 0; --i) {
        if (i < K) {
          if (x > rv[i - 1]) {
            rv[i] = rv[i - 1];
            ri[i] = ri[i - 1];
          } else if (x > rv[i]) {
            rv[i] = x;
            ri[i] = index;
          }
          if (i == K - 1) thr = rv[i];
        }
      }
      if (x > rv[0]) {
        rv[0] = x;
        ri[0] = index;
      }
      if (K == 1) thr = rv[0];
      if (cnt < K) ++cnt;
    } else {
      int pos;
      if (cnt < K) {
        pos = cnt++;
      } else {
        pos = K - 1;
      }
      while (pos > 0 && ow[slot(pos - 1)] < x) {
        ow[slot(pos)] = ow[slot(pos - 1)];
        oi[slot(pos)] = oi[slot(pos - 1)];
        --pos;
      }
      ow[slot(pos)] = x;
      oi[slot(pos)] = index;
      if (cnt == K) thr = ow[slot(K - 1)];
    }
  };

  for (int t = 0; t < g.T; ++t) {
    const bool global = g.is_global(t);
    int m_lo = 0, m_hi = g.HW;  // flat candidate range of this frame for the block
    if (!global) {
      if (g.maxdy < 0) continue;
      const int ky_lo = max(0, y_min - g.maxdy), ky_hi = min(g.H - 1, y_max + g.maxdy);
      m_lo = ky_lo * g.W;
      m_hi = (ky_hi + 1) * g.W;
    }
    const T* frame = kb + static_cast<int64_t>(t) * g.C * g.HW;
    for (int m0 = m_lo; m0 < m_hi; m0 += kKT) {
      T acc[kKT];
#pragma unroll
      for (int j = 0; j < kKT; ++j) acc[j] = T(0);
      for (int c0 = 0; c0 < g.C; c0 += kCC) {
        __syncthreads();
#pragma unroll
        for (int cc = 0; cc < kCC; ++cc) {
          const int c = c0 + cc;
          sQ[cc][tid] = (valid && c < g.C) ? q[static_cast<int64_t>(c) * g.HW + n] : T(0);
        }
        for (int e = tid; e < kCC * kKT; e += kBlock) {
          const int cc = e / kKT, j = e % kKT;
          const int c = c0 + cc, m = m0 + j;
          sK[cc][j] = (c < g.C && m < m_hi) ? frame[static_cast<int64_t>(c) * g.HW + m] : T(0);
        }
        __syncthreads();
#pragma unroll
        for (int cc = 0; cc < kCC; ++cc) {
          const T qv = sQ[cc][tid];
#pragma unroll
          for (int j = 0; j < kKT; ++j) acc[j] += qv * sK[cc][j];
        }
      }
      if (!valid) continue;
#pragma unroll
      for (int j = 0; j < kKT; ++j) {
        const int m = m0 + j;
        if (m >= m_hi) continue;
        if (!global) {
          const int ky = m / g.W, kx = m % g.W;
          const int d = ky > qy ? ky - qy : qy - ky;
          if (d > g.maxdy) continue;
          const int h = hw[d];
          if (h < 0 || kx < qx - h || kx > qx + h) continue;
        }
        if (acc[j] > thr) insert(acc[j], t * g.HW + m);
      }
    }
  }
  if (!valid) return;

  // Fill-in slots (fewer than K admissible candidates), logits relative to the largest ((v - top) / temp <= 0: no
  // overflow for a tiny temperature or large features, as on the CPU), softmax.
  const T fill_value = static_cast<T>(kTopkMaskValue);
  FillIter it;
  if constexpr (MAXK > 0) {
    const T top = rv[0];
    T sum = T(0);
#pragma unroll
    for (int s = 0; s < MAXK; ++s) {
      if (s < K) {
        T logit;
        if (ri[s] < 0) {
          ri[s] = it.next(g, hw, qy, qx);
          logit = (fill_value - top) / temp;
        } else {
          logit = (rv[s] - top) / temp;
        }
        rv[s] = dev_exp(logit);
        sum += rv[s];
      }
    }
#pragma unroll
    for (int s = 0; s < MAXK; ++s) {
      if (s < K) {
        ow[slot(s)] = rv[s] / sum;
        oi[slot(s)] = ri[s];
      }
    }
  } else {
    const T top = ow[n];
    T sum = T(0);
    for (int s = 0; s < K; ++s) {
      T logit;
      if (s >= cnt) {
        oi[slot(s)] = it.next(g, hw, qy, qx);
        logit = (fill_value - top) / temp;
      } else {
        logit = (ow[slot(s)] - top) / temp;
      }
      const T e = dev_exp(logit);
      ow[slot(s)] = e;
      sum += e;
    }
    for (int s = 0; s < K; ++s) ow[slot(s)] /= sum;
  }
}

template <typename T>
__global__ void topk_gather_kernel(const T* __restrict__ w, const int64_t* __restrict__ idx,
                                   const T* __restrict__ labels, T* __restrict__ out, int64_t B, int64_t T_, int64_t L,
                                   int64_t HW, int64_t K) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= B * HW) return;
  const int64_t b = p / HW, n = p % HW;
  const T* wb = w + b * K * HW;
  const int64_t* ib = idx + b * K * HW;
  const T* lb = labels + b * T_ * L * HW;
  T* ob = out + b * L * HW;
  for (int64_t l = 0; l < L; ++l) {
    T acc = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t m = ib[k * HW + n];
      acc += wb[k * HW + n] * lb[(m / HW) * L * HW + l * HW + (m % HW)];
    }
    ob[l * HW + n] = acc;
  }
}

template <typename T>
cudaError_t affinity(const T* query, const T* keys, const int* hw, const TopkParams& p, T* weights, int64_t* indices,
                     cudaStream_t stream) {
  const int64_t HW = p.H * p.W;
  if (p.B == 0 || HW == 0 || p.K == 0) return cudaSuccess;
  Geo g;
  g.T = static_cast<int>(p.T);
  g.C = static_cast<int>(p.C);
  g.H = static_cast<int>(p.H);
  g.W = static_cast<int>(p.W);
  g.HW = static_cast<int>(HW);
  g.K = static_cast<int>(p.K);
  g.n_global = static_cast<int>(p.n_global < p.T ? p.n_global : p.T);
  g.maxdy = p.maxdy;
  g.restricted = p.restricted;
  const T temp = static_cast<T>(p.temperature);
  const dim3 grid(static_cast<unsigned>((HW + kBlock - 1) / kBlock), static_cast<unsigned>(p.B));
  if (p.K <= 8) {
    topk_affinity_kernel<T, 8><<<grid, kBlock, 0, stream>>>(query, keys, hw, g, temp, weights, indices);
  } else if (p.K <= 16) {
    topk_affinity_kernel<T, 16><<<grid, kBlock, 0, stream>>>(query, keys, hw, g, temp, weights, indices);
  } else if (p.K <= 32) {
    topk_affinity_kernel<T, 32><<<grid, kBlock, 0, stream>>>(query, keys, hw, g, temp, weights, indices);
  } else {
    topk_affinity_kernel<T, 0><<<grid, kBlock, 0, stream>>>(query, keys, hw, g, temp, weights, indices);
  }
  return cudaGetLastError();
}

template <typename T>
cudaError_t gather(const T* w, const int64_t* idx, const T* labels, T* out, int64_t B, int64_t T_, int64_t L,
                   int64_t HW, int64_t K, cudaStream_t stream) {
  const int64_t total = B * HW;
  if (total == 0 || L == 0) return cudaSuccess;
  const int threads = 256;
  const unsigned blocks = static_cast<unsigned>((total + threads - 1) / threads);
  topk_gather_kernel<T><<<blocks, threads, 0, stream>>>(w, idx, labels, out, B, T_, L, HW, K);
  return cudaGetLastError();
}

}  // namespace

template <typename T>
cudaError_t launch_topk_affinity(const T* query, const T* keys, const int* hw, const TopkParams& p, T* weights,
                                 int64_t* indices, cudaStream_t stream) {
  return affinity<T>(query, keys, hw, p, weights, indices, stream);
}
template <typename T>
cudaError_t launch_topk_gather(const T* weights, const int64_t* indices, const T* labels, T* out, int64_t B, int64_t T_,
                               int64_t L, int64_t HW, int64_t K, cudaStream_t stream) {
  return gather<T>(weights, indices, labels, out, B, T_, L, HW, K, stream);
}
#define UNITRACK_INSTANTIATE(T)                                                                                 \
  template cudaError_t launch_topk_affinity<T>(const T*, const T*, const int*, const TopkParams&, T*, int64_t*, \
                                               cudaStream_t);                                                   \
  template cudaError_t launch_topk_gather<T>(const T*, const int64_t*, const T*, T*, int64_t, int64_t, int64_t, \
                                             int64_t, int64_t, cudaStream_t);
UNITRACK_INSTANTIATE(float)
UNITRACK_INSTANTIATE(double)
#undef UNITRACK_INSTANTIATE

}  // namespace cuda
}  // namespace unitrack
