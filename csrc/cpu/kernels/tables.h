#pragma once
// The per-ISA kernel tables: plain function pointers on raw arrays (no torch types), one table per op and level.
// Each csrc/cpu/isa/<op>_<level>.cpp defines unitrack::cpu::<level>::k<Op>Kernels; the op's entry point picks one with
// isa::select() (common/isa.h). A kernel that a level does not provide is a null pointer (the entry falls back).
//
// Adding an op's backward (issue #16): add its function pointers to the op's table (or a new table here), implement
// them in csrc/cpu/kernels/<op>.h (compiled once per level like the forward), and call them from the new entry point.
// bfloat16 (issue #15): the `bf16` members below take raw bf16 bits (uint16_t) and produce float32; every level
// provides them (widening to float32 while packing), the avx512bf16 level with vdpbf16ps micro-kernels and the amx
// level (common/isa.h) with AMX-BF16 tile kernels.
#include <cstdint>

#include "ops/topk_geometry.h"

namespace unitrack {
namespace cpu {

template <typename T>
struct TopkFns {
  // weights/indices [B, K, HW] of the top-K candidates of every query (query [B, C, HW], keys [B, T, C, HW]).
  void (*affinity)(const T* query, const T* keys, const TopkGeometry& g, double temperature, T* weights,
                   int64_t* indices, int64_t B);
  // out [B, L, HW] = sum_k weights[b, k, n] * labels[b, idx / HW, l, idx % HW]   (labels [B, T, L, HW])
  void (*propagate)(const T* weights, const int64_t* indices, const T* labels, T* out, int64_t B, int64_t T_, int64_t L,
                    int64_t HW, int64_t K);
  // Whether all n values are finite.
  bool (*all_finite)(const T* x, int64_t n);
};
// bfloat16 features (raw bits) scored in float32 (weights float32): at every level. Levels without native bf16 dot
// products widen bf16 to float32 while packing and use the float32 micro-kernel; the amx level scores with AMX-BF16
// tiles (float32 accumulation). Label propagation of the float32 weights is f32.propagate.
struct TopkBf16Fns {
  void (*affinity)(const uint16_t* query, const uint16_t* keys, const TopkGeometry& g, double temperature,
                   float* weights, int64_t* indices, int64_t B);
  bool (*all_finite)(const uint16_t* x, int64_t n);
};
struct TopkKernels {
  TopkFns<float> f32;
  TopkFns<double> f64;
  TopkBf16Fns bf16;
};

template <typename T>
struct RsmFns {
  // y[r] = x[r] / max(||x[r]||, 1e-12) for the n rows of x [n, C]; returns the first row with a NaN/inf, or -1.
  int64_t (*normalize_rows)(const T* x, int64_t n, int64_t C, T* y);
  // out [N, M] from the unit points that [sumP, C], dhat [sumQ, C], their affinity A = that dhat^T [sumP, sumQ] and
  // the object offsets toff [N + 1], doff [M + 1] (validated: non-decreasing, ending at sumP / sumQ).
  void (*similarity)(const T* A, const T* that, const T* dhat, int64_t C, const int64_t* toff, int64_t N,
                     const int64_t* doff, int64_t M, double temperature, T* out);
  // A [sumP, sumQ] = that dhat^T (that [sumP, C], dhat [sumQ, C]) in a fixed reduction order: the same at any
  // thread count, unlike a BLAS GEMM (csrc/cpu/kernels/gemm.h).
  void (*affinity)(const T* that, int64_t sumP, const T* dhat, int64_t sumQ, int64_t C, T* A);
};
struct RsmKernels {
  RsmFns<float> f32;
  RsmFns<double> f64;
};

template <typename T>
struct XcorrFns {
  // [B, C, P] -> [B, P, C]
  void (*to_channels_last)(const T* src, T* dst, int64_t B, int64_t C, int64_t P);
  // search_cl [S, H, W, C], templ_cl [h, w, C] (or [S, h, w, C] when per_scale) -> out [S, H-h+1, W-w+1]
  void (*direct)(const T* search_cl, const T* templ_cl, T* out, int64_t S, int64_t C, int64_t H, int64_t W, int64_t h,
                 int64_t w, bool per_scale);
  // The same on NCHW data (search [S, C, H, W], templ [C, h, w] or [S, C, h, w]); null where not worth it.
  void (*rows)(const T* search, const T* templ, T* out, int64_t S, int64_t C, int64_t H, int64_t W, int64_t h,
               int64_t w, bool per_scale);
  // The FFT path's channel sum in a fixed order: K [S, F] = sum_c X [S, C, F] * conj(templ [(S,) C, F]) (complex as
  // interleaved re, im).
  void (*spectrum_dot)(const T* X, const T* templ, T* K, int64_t S, int64_t C, int64_t F, bool per_scale);
};
// bfloat16 search/template (raw bits), float32 output: at every level (widened to float32 in the dot products' loads
// without native bf16; AMX-BF16 tiles at the amx level where the shape allows).
struct XcorrBf16Fns {
  // search [S, C, H, W] (NCHW-contiguous, or channels-last-contiguous [S, H, W, C] when search_cl) and templ
  // [Ts, C, h, w] contiguous (Ts = S when per_scale, else 1), all bf16 bits -> out [S, H-h+1, W-w+1] float32.
  void (*direct)(const uint16_t* search, bool search_cl, const uint16_t* templ, float* out, int64_t S, int64_t C,
                 int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale);
};
struct XcorrKernels {
  XcorrFns<float> f32;
  XcorrFns<double> f64;
  XcorrBf16Fns bf16;
};

// Backward kernels (issue #16): csrc/cpu/kernels/<op>_backward.h, units csrc/cpu/isa/<op>_backward_<level>.cpp.
template <typename T>
struct TopkBackwardFns {
  // out[b, k, n] = sum_x grad[b, x, n] * src[b, idx / HW, x, idx % HW]   (grad [B, X, HW], src [B, T, X, HW],
  // idx = indices[b, k, n] validated in [0, T*HW)): the adjoint of `propagate` with respect to its weights.
  void (*gather_dot)(const T* grad, const int64_t* indices, const T* src, T* out, int64_t B, int64_t T_, int64_t X,
                     int64_t HW, int64_t K);
  // out[b, t, x, m] = sum over (k, n) with indices[b, k, n] = t*HW + m of coef[b, k, n] * grad[b, x, n]
  // (out [B, T, X, HW], fully written): the adjoint of `propagate` with respect to its labels. Deterministic: each
  // output element sums its contributions in increasing (n, k) order, whatever the thread count.
  void (*scatter)(const T* coef, const int64_t* indices, const T* grad, T* out, int64_t B, int64_t T_, int64_t X,
                  int64_t HW, int64_t K);
};
struct TopkBackwardKernels {
  TopkBackwardFns<float> f32;
  TopkBackwardFns<double> f64;
};
template <typename T>
struct RsmBackwardFns {
  // w_td / w_dt [P, Q]: the row / column softmax of A [P, Q] / temperature.
  void (*softmaxes)(const T* A, int64_t P, int64_t Q, double temperature, T* w_td, T* w_dt);
  // Per-pair coefficients coef [5][N][M] = d out / d (a, b, a', b', e) * grad; row_t [N] = sum_j d out / d c_ij,
  // row_d [M] = sum_i coef[4][i][j] (U = Wtd blockdiag(G_j), V = blockdiag(H_i) Wdt; see rsm_backward.h).
  void (*coefficients)(const T* A, const T* w_td, const T* w_dt, const T* U, const T* V, const T* that, const T* dhat,
                       int64_t C, const int64_t* toff, int64_t N, const int64_t* doff, int64_t M, const T* grad,
                       double* coef, double* row_t, double* row_d);
  // The affinity's gradient GA [P, Q], written over U.
  void (*grad_affinity)(const T* A, const T* w_td, const T* w_dt, T* U, const T* V, const double* coef,
                        const int64_t* toff, int64_t N, const int64_t* doff, int64_t M, double temperature);
  // out[p, q] = coef[i(p), j(q)] * W[p, q]
  void (*scale_blocks)(const T* W, const double* coef, const int64_t* toff, int64_t N, const int64_t* doff, int64_t M,
                       T* out);
  // y += alpha * x
  void (*add_scaled)(const T* x, double alpha, T* y, int64_t n);
  // out = the backward of x / max(||x||, 1e-12) (rows of C) applied to g + 2 row_coef[p] unit[p]
  void (*normalize_backward)(const T* x, const T* unit, const T* g, const double* row_coef, int64_t n, int64_t C,
                             T* out);
};
struct RsmBackwardKernels {
  RsmBackwardFns<float> f32;
  RsmBackwardFns<double> f64;
};
template <typename T>
struct XcorrBackwardFns {
  // out [S, C, Ho+h-1, Wo+w-1] = the full convolution of grad [S, Ho, Wo] with templ [C, h, w] (or [S, C, h, w]).
  void (*grad_search)(const T* grad, const T* templ, T* out, int64_t S, int64_t C, int64_t Ho, int64_t Wo, int64_t h,
                      int64_t w, bool per_scale);
  // out [C, H-Ho+1, W-Wo+1] (summed over S) or [S, C, ...] = the valid correlation of search [S, C, H, W] with grad.
  void (*grad_templ)(const T* search, const T* grad, T* out, int64_t S, int64_t C, int64_t H, int64_t W, int64_t Ho,
                     int64_t Wo, bool per_scale);
};
struct XcorrBackwardKernels {
  XcorrBackwardFns<float> f32;
  XcorrBackwardFns<double> f64;
};

#define UNITRACK_DECLARE_KERNEL_TABLES(level)              \
  namespace level {                                        \
  extern const TopkKernels kTopkKernels;                   \
  extern const RsmKernels kRsmKernels;                     \
  extern const XcorrKernels kXcorrKernels;                 \
  extern const TopkBackwardKernels kTopkBackwardKernels;   \
  extern const RsmBackwardKernels kRsmBackwardKernels;     \
  extern const XcorrBackwardKernels kXcorrBackwardKernels; \
  }
UNITRACK_DECLARE_KERNEL_TABLES(baseline)
UNITRACK_DECLARE_KERNEL_TABLES(avx2)
UNITRACK_DECLARE_KERNEL_TABLES(avx512)
#undef UNITRACK_DECLARE_KERNEL_TABLES
// The avx512bf16 (vdpbf16ps) and amx (bf16 tiles) levels exist for the ops with bf16 kernels; the others run avx512
// there.
namespace avx512bf16 {
extern const TopkKernels kTopkKernels;
extern const XcorrKernels kXcorrKernels;
}  // namespace avx512bf16
namespace amx {
extern const TopkKernels kTopkKernels;
extern const XcorrKernels kXcorrKernels;
}  // namespace amx

// Table of the active level (null pointers of levels that are not built: non-x86).
#if defined(__x86_64__) || defined(_M_X64)
#define UNITRACK_SELECT_KERNELS(table)                                                     \
  ::unitrack::isa::select(::unitrack::cpu::baseline::table, &::unitrack::cpu::avx2::table, \
                          &::unitrack::cpu::avx512::table)
// For the ops with avx512bf16 and amx tables (declared above).
#define UNITRACK_SELECT_KERNELS_AMX(table)                                                      \
  ::unitrack::isa::select(::unitrack::cpu::baseline::table, &::unitrack::cpu::avx2::table,      \
                          &::unitrack::cpu::avx512::table, &::unitrack::cpu::avx512bf16::table, \
                          &::unitrack::cpu::amx::table)
#else
#define UNITRACK_SELECT_KERNELS(table)                                                                            \
  ::unitrack::isa::select(::unitrack::cpu::baseline::table, decltype(&::unitrack::cpu::baseline::table){nullptr}, \
                          decltype(&::unitrack::cpu::baseline::table){nullptr})
#define UNITRACK_SELECT_KERNELS_AMX(table) UNITRACK_SELECT_KERNELS(table)
#endif

}  // namespace cpu
}  // namespace unitrack
