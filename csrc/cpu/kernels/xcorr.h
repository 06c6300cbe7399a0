// CPU kernels of unitrack::xcorr (compiled once per ISA level: csrc/cpu/isa/xcorr_<level>.cpp; entry
// csrc/cpu/xcorr.cpp) -- valid multi-scale cross-correlation (no flip, no scaling).
//   out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * templ[k, i, j]        (templ [C,h,w], shared by all s)
//   out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * templ[s, k, i, j]     (templ [S,C,h,w], one per scale)
//
// Three exact methods; xcorr_cpu picks the cheapest for the shape with a simple cost model (xcorr_method below):
//
// * direct: the data are re-laid out channels-last (search [S,H,W,C], templ [h,w,C]; free when the search is already
//   channels-last in memory). Then one output is a sum over template rows i of ONE contiguous dot product:
//       out[s,r,c] = sum_i dot(search_cl[s, r+i, c:c+w, :], templ_cl[i, :, :])     (length w*C)
//   so the inner loop is a long unit-stride dot product. A register tile of RB output rows x CB output columns shares
//   each loaded template vector between CB columns and each loaded search vector between the RB output rows it
//   contributes to (search row R feeds output row r with template row R-r), giving RB*CB FMAs per RB+CB loads.
//   SIMD through GCC/Clang vector extensions (AVX2/AVX-512/NEON as the build's -march allows).
// * rows (float32, AVX2): direct on NCHW, vectorised along output columns (see xcorr_rows); no copy, for tiny
//   templates, where the channels-last copy would cost more than the arithmetic.
// * fft: circular correlation of size H x W equals the valid correlation on its first (H-h+1) x (W-w+1) entries, so
//       out = irfft2( sum_k rfft2(search_k) * conj(rfft2(templ_k, s=(H,W))) )[:H-h+1, :W-w+1]
//   through ATen's FFT (no padding beyond H x W is needed). Wins for large templates (cost ~ C*H*W*log(HW) instead
//   of C*Ho*Wo*h*w). Rounding differs from the direct sum by ~1e-6 (float32) / 1e-15 (float64) of max|out|.
#ifndef UNITRACK_ISA_SKIP
#include "cpu/simd.h"
#include "cpu/kernels/workspace.h"

