// CPU kernel of unitrack::xcorr -- valid multi-scale cross-correlation (no flip, no scaling).
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
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "common/checks.h"

// ISO C++ mode (-std=c++20) turns GCC's floating-point contraction off, which splits every a += x*t of the inner
// loop into a multiply and an add; allow fused multiply-adds in this file (results stay within the tests' tolerance).
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

namespace unitrack {
namespace {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#else
constexpr int kVecBytes = 32;
#endif

#if defined(__GNUC__) || defined(__clang__)
#define UNITRACK_HAVE_VECEXT 1
template <typename T>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(kVecBytes)));
  static constexpr int N = kVecBytes / 4;
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
  static constexpr int N = kVecBytes / 8;
};
template <typename V, typename T>
inline V vload(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));  // unaligned load (vmovups)
  return v;
}
#else
#define UNITRACK_HAVE_VECEXT 0
#endif

// Register tile: RB output rows x CB output columns.
constexpr int kRB = 2;
constexpr int kCB = 6;

// acc[q*CB + b] += dot(srow + b*C, trow[q], L) for q < NR, b < CB, where srow points at search_cl[s, R, c0, 0]
// (column b starts C elements further), trow[q] at templ_cl[i_q, 0, 0]. The accumulators are loaded into locals so
// that they live in registers for the whole length-L loop.
template <typename scalar_t, int NR, int CB>
inline void tile_dot(scalar_t* acc, const scalar_t* srow, int64_t C, const scalar_t* const* trow, int64_t L) {
  int64_t v0 = 0;
#if UNITRACK_HAVE_VECEXT
  using V = typename Vec<scalar_t>::type;
  constexpr int N = Vec<scalar_t>::N;
  V a[NR][CB];
#pragma GCC unroll 8
  for (int q = 0; q < NR; ++q)
#pragma GCC unroll 8
    for (int b = 0; b < CB; ++b) a[q][b] = V{} ;
  const int64_t Lv = L - L % N;
  for (int64_t v = 0; v < Lv; v += N) {
    V t[NR];
#pragma GCC unroll 8
    for (int q = 0; q < NR; ++q) t[q] = vload<V>(trow[q] + v);
#pragma GCC unroll 8
    for (int b = 0; b < CB; ++b) {
      const V x = vload<V>(srow + b * C + v);
#pragma GCC unroll 8
      for (int q = 0; q < NR; ++q) a[q][b] += x * t[q];
    }
  }
  for (int q = 0; q < NR; ++q)
    for (int b = 0; b < CB; ++b) {
      scalar_t s = 0;
      for (int l = 0; l < N; ++l) s += a[q][b][l];
      acc[q * CB + b] += s;
    }
  v0 = Lv;
#endif
  for (int64_t v = v0; v < L; ++v)
    for (int q = 0; q < NR; ++q)
      for (int b = 0; b < CB; ++b) acc[q * CB + b] += srow[b * C + v] * trow[q][v];
}

// Output tile rows [r0, r0+RB) x cols [c0, c0+CB) of one scale (RB <= kRB, CB <= kCB at run time).
template <typename scalar_t, int CB>
void direct_tile(const scalar_t* s_cl, const scalar_t* t_cl, scalar_t* out, int64_t r0, int RB, int64_t c0,
                 int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, int64_t Wo) {
  (void)H;
  const int64_t L = w * C;
  scalar_t acc[kRB * CB];
  for (auto& a : acc) a = 0;
  // Search row R contributes to output row r0+q with template row i = R - r0 - q.
  for (int64_t R = r0; R < r0 + RB - 1 + h; ++R) {
    const scalar_t* srow = s_cl + (R * W + c0) * C;
    const int q_lo = static_cast<int>(std::max<int64_t>(0, R - r0 - (h - 1)));
    const int q_hi = static_cast<int>(std::min<int64_t>(RB - 1, R - r0));
    if (RB == kRB && q_lo == 0 && q_hi == kRB - 1) {
      const scalar_t* trow[kRB];
      for (int q = 0; q < kRB; ++q) trow[q] = t_cl + (R - r0 - q) * L;
      tile_dot<scalar_t, kRB, CB>(acc, srow, C, trow, L);
    } else {
      for (int q = q_lo; q <= q_hi; ++q) {
        const scalar_t* trow[1] = {t_cl + (R - r0 - q) * L};
        tile_dot<scalar_t, 1, CB>(acc + q * CB, srow, C, trow, L);
      }
    }
  }
  for (int q = 0; q < RB; ++q)
    for (int b = 0; b < CB; ++b) out[(r0 + q) * Wo + c0 + b] = acc[q * CB + b];
}

