#pragma once
// Raw CUDA launchers of unitrack::rsm (no torch headers: csrc/cuda/rsm_cuda.cpp is the torch-facing launcher).
// Naming: launch_<op>[_<stage>]<T> (device pointers, the caller's stream, returns cudaError_t).
// All pointers are device pointers; objects are packed along the point axis with int64 offsets (n + 1 entries).
#include <cuda_runtime.h>

#include <cstdint>

namespace unitrack {
namespace cuda {

// Gram blocks of normalised points: G[goff[o] + a * P_o + b] = <x_a, x_b> (double), trace[o] = sum_a G[a, a].
template <typename T>
cudaError_t launch_rsm_gram(const T* X, int64_t C, const int64_t* off, const int64_t* goff, int64_t n, double* G,
                            double* trace, cudaStream_t stream);

// One block per (track i, detection j): with A [sumP, sumQ], Wtd (row softmax) and Wdt (column softmax) of A / tau,
//   s_td = sum Wtd.A / (max(sqrt(sum_p w_p^T G_j w_p), 1e-12) * max(sqrt(ttr_i), 1e-12)),  likewise s_dt with H_i,
//   out[i, j] = (s_td + s_dt) / 2.
template <typename T>
cudaError_t launch_rsm_pairs(const T* A, const T* Wtd, const T* Wdt, int64_t SQ, const int64_t* toff,
                             const int64_t* doff, const double* H, const int64_t* hoff, const double* G,
                             const int64_t* goff, const double* ttr, const double* dtr, int64_t N, int64_t M, T* out,
                             cudaStream_t stream);

}  // namespace cuda
}  // namespace unitrack