// ISO C++ mode (-std=c++20) turns GCC's floating-point contraction off, which splits every a += x*t of the inner
// loop into a multiply and an add; allow fused multiply-adds in this file (results stay within the tests' tolerance).
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace xcorr {

// Register tile: RB output rows x CB output columns.
constexpr int kRB = 2;
constexpr int kCB = 6;

// acc[q*CB + b] += dot(srow + b*C, trow[q], L) for q < NR, b < CB, where srow points at search_cl[s, R, c0, 0]
// (column b starts C elements further), trow[q] at templ_cl[i_q, 0, 0]. The accumulators are loaded into locals so
// that they live in registers for the whole length-L loop. The search may be stored as bf16 bits (SS = uint16_t,
// widened to float in the loads).
template <typename scalar_t, typename SS, int NR, int CB>
inline void tile_dot(scalar_t* acc, const SS* srow, int64_t C, const scalar_t* const* trow, int64_t L) {
  int64_t v0 = 0;
  {
    using V = simd::V<scalar_t>;
    constexpr int N = simd::Vec<scalar_t>::N;
    V a[NR][CB];
#pragma GCC unroll 8
    for (int q = 0; q < NR; ++q)
#pragma GCC unroll 8
      for (int b = 0; b < CB; ++b) a[q][b] = V{};
    const int64_t Lv = L - L % N;
    for (int64_t v = 0; v < Lv; v += N) {
      V t[NR];
#pragma GCC unroll 8
      for (int q = 0; q < NR; ++q) t[q] = simd::load<V>(trow[q] + v);
#pragma GCC unroll 8
      for (int b = 0; b < CB; ++b) {
        const V x = simd::load_widen<V>(srow + b * C + v);
#pragma GCC unroll 8
        for (int q = 0; q < NR; ++q) a[q][b] = simd::fmadd(x, t[q], a[q][b]);
      }
    }
    for (int q = 0; q < NR; ++q)
      for (int b = 0; b < CB; ++b) {
        scalar_t s = 0;
        for (int l = 0; l < N; ++l) s += a[q][b][l];
        acc[q * CB + b] += s;
      }
    v0 = Lv;
  }
  for (int64_t v = v0; v < L; ++v)
    for (int q = 0; q < NR; ++q)
      for (int b = 0; b < CB; ++b) acc[q * CB + b] += simd::widen<scalar_t>(srow[b * C + v]) * trow[q][v];
}

#if UNITRACK_SIMD_AVX512BF16 && !UNITRACK_SIMD_AMX
// The same dot products on bf16 search AND bf16 template (the avx512bf16 level): vdpbf16ps multiplies 16
// pairs of adjacent bf16 values and adds both products to 16 float32 lanes, so one instruction covers 32 elements
// of the flattened row (float32: 16). Pairs of the search and of the template line up because both are read from
// the same offset of their own [w*C] row; the tail (L % 32) is a zero-masked load, so nothing is read past L.
template <int NR, int CB>
inline void tile_dot_bf16(float* acc, const uint16_t* srow, int64_t C, const uint16_t* const* trow, int64_t L) {
  __m512 a[NR][CB];
#pragma GCC unroll 8
  for (int q = 0; q < NR; ++q)
#pragma GCC unroll 8
    for (int b = 0; b < CB; ++b) a[q][b] = _mm512_setzero_ps();
  for (int64_t v = 0; v < L; v += 32) {
    const __mmask32 m = L - v >= 32 ? ~__mmask32(0) : ((__mmask32(1) << (L - v)) - 1);
    __m512bh t[NR];
#pragma GCC unroll 8
    for (int q = 0; q < NR; ++q) t[q] = (__m512bh)_mm512_maskz_loadu_epi16(m, trow[q] + v);
#pragma GCC unroll 8
    for (int b = 0; b < CB; ++b) {
      const __m512bh x = (__m512bh)_mm512_maskz_loadu_epi16(m, srow + b * C + v);
#pragma GCC unroll 8
      for (int q = 0; q < NR; ++q) a[q][b] = _mm512_dpbf16_ps(a[q][b], x, t[q]);
    }
  }
  for (int q = 0; q < NR; ++q)
    for (int b = 0; b < CB; ++b) {
      float s = 0;
      for (int l = 0; l < 16; ++l) s += a[q][b][l];
      acc[q * CB + b] += s;
    }
}
#endif

// Where the channels-last search rows of one scale are: rows(R) points at pixel 0 of search row R ([W][C]).
template <typename SS>
struct ScaleRows {  // the whole scale, contiguous
  const SS* base;
  int64_t row;  // W * C
  const SS* operator()(int64_t R) const { return base + R * row; }
};
template <typename SS>
struct RingRows {  // a ring of `cap` rows (row R in slot R % cap): the last rows widened from bf16
  const SS* base;
  int64_t row, cap;
  const SS* operator()(int64_t R) const { return base + (R % cap) * row; }
};

// Output tile rows [r0, r0+RB) x cols [c0, c0+CB) of one scale (RB <= kRB, CB <= kCB at run time). TS: the
// template's storage (scalar_t, or bf16 bits with a bf16 search at the avx512bf16 level).
template <typename scalar_t, typename SS, typename TS, int CB, typename Rows>
void direct_tile(const Rows& rows, const TS* t_cl, scalar_t* out, int64_t r0, int RB, int64_t c0, int64_t C, int64_t h,
                 int64_t w, int64_t Wo) {
  const int64_t L = w * C;
  scalar_t acc[kRB * CB];
  for (auto& a : acc) a = 0;
  auto dot = [&](auto nr, scalar_t* a, const SS* srow, const TS* const* trow) {
    constexpr int NR = decltype(nr)::value;
    if constexpr (std::is_same_v<TS, scalar_t>) {
      tile_dot<scalar_t, SS, NR, CB>(a, srow, C, trow, L);
    } else {
#if UNITRACK_SIMD_AVX512BF16 && !UNITRACK_SIMD_AMX
      static_assert(std::is_same_v<SS, uint16_t> && std::is_same_v<TS, uint16_t> && std::is_same_v<scalar_t, float>,
                    "a bf16 template goes with a bf16 search and float32 sums");
      tile_dot_bf16<NR, CB>(a, srow, C, trow, L);
#else
      static_assert(std::is_same_v<TS, scalar_t>, "bf16 templates need the avx512bf16 level");
#endif
    }
  };
  // Search row R contributes to output row r0+q with template row i = R - r0 - q.
  for (int64_t R = r0; R < r0 + RB - 1 + h; ++R) {
    const SS* srow = rows(R) + c0 * C;
    const int q_lo = static_cast<int>(std::max<int64_t>(0, R - r0 - (h - 1)));
    const int q_hi = static_cast<int>(std::min<int64_t>(RB - 1, R - r0));
    if (RB == kRB && q_lo == 0 && q_hi == kRB - 1) {
      const TS* trow[kRB];
      for (int q = 0; q < kRB; ++q) trow[q] = t_cl + (R - r0 - q) * L;
      dot(std::integral_constant<int, kRB>{}, acc, srow, trow);
    } else {
      for (int q = q_lo; q <= q_hi; ++q) {
        const TS* trow[1] = {t_cl + (R - r0 - q) * L};
        dot(std::integral_constant<int, 1>{}, acc + q * CB, srow, trow);
      }
    }
  }
  for (int q = 0; q < RB; ++q)
    for (int b = 0; b < CB; ++b) out[(r0 + q) * Wo + c0 + b] = acc[q * CB + b];
}

// Output rows [r0, r0 + RB) of one scale, every column, in register tiles of kCB columns.
template <typename scalar_t, typename SS, typename TS, typename Rows>
void direct_rows(const Rows& rows, const TS* t_cl, scalar_t* out, int64_t r0, int RB, int64_t C, int64_t h, int64_t w,
                 int64_t Wo) {
  for (int64_t c0 = 0; c0 < Wo; c0 += kCB) {
    switch (static_cast<int>(std::min<int64_t>(kCB, Wo - c0))) {
#define UNITRACK_XCORR_CASE(n)                                                        \
  case n:                                                                             \
    direct_tile<scalar_t, SS, TS, n, Rows>(rows, t_cl, out, r0, RB, c0, C, h, w, Wo); \
    break;
      UNITRACK_XCORR_CASE(1)
      UNITRACK_XCORR_CASE(2)
      UNITRACK_XCORR_CASE(3)
      UNITRACK_XCORR_CASE(4)
      UNITRACK_XCORR_CASE(5)
      UNITRACK_XCORR_CASE(6)
#undef UNITRACK_XCORR_CASE
    }
  }
}
static_assert(kCB == 6, "direct_rows enumerates column blocks 1..6");

// One [C, P] matrix (row stride P) -> [P, C] (row stride C), in 32 x 32 cache tiles; rows [p0, p1) of the output.
// Src/Dst: float/float, double/double, or bf16 bits to float (widened) or to bf16.
template <typename Src, typename Dst>
void transpose_rows(const Src* s, Dst* d, int64_t C, int64_t P, int64_t p0, int64_t p1) {
  constexpr int64_t kT = 32;
  for (int64_t pb = p0; pb < p1; pb += kT) {
    const int64_t pe = std::min(p1, pb + kT);
    for (int64_t cb = 0; cb < C; cb += kT) {
      const int64_t ce = std::min(C, cb + kT);
      int64_t p = pb;
#if UNITRACK_SIMD_AVX2
      if constexpr (std::is_same_v<Src, uint16_t> && std::is_same_v<Dst, uint16_t>) {
        for (; p + 8 <= pe; p += 8) {  // bf16 -> bf16: 16 channels (8 pairs) x 8 pixels per register transpose
          int64_t c = cb;
          for (; c + 16 <= ce; c += 16) simd::transpose16x8_bf16(s + c * P + p, P, d + p * C + c, C);
          for (; c < ce; ++c)
            for (int64_t k = 0; k < 8; ++k) d[(p + k) * C + c] = s[c * P + p + k];
        }
      } else if constexpr (!std::is_same_v<Src, double>) {
        for (; p + 8 <= pe; p += 8) {
          int64_t c = cb;
          for (; c + 8 <= ce; c += 8) simd::transpose8x8(s + c * P + p, P, d + p * C + c, C);
          for (; c < ce; ++c)
            for (int64_t k = 0; k < 8; ++k) d[(p + k) * C + c] = simd::widen<Dst>(s[c * P + p + k]);
        }
      }
#endif
      for (; p < pe; ++p)
        for (int64_t c = cb; c < ce; ++c) d[p * C + c] = simd::widen<Dst>(s[c * P + p]);
    }
  }
}

// [B, C, P] contiguous -> [B, P, C]. ATen's permute().contiguous() is a slow generic copy for this pattern (~12 ms
// for 3x256x65x65 on 2 cores), so transpose each [C, P] matrix in cache tiles of 8 x 8 register transposes (AVX2;
// scalar elsewhere), split over threads by blocks of output rows.
template <typename Src, typename Dst = Src>
void to_channels_last(const Src* src, Dst* dst, int64_t B, int64_t C, int64_t P) {
  constexpr int64_t kRows = 256;  // output rows (pixels) per task
  const int64_t pb = (P + kRows - 1) / kRows;
  torch::stable::parallel_for(0, B * pb, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t b = idx / pb, p0 = (idx % pb) * kRows;
      transpose_rows<Src, Dst>(src + b * C * P, dst + b * P * C, C, P, p0, std::min(P, p0 + kRows));
    }
  });
}