template <typename scalar_t>
void direct_tile_any(int CB, const scalar_t* s_cl, const scalar_t* t_cl, scalar_t* out, int64_t r0, int RB,
                     int64_t c0, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, int64_t Wo) {
  switch (CB) {
#define UNITRACK_XCORR_CASE(n) \
  case n:                      \
    return direct_tile<scalar_t, n>(s_cl, t_cl, out, r0, RB, c0, C, H, W, h, w, Wo);
    UNITRACK_XCORR_CASE(1)
    UNITRACK_XCORR_CASE(2)
    UNITRACK_XCORR_CASE(3)
    UNITRACK_XCORR_CASE(4)
    UNITRACK_XCORR_CASE(5)
    UNITRACK_XCORR_CASE(6)
#undef UNITRACK_XCORR_CASE
    default:
      TORCH_INTERNAL_ASSERT(false, "xcorr: bad column block ", CB);
  }
}
static_assert(kCB == 6, "direct_tile_any enumerates column blocks 1..6");

#if defined(__AVX2__)
// dst[j * ldd + i] = src[i * lds + j] for an 8 x 8 block of floats (three shuffle stages in registers).
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// One [C, P] matrix (row stride P) -> [P, C] (row stride C), in 32 x 32 cache tiles; rows [p0, p1) of the output.
template <typename scalar_t>
void transpose_rows(const scalar_t* s, scalar_t* d, int64_t C, int64_t P, int64_t p0, int64_t p1) {
  constexpr int64_t kT = 32;
  for (int64_t pb = p0; pb < p1; pb += kT) {
    const int64_t pe = std::min(p1, pb + kT);
    for (int64_t cb = 0; cb < C; cb += kT) {
      const int64_t ce = std::min(C, cb + kT);
      int64_t p = pb;
#if defined(__AVX2__)
      if constexpr (std::is_same_v<scalar_t, float>) {
        for (; p + 8 <= pe; p += 8) {
          int64_t c = cb;
          for (; c + 8 <= ce; c += 8) transpose8x8(s + c * P + p, P, d + p * C + c, C);
          for (; c < ce; ++c)
            for (int64_t k = 0; k < 8; ++k) d[(p + k) * C + c] = s[c * P + p + k];
        }
      }
#endif
      for (; p < pe; ++p)
        for (int64_t c = cb; c < ce; ++c) d[p * C + c] = s[c * P + p];
    }
  }
}

// [B, C, H, W] (any strides) -> contiguous [B, H, W, C]. ATen's permute().contiguous() is a slow generic copy for this
// pattern (~12 ms for 3x256x65x65 on 2 cores), so transpose each [C, H*W] matrix in cache tiles of 8 x 8 register
// transposes (AVX2; scalar elsewhere), split over threads by blocks of output rows.
template <typename scalar_t>
at::Tensor to_channels_last(const at::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), P = H * W;
  auto perm = x.permute({0, 2, 3, 1});
  if (perm.is_contiguous()) return perm;  // already channels-last in memory: no copy
  auto y = at::empty({B, H, W, C}, x.options());
  auto xc = x.contiguous();
  const scalar_t* src = xc.const_data_ptr<scalar_t>();
  scalar_t* dst = y.mutable_data_ptr<scalar_t>();
  constexpr int64_t kRows = 256;  // output rows (pixels) per task
  const int64_t pb = (P + kRows - 1) / kRows;
  at::parallel_for(0, B * pb, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t b = idx / pb, p0 = (idx % pb) * kRows;
      transpose_rows<scalar_t>(src + b * C * P, dst + b * P * C, C, P, p0, std::min(P, p0 + kRows));
    }
  });
  return y;
}