// search_cl [S,H,W,C] contiguous (stored as scalar_t or as bf16 bits), templ_cl [h,w,C] (shared) or [S,h,w,C]
// (stored as scalar_t, or as bf16 bits with a bf16 search at the avx512bf16 level); out [S,Ho,Wo].
template <typename scalar_t, typename SS = scalar_t, typename TS = scalar_t>
void xcorr_direct(const SS* search_cl, const TS* templ_cl, scalar_t* out, int64_t S, int64_t C, int64_t H, int64_t W,
                  int64_t h, int64_t w, bool per_scale) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  const int64_t row_blocks = (Ho + kRB - 1) / kRB;
  // One task per (scale, block of kRB output rows): independent outputs, no synchronisation. Each task touches
  // (kRB+h-1) search rows and the whole template (cache-resident for typical sizes: 14*14*256 floats = 200 KB).
  torch::stable::parallel_for(0, S * row_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t s = idx / row_blocks, r0 = (idx % row_blocks) * kRB;
      const int RB = static_cast<int>(std::min<int64_t>(kRB, Ho - r0));
      const ScaleRows<SS> rows{search_cl + s * H * W * C, W * C};
      const TS* t_cl = templ_cl + (per_scale ? s * h * w * C : 0);
      direct_rows<scalar_t, SS, TS>(rows, t_cl, out + s * Ho * Wo, r0, RB, C, h, w, Wo);
    }
  });
}

// The channel sum of the FFT path in a fixed order (ATen's sum over the channel dimension splits it between threads,
// so its result depended on the thread count):
//   K[s, f] = sum_c X[s, c, f] * conj(Tm[(s,) c, f])      over F complex bins, c = 0 .. C-1 in order
// X [S, C, F], Tm [C, F] (shared) or [S, C, F] (per_scale), K [S, F]: complex numbers as interleaved (re, im) pairs.
// With P = sum_c x t and Q = sum_c swap(x) t lane by lane (swap exchanges re and im), K = (P_re + P_im, Q_re - Q_im):
// re = xr tr + xi ti, im = xi tr - xr ti. Each output bin is computed by one task, in the same order at any thread
// count.
template <typename T>
inline T madd_scalar(T a, T b, T c) {  // one lane of simd::fmadd
#if UNITRACK_SIMD_AVX2
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

template <typename VT, size_t... I>
inline VT swap_pairs(const VT& v, std::index_sequence<I...>) {
  return __builtin_shufflevector(v, v, (I ^ 1)...);
}

template <typename scalar_t>
void spectrum_dot(const scalar_t* X, const scalar_t* Tm, scalar_t* K, int64_t S, int64_t C, int64_t F, bool per_scale) {
  using V = simd::V<scalar_t>;
  constexpr int N = simd::Vec<scalar_t>::N;  // lanes: N / 2 complex bins
  static_assert(N % 2 == 0, "a vector holds whole (re, im) pairs");
  constexpr int64_t kBins = 256;  // complex bins per task: 2 x 2 x 256 accumulators stay in L1
  const int64_t blocks = (F + kBins - 1) / kBins;
  torch::stable::parallel_for(0, S * blocks, 1, [&](int64_t begin, int64_t end) {
    alignas(64) scalar_t P[2 * kBins], Q[2 * kBins];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t s = task / blocks, f0 = (task % blocks) * kBins, nf = std::min(kBins, F - f0);
      const int64_t L = 2 * nf, Lv = L - L % N;
      std::fill(P, P + L, scalar_t(0));
      std::fill(Q, Q + L, scalar_t(0));
      for (int64_t c = 0; c < C; ++c) {
        const scalar_t* x = X + ((s * C + c) * F + f0) * 2;
        const scalar_t* t = Tm + (((per_scale ? s * C : 0) + c) * F + f0) * 2;
        int64_t l = 0;
        for (; l < Lv; l += N) {
          const V xv = simd::load<V>(x + l), tv = simd::load<V>(t + l);
          simd::store(P + l, simd::fmadd(xv, tv, simd::load<V>(P + l)));
          simd::store(Q + l, simd::fmadd(swap_pairs(xv, std::make_index_sequence<N>{}), tv, simd::load<V>(Q + l)));
        }
        for (; l < L; ++l) {  // the same operation per lane as the vector loop (fused where the level has FMA)
          P[l] = madd_scalar(x[l], t[l], P[l]);
          Q[l] = madd_scalar(x[l ^ 1], t[l], Q[l]);
        }
      }
      scalar_t* k = K + (s * F + f0) * 2;
      for (int64_t f = 0; f < nf; ++f) {
        k[2 * f] = P[2 * f] + P[2 * f + 1];
        k[2 * f + 1] = Q[2 * f] - Q[2 * f + 1];
      }
    }
  });
}