// search_cl [S,H,W,C] contiguous, templ_cl [h,w,C] (shared) or [S,h,w,C]; out [S,Ho,Wo].
template <typename scalar_t>
void xcorr_direct(const scalar_t* search_cl, const scalar_t* templ_cl, scalar_t* out, int64_t S, int64_t C,
                  int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  const int64_t row_blocks = (Ho + kRB - 1) / kRB;
  // One task per (scale, block of kRB output rows): independent outputs, no synchronisation. Each task touches
  // (kRB+h-1) search rows and the whole template (cache-resident for typical sizes: 14*14*256 floats = 200 KB).
  at::parallel_for(0, S * row_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t s = idx / row_blocks, r0 = (idx % row_blocks) * kRB;
      const int RB = static_cast<int>(std::min<int64_t>(kRB, Ho - r0));
      const scalar_t* s_cl = search_cl + s * H * W * C;
      const scalar_t* t_cl = templ_cl + (per_scale ? s * h * w * C : 0);
      scalar_t* o = out + s * Ho * Wo;
      for (int64_t c0 = 0; c0 < Wo; c0 += kCB) {
        const int CB = static_cast<int>(std::min<int64_t>(kCB, Wo - c0));
        direct_tile_any<scalar_t>(CB, s_cl, t_cl, o, r0, RB, c0, C, H, W, h, w, Wo);
      }
    }
  });
}

#if defined(__AVX2__) && defined(__FMA__)
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
  alignas(32) int32_t lane_mask[8 * NV];
  for (int64_t l = 0; l < 8 * NV; ++l) lane_mask[l] = l < ncols ? -1 : 0;
  __m256i mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lane_mask + 8 * v));
  const bool full = ncols == 8 * NV;
  __m256 acc[2][NV];
  for (int q = 0; q < 2; ++q)
    for (int v = 0; v < NV; ++v) acc[q][v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < C; ++k) {
    const float* sk = search_s + k * H * W;
    const float* tk = templ_s + k * h * w;
    for (int64_t R = r0; R < r0 + RB - 1 + h; ++R) {
      const int64_t i0 = R - r0, i1 = R - r0 - 1;  // template rows for output rows r0 and r0 + 1
      const bool use0 = i0 < h, use1 = RB == 2 && i1 >= 0;
      const float* srow = sk + R * W + c0;
      for (int64_t j = 0; j < w; ++j) {
        __m256 x[NV];
        for (int v = 0; v < NV; ++v)
          x[v] = full ? _mm256_loadu_ps(srow + j + 8 * v) : _mm256_maskload_ps(srow + j + 8 * v, mask[v]);
        if (use0) {
          const __m256 t = _mm256_broadcast_ss(tk + i0 * w + j);
          for (int v = 0; v < NV; ++v) acc[0][v] = _mm256_fmadd_ps(x[v], t, acc[0][v]);
        }
        if (use1) {
          const __m256 t = _mm256_broadcast_ss(tk + i1 * w + j);
          for (int v = 0; v < NV; ++v) acc[1][v] = _mm256_fmadd_ps(x[v], t, acc[1][v]);
        }
      }
    }
  }
  for (int q = 0; q < RB; ++q)
    for (int v = 0; v < NV; ++v) {
      float* o = out_s + (r0 + q) * Wo + c0 + 8 * v;
      if (full)
        _mm256_storeu_ps(o, acc[q][v]);
      else
        _mm256_maskstore_ps(o, mask[v], acc[q][v]);
    }
}