#if UNITRACK_SIMD_AVX2
#define UNITRACK_XCORR_ROWS 1
// "rows": direct correlation on the NCHW layout itself, vectorised along output columns (float32, AVX2/FMA). No
// channels-last copy, which costs more than the arithmetic for small templates. One register tile holds RB = 2
// output rows x NV vectors of 8 columns; each search row segment loaded for shift j feeds both output rows it
// contributes to (template rows i and i - 1): 2 FMAs per load. The last column chunk uses masked loads, so nothing
// past the end of a row is read (beyond a row's end lie the next row or the end of the tensor).
template <int NV>
void rows_tile(const float* search_s, const float* templ_s, float* out_s, int64_t C, int64_t H, int64_t W, int64_t h,
               int64_t w, int64_t Wo, int64_t r0, int RB, int64_t c0) {
  const int64_t ncols = std::min<int64_t>(8 * NV, Wo - c0);  // valid output columns in this chunk
  using V8 = simd::V8f;
  int nv_cols[NV];  // valid columns of each vector: 8, ..., 8, rest, 0, ...
  for (int v = 0; v < NV; ++v) nv_cols[v] = static_cast<int>(std::clamp<int64_t>(ncols - 8 * v, 0, 8));
  const bool full = ncols == 8 * NV;
  V8 acc[2][NV];
  for (int q = 0; q < 2; ++q)
    for (int v = 0; v < NV; ++v) acc[q][v] = V8{};
  for (int64_t k = 0; k < C; ++k) {
    const float* sk = search_s + k * H * W;
    const float* tk = templ_s + k * h * w;
    for (int64_t R = r0; R < r0 + RB - 1 + h; ++R) {
      const int64_t i0 = R - r0, i1 = R - r0 - 1;  // template rows for output rows r0 and r0 + 1
      const bool use0 = i0 < h, use1 = RB == 2 && i1 >= 0;
      const float* srow = sk + R * W + c0;
      for (int64_t j = 0; j < w; ++j) {
        V8 x[NV];
        for (int v = 0; v < NV; ++v)
          x[v] = full ? simd::load<V8>(srow + j + 8 * v) : simd::load8_n(srow + j + 8 * v, nv_cols[v]);
        if (use0) {
          const V8 t = simd::splat<V8>(tk[i0 * w + j]);
          for (int v = 0; v < NV; ++v) acc[0][v] = simd::fmadd(x[v], t, acc[0][v]);
        }
        if (use1) {
          const V8 t = simd::splat<V8>(tk[i1 * w + j]);
          for (int v = 0; v < NV; ++v) acc[1][v] = simd::fmadd(x[v], t, acc[1][v]);
        }
      }
    }
  }
  for (int q = 0; q < RB; ++q)
    for (int v = 0; v < NV; ++v) {
      float* o = out_s + (r0 + q) * Wo + c0 + 8 * v;
      if (full)
        simd::store(o, acc[q][v]);
      else
        simd::store8_n(o, acc[q][v], nv_cols[v]);
    }
}

// search [S, C, H, W] contiguous float32, templ [C, h, w] (shared) or [S, C, h, w] contiguous; out [S, Ho, Wo].
void xcorr_rows(const float* search, const float* templ, float* out, int64_t S, int64_t C, int64_t H, int64_t W,
                int64_t h, int64_t w, bool per_scale) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  const int64_t row_blocks = (Ho + 1) / 2;
  constexpr int64_t kChunk = 48;  // NV = 6 vectors: 12 accumulators + loads in the 16 ymm registers
  const int64_t col_blocks = (Wo + kChunk - 1) / kChunk;
  torch::stable::parallel_for(0, S * row_blocks * col_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t s = idx / (row_blocks * col_blocks), rem = idx % (row_blocks * col_blocks);
      const int64_t r0 = (rem / col_blocks) * 2, c0 = (rem % col_blocks) * kChunk;
      const int RB = static_cast<int>(std::min<int64_t>(2, Ho - r0));
      const float* ss = search + s * C * H * W;
      const float* ts = templ + (per_scale ? s * C * h * w : 0);
      float* os = out + s * Ho * Wo;
      switch ((std::min(kChunk, Wo - c0) + 7) / 8) {  // vectors needed for this chunk
        case 1:
          rows_tile<1>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0);
          break;
        case 2:
          rows_tile<2>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0);
          break;
        case 3:
          rows_tile<3>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0);
          break;
        case 4:
          rows_tile<4>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0);
          break;
        case 5:
          rows_tile<5>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0);
          break;
        default:
          rows_tile<6>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0);
          break;
      }
    }
  });
}
#else
#define UNITRACK_XCORR_ROWS 0
#endif
#undef UNITRACK_XCORR_ROWS_DEFINED

// ---------------------------------------------------------------------------------------------- bfloat16 features
#if UNITRACK_SIMD_AMX
// AMX-BF16 tiles (the amx level). The direct sum as small GEMMs: for search row R of scale s and a block of 16
// output columns c0.., A[m, q] = search_cl[s, R, c0 + m, :] read as one row of w*C values starting at pixel c0 + m
// (rows m are shifted windows of the same search row: one tile load with a pixel stride, no packing), B[q, n] = row
// n of the template flattened [w*C]; C[m, n] = sum_q A[m, q] B[q, n] is search row R's contribution to output
// (R - n, c0 + m), added there after each row. B is packed once (VNNI pairs), 16 template rows per tile column
// group. Needs w*C % 32 == 0 (whole tiles of the flattened row) and at least 16 output columns (the last block is
// shifted left to stay inside the row; the columns it shares with the previous block are written by that one only).
bool amx_shape_ok(int64_t C, int64_t W, int64_t h, int64_t w) {
  return h >= 1 && W - w + 1 >= 16 && (w * C) % 32 == 0;
}

void xcorr_amx(const uint16_t* search_cl, const float* templ_cl, float* out, int64_t S, int64_t C, int64_t H, int64_t W,
               int64_t h, int64_t w, bool per_scale) {
  const int64_t L = w * C, chunks = L / 32, groups = (h + 15) / 16, Ts = per_scale ? S : 1;
  const int64_t Ho = H - h + 1, Wo = W - w + 1, col_blocks = (Wo + 15) / 16;
  // B tiles [Ts][groups][chunks][16 pairs][16 rows of the template][2]; zero beyond the template's h rows.
  std::vector<uint16_t> bt(static_cast<size_t>(Ts * groups * chunks * 512), 0);
  for (int64_t ts = 0; ts < Ts; ++ts)
    for (int64_t i = 0; i < h; ++i) {
      const float* row = templ_cl + (ts * h + i) * L;
      uint16_t* base = bt.data() + ((ts * groups + i / 16) * chunks) * 512 + (i % 16) * 2;
      for (int64_t q = 0; q < L; ++q) {
        uint32_t bits;
        std::memcpy(&bits, row + q, sizeof bits);  // a widened bf16: the upper half is exact
        base[(q / 32) * 512 + ((q % 32) / 2) * 32 + (q % 2)] = static_cast<uint16_t>(bits >> 16);
      }
    }
  torch::stable::parallel_for(0, S * col_blocks, 1, [&](int64_t begin, int64_t end) {
    simd::tiles_begin();
    alignas(64) float acc[16 * 16];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t s = task / col_blocks, cb = task % col_blocks;
      const int64_t c0 = std::min(cb * 16, Wo - 16), own = cb * 16 - c0;  // columns c0 + own .. c0 + 15 are ours
      float* o = out + s * Ho * Wo;
      for (int64_t r = 0; r < Ho; ++r)
        for (int64_t m = own; m < 16; ++m) o[r * Wo + c0 + m] = 0.0f;
      const uint16_t* b_s = bt.data() + (per_scale ? s : 0) * groups * chunks * 512;
      for (int64_t R = 0; R < H; ++R) {
        const uint16_t* a_row = search_cl + ((s * H + R) * W + c0) * C;
        for (int64_t g = 0; g < groups; ++g) {
          const int64_t i_lo = g * 16, i_hi = std::min(h, g * 16 + 16) - 1;
          if (R - i_lo < 0 || R - i_hi >= Ho) continue;  // no output row of this group
          const uint16_t* b_g = b_s + g * chunks * 512;
          _tile_zero(0);
          for (int64_t kc = 0; kc < chunks; ++kc) {
            _tile_loadd(1, a_row + kc * 32, C * 2);
            _tile_loadd(2, b_g + kc * 512, 64);
            _tile_dpbf16ps(0, 1, 2);
          }
          _tile_stored(0, acc, 64);
          for (int64_t i = i_lo; i <= i_hi; ++i) {
            const int64_t r = R - i;
            if (r < 0 || r >= Ho) continue;
            float* orow = o + r * Wo + c0;
            for (int64_t m = own; m < 16; ++m) orow[m] += acc[m * 16 + (i - i_lo)];
          }
        }
      }
    }
    simd::tiles_end();
  });
}
#endif