// search [S, C, H, W] contiguous float32, templ [C, h, w] (shared) or [S, C, h, w] contiguous; out [S, Ho, Wo].
void xcorr_rows(const float* search, const float* templ, float* out, int64_t S, int64_t C, int64_t H, int64_t W,
                int64_t h, int64_t w, bool per_scale) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  const int64_t row_blocks = (Ho + 1) / 2;
  constexpr int64_t kChunk = 48;  // NV = 6 vectors: 12 accumulators + loads in the 16 ymm registers
  const int64_t col_blocks = (Wo + kChunk - 1) / kChunk;
  at::parallel_for(0, S * row_blocks * col_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t s = idx / (row_blocks * col_blocks), rem = idx % (row_blocks * col_blocks);
      const int64_t r0 = (rem / col_blocks) * 2, c0 = (rem % col_blocks) * kChunk;
      const int RB = static_cast<int>(std::min<int64_t>(2, Ho - r0));
      const float* ss = search + s * C * H * W;
      const float* ts = templ + (per_scale ? s * C * h * w : 0);
      float* os = out + s * Ho * Wo;
      switch ((std::min(kChunk, Wo - c0) + 7) / 8) {  // vectors needed for this chunk
        case 1: rows_tile<1>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0); break;
        case 2: rows_tile<2>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0); break;
        case 3: rows_tile<3>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0); break;
        case 4: rows_tile<4>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0); break;
        case 5: rows_tile<5>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0); break;
        default: rows_tile<6>(ss, ts, os, C, H, W, h, w, Wo, r0, RB, c0); break;
      }
    }
  });
}
#else
#define UNITRACK_XCORR_ROWS 0
#endif

at::Tensor xcorr_fft(const at::Tensor& search, const at::Tensor& templ) {
  const int64_t H = search.size(2), W = search.size(3);
  const int64_t Ho = H - templ.size(-2) + 1, Wo = W - templ.size(-1) + 1;
  const std::vector<int64_t> size{H, W};
  auto Xf = at::fft_rfft2(search, size);                          // [S, C, H, W/2+1]
  auto Tf = at::fft_rfft2(templ, size);                           // [C, H, W/2+1] or [S, C, H, W/2+1] (zero-padded)
  auto K = at::mul(Xf, Tf.conj()).sum(1);                         // [S, H, W/2+1]: sum over channels
  auto full = at::fft_irfft2(K, size);                            // [S, H, W] circular correlation
  return full.narrow(1, 0, Ho).narrow(2, 0, Wo).contiguous();
}

enum class Method { Direct, Rows, FFT };

// Cost model in units of one direct multiply-add. Calibrated on x86-64 (AVX2, 2 cores, ATen's MKL/pocketfft
// rfft2): the tiled direct kernel runs at 0.05-0.3 ns per MAC (better for wider templates), while a real H x W
// transform through ATen costs 4-11 ns per H*W*log2(H*W) unit, i.e. ~40 direct MACs. The FFT therefore only wins
// for large templates over large maps (e.g. 128x128 over 256x256); UniTrack's 14x14 over 65x65 is ~8x cheaper direct.
// The NCHW "rows" kernel (float32, AVX2) skips the channels-last copy but multiplies at about half the direct
// kernel's rate; it wins for templates of at most 3x3 when the search is not already channels-last (measured: 3x3
// over 3x256x65x65 2.4 ms vs 3.9 ms, 6x6 over 256x31x31 0.44 ms vs 0.38 ms, 14x14 20 ms vs 11 ms).
Method xcorr_method(int64_t S, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale, bool rows_ok) {
  constexpr double kFFTCost = 40.0;
  constexpr double kCMulCost = 20.0;
  const double Ho = static_cast<double>(H - h + 1), Wo = static_cast<double>(W - w + 1);
  const double direct = static_cast<double>(S) * C * Ho * Wo * h * w;
  const double hw = static_cast<double>(H) * W;
  const double n_fft = static_cast<double>(S) + (per_scale ? S : 1) + S / static_cast<double>(std::max<int64_t>(C, 1));
  const double fft = n_fft * C * kFFTCost * hw * std::log2(std::max(hw, 2.0)) +
                     kCMulCost * S * C * H * (W / 2 + 1.0);
  if (direct > fft && h * w >= 16) return Method::FFT;
  return rows_ok && h * w <= 9 ? Method::Rows : Method::Direct;
}

// UNITRACK_XCORR_METHOD=direct|rows|fft forces a method (tests and benchmarks exercise all; "rows" needs float32 and
// an AVX2 build, else it runs direct); unset or "auto" -> cost model. Read on every call: no cached global state.
Method choose_method(int64_t S, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale, bool rows_ok) {
  if (const char* env = std::getenv("UNITRACK_XCORR_METHOD")) {
    const std::string m(env);
    if (m == "direct") return Method::Direct;
    if (m == "rows") return Method::Rows;
    if (m == "fft") return Method::FFT;
    TORCH_CHECK(m.empty() || m == "auto", "UNITRACK_XCORR_METHOD must be direct, rows, fft or auto, got '", m, "'");
  }
  return xcorr_method(S, C, H, W, h, w, per_scale, rows_ok);
}

at::Tensor xcorr_cpu(const at::Tensor& search, const at::Tensor& templ) {
  UNITRACK_CHECK_DIM(search, "search", 4);
  TORCH_CHECK(templ.dim() == 3 || templ.dim() == 4, "templ must be [C, h, w] or [S, C, h, w], got shape ",
              templ.sizes());
  UNITRACK_CHECK_FLOAT(search, "search");
  UNITRACK_CHECK_SAME_DTYPE(search, "search", templ, "templ");
  UNITRACK_CHECK_CPU(search, "search");
  UNITRACK_CHECK_CPU(templ, "templ");
  const int64_t S = search.size(0), C = search.size(1), H = search.size(2), W = search.size(3);
  const bool per_scale = templ.dim() == 4;
  TORCH_CHECK(!per_scale || templ.size(0) == S, "templ has ", templ.size(0), " scales but search has ", S);
  TORCH_CHECK(templ.size(-3) == C, "templ has ", templ.size(-3), " channels but search has ", C);
  const int64_t h = templ.size(-2), w = templ.size(-1);
  TORCH_CHECK(h >= 1 && w >= 1, "templ must have a positive spatial size, got ", h, "x", w);
  TORCH_CHECK(h <= H && w <= W, "templ (", h, "x", w, ") must not be larger than search (", H, "x", W, ")");
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  if (S == 0) return at::empty({S, Ho, Wo}, search.options());
  const bool rows_ok = UNITRACK_XCORR_ROWS && search.scalar_type() == at::kFloat &&
                       !search.permute({0, 2, 3, 1}).is_contiguous();  // a channels-last search needs no copy
  const Method method = choose_method(S, C, H, W, h, w, per_scale, rows_ok);
  if (method == Method::FFT) return xcorr_fft(search, templ);
#if UNITRACK_XCORR_ROWS
  if (method == Method::Rows && search.scalar_type() == at::kFloat) {  // float32 only; float64 runs direct
    const at::Tensor sc = search.contiguous(), tc = templ.contiguous();
    at::Tensor out = at::empty({S, Ho, Wo}, search.options());
    xcorr_rows(sc.const_data_ptr<float>(), tc.const_data_ptr<float>(), out.mutable_data_ptr<float>(), S, C, H, W, h,
               w, per_scale);
    return out;
  }
#endif

  auto out = at::empty({S, Ho, Wo}, search.options());
  AT_DISPATCH_FLOATING_TYPES(search.scalar_type(), "xcorr_cpu", [&] {
    // Channels-last copies (none when the producer already wrote channels-last, e.g. a conv net run with
    // memory_format=torch.channels_last).
    auto s_cl = to_channels_last<scalar_t>(search);                   // [S, H, W, C]
    auto t_cl = to_channels_last<scalar_t>(per_scale ? templ : templ.unsqueeze(0));  // [1 or S, h, w, C]
    xcorr_direct<scalar_t>(s_cl.const_data_ptr<scalar_t>(), t_cl.const_data_ptr<scalar_t>(),
                           out.mutable_data_ptr<scalar_t>(), S, C, H, W, h, w, per_scale);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CPU, m) { m.impl("xcorr", &xcorr_cpu); }

}  // namespace unitrack