// A channels-last bf16 search without native bf16. One task per (scale, block of output rows) walks its rows kRB at
// a time and widens each search row to float32 just before its first use, into a ring of the kRB + h - 1 rows one
// step reads (the thread's workspace: 1 MB at the SOT size, so the float32 rows are read from L2), then runs the
// float32 tiles on it. A task re-widens the h - 1 rows it shares with the task above, so a scale is cut into as few
// tasks as the thread count allows (one at 1 thread: every row widened once). Each output's arithmetic is the same
// whatever the split, so results do not depend on the thread count. (Widening inside the dot products' loads instead
// costs two extra instructions per vector, 1.7-2x the float32 time; a buffer of 16 output rows per task widened each
// row 1.8 times: 1.07-1.13x.)
#if !UNITRACK_SIMD_AVX512BF16 || UNITRACK_SIMD_AMX
void xcorr_direct_bf16_cl(const uint16_t* search_cl, const float* templ_cl, float* out, int64_t S, int64_t C, int64_t H,
                          int64_t W, int64_t h, int64_t w, bool per_scale) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1, row = W * C, cap = kRB + h - 1;
  const int64_t steps = (Ho + kRB - 1) / kRB;  // kRB output rows each
  // At least two tasks per thread (load balance), in whole steps of kRB rows.
  const int64_t threads = std::max<int64_t>(1, static_cast<int64_t>(torch::stable::get_num_threads()));
  const int64_t per_scale_tasks = std::clamp<int64_t>((2 * threads + S - 1) / S, 1, steps);
  const int64_t task_steps = (steps + per_scale_tasks - 1) / per_scale_tasks;
  const int64_t row_tasks = (steps + task_steps - 1) / task_steps;
  torch::stable::parallel_for(0, S * row_tasks, 1, [&](int64_t begin, int64_t end) {
    struct WidenedRows;
    float* const ring = ThreadWorkspace<float, WidenedRows>::get(static_cast<size_t>(cap * row));
    const RingRows<float> rows{ring, row, cap};
    for (int64_t task = begin; task < end; ++task) {
      const int64_t s = task / row_tasks, r_begin = (task % row_tasks) * task_steps * kRB;
      const int64_t r_end = std::min(Ho, r_begin + task_steps * kRB);
      const uint16_t* src = search_cl + s * H * row;
      const float* t_cl = templ_cl + (per_scale ? s * h * w * C : 0);
      int64_t next = r_begin;  // the next search row to widen
      for (int64_t r0 = r_begin; r0 < r_end; r0 += kRB) {
        const int RB = static_cast<int>(std::min<int64_t>(kRB, r_end - r0));
        for (; next < r0 + RB + h - 1; ++next) {  // slot next % cap held row next - cap, which no step reads again
          const uint16_t* in = src + next * row;
          float* dst = ring + (next % cap) * row;
          using V = simd::V<float>;
          constexpr int N = simd::Vec<float>::N;
          int64_t i = 0;
          for (; i + N <= row; i += N) simd::store(dst + i, simd::load_bf16<V>(in + i));
          for (; i < row; ++i) dst[i] = simd::bf16_to_float(in[i]);
        }
        direct_rows<float, float, float>(rows, t_cl, out + s * Ho * Wo, r0, RB, C, h, w, Wo);
      }
    }
    ThreadWorkspace<float, WidenedRows>::release_if_large();
  });
}
#endif

// The calling thread's workspace `Tag` (64-byte aligned), holding src [B, C, P] (bf16) as [B, P, C] of Dst.
struct SearchCopy;
struct TemplateCopy;
template <typename Dst, typename Tag>
Dst* workspace_copy(const uint16_t* src, int64_t B, int64_t C, int64_t P) {
  Dst* dst = ThreadWorkspace<Dst, Tag>::get(static_cast<size_t>(B * P * C));
  to_channels_last<uint16_t, Dst>(src, dst, B, C, P);
  return dst;
}

// bf16 search / template -> float32 out.
//  * amx level: AMX-BF16 tiles for the shapes they take (amx_shape_ok), else as the levels without native bf16;
//  * avx512bf16 level: vdpbf16ps tiles on the bf16 data (the template and an NCHW search transposed to channels-last
//    as bf16);
//  * other levels: the float32 tiles; the template is widened to float32 channels-last (small), an NCHW search while
//    it is transposed to channels-last (no extra pass), a channels-last one row by row (xcorr_direct_bf16_cl).
// (vdpbf16ps is not used at the amx level: on the AMX CPU measured here it does half the multiply-adds per second of
// float32 FMAs; see cpu/kernels/bf16_probe.h.)
void xcorr_bf16(const uint16_t* search, bool search_cl, const uint16_t* templ, float* out, int64_t S, int64_t C,
                int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale) {
  const int64_t Ts = per_scale ? S : 1;
  // The channels-last copies (search, template) go to the calling thread's workspace (workspace_copy): a fresh 6-13 MB
  // buffer per call costs page faults (up to 1.7x the float32 time in some runs), and malloc's 16-byte alignment split
  // every other vector load of the template over two cache lines.
  struct ReleaseLarge {  // on every return: no huge copy stays pinned in this thread
    ~ReleaseLarge() {
      ThreadWorkspace<float, SearchCopy>::release_if_large();
      ThreadWorkspace<uint16_t, SearchCopy>::release_if_large();
      ThreadWorkspace<float, TemplateCopy>::release_if_large();
      ThreadWorkspace<uint16_t, TemplateCopy>::release_if_large();
    }
  } release_large;
#if UNITRACK_SIMD_AVX512BF16 && !UNITRACK_SIMD_AMX
  const uint16_t* s_cl = search_cl ? search : workspace_copy<uint16_t, SearchCopy>(search, S, C, H * W);
  const uint16_t* t_cl = workspace_copy<uint16_t, TemplateCopy>(templ, Ts, C, h * w);
  xcorr_direct<float, uint16_t, uint16_t>(s_cl, t_cl, out, S, C, H, W, h, w, per_scale);
#else
  const float* t_cl = workspace_copy<float, TemplateCopy>(templ, Ts, C, h * w);
#if UNITRACK_SIMD_AMX
  if (amx_shape_ok(C, W, h, w)) {
    const uint16_t* s_cl = search_cl ? search : workspace_copy<uint16_t, SearchCopy>(search, S, C, H * W);
    xcorr_amx(s_cl, t_cl, out, S, C, H, W, h, w, per_scale);
    return;
  }
#endif
  if (search_cl) {
    xcorr_direct_bf16_cl(search, t_cl, out, S, C, H, W, h, w, per_scale);
    return;
  }
  xcorr_direct<float>(workspace_copy<float, SearchCopy>(search, S, C, H * W), t_cl, out, S, C, H, W, h, w, per_scale);
#endif
}

}  // namespace xcorr

extern const XcorrKernels kXcorrKernels;
const XcorrKernels kXcorrKernels = {
#if UNITRACK_XCORR_ROWS
    {&xcorr::to_channels_last<float>, &xcorr::xcorr_direct<float>, &xcorr::xcorr_rows, &xcorr::spectrum_dot<float>},
#else
    {&xcorr::to_channels_last<float>, &xcorr::xcorr_direct<float>, nullptr, &xcorr::spectrum_dot<float>},
#endif
    {&xcorr::to_channels_last<double>, &xcorr::xcorr_direct<double>, nullptr, &xcorr::spectrum_dot<double>},
    {&xcorr::xcorr_bf16},
};
#undef UNITRACK_XCORR_ROWS

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
