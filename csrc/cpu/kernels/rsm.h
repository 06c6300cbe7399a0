// CPU kernels of unitrack::rsm (compiled once per ISA level: csrc/cpu/isa/rsm_<level>.cpp; entry csrc/cpu/rsm.cpp) --
// the Reconstruction Similarity Metric (SPEC §6, appendix b), computed algebraically.
//
//   T^ [sumP, C], D^ [sumQ, C]  per-point L2-normalised (v / max(||v||, 1e-12)), objects packed along dim 0
//   A    = T^ D^T                                      one GEMM, [sumP, sumQ]
//   Wtd  = softmax(A / tau) along each row   (over all detection points of all detections)
//   Wdt  = softmax(A / tau) along each column (over all track points of all tracks)
//   For track i (rows p in i) and detection j (columns q in j), with G_j = D^_j D^_j^T and H_i = T^_i T^_i^T:
//     <r_td[i,j], t^_i> = sum_{p,q} Wtd[p,q] A[p,q]       ||r_td[i,j]||^2 = sum_p  w_p^T G_j w_p,  w_p = Wtd[p, q in j]
//     <r_dt[i,j], d^_j> = sum_{p,q} Wdt[p,q] A[p,q]       ||r_dt[i,j]||^2 = sum_q  v_q^T H_i v_q,  v_q = Wdt[p in i, q]
//     ||vec(t^_i)||^2 = trace(H_i),  ||vec(d^_j)||^2 = trace(G_j)
//   s = dot / (max(||r||, 1e-12) * max(||vec||, 1e-12)) in each direction, out = (s_td + s_dt) / 2.
// The [N, M, P, C] reconstructions of the reference are never formed. The eps clamps are kept exactly: a pair whose
// softmax mass is ~1e-28 (all its points have much better matches elsewhere) gets ||r|| < 1e-12 and a similarity ~0,
// as in the reference.
//
// Schedule (CPU): the GEMM (gemm.h: a fixed reduction order, unlike BLAS); one pass for the column maxima; then one
// parallel task per track i over its rows of A, which forms the unnormalised row- and column-softmax numerators e =
// exp((A - rowmax)/tau) and e' = exp((A - colmax)/tau) into two per-thread [P_i, sumQ] buffers (with the row sums Z_p,
// the column sums and the <r, x> dot products) and then evaluates the quadratic forms of both directions on them with
// register-tiled kernels: for each detection j, sum_p e_p^T G_j e_p / Z_p^2 (Gram on the right, quad_right), and per
// detection point q, e'_q^T H_i e'_q (Gram on the left, quad_left), scaled by 1/Y_q^2 once the column sums Y_q are
// complete. The Gram blocks are stored block-upper-triangular (off-diagonal blocks doubled), which skips ~40 % of the
// multiply-adds. Sums over points are accumulated in double; for signed features (a Gram block with a negative entry)
// w^T G w = ||D^T w||^2 may cancel, and those objects' quadratic forms run in double.
#ifndef UNITRACK_ISA_SKIP
#include "cpu/simd.h"
#include "cpu/kernels/gemm.h"

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace rsm {

// exp(x) for x <= 0, written so that gcc vectorises the loops that call it (no libm call). Cody-Waite reduction
// x = k ln2 + r, |r| <= ln2/2, Taylor polynomial (float: degree 7, rel. error ~1e-8; double: degree 13, ~1e-16),
// 2^k assembled in the exponent bits. Results below the smallest normal number are flushed to 0 (the reference's
// denormal weights are < 1e-38 and change no similarity: such a pair has ||r|| < 1e-12 either way).
inline float exp_nonpos(float x) {
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
  const float xc = std::max(x, -87.0f);
  const float t = std::fma(xc, 1.44269504088896341f, magic);
  const float k = t - magic;
  float r = std::fma(-k, 0.693359375f, xc);
  r = std::fma(k, 2.12194440e-4f, r);
  float p = 1.0f / 5040.0f;
  p = std::fma(p, r, 1.0f / 720.0f);
  p = std::fma(p, r, 1.0f / 120.0f);
  p = std::fma(p, r, 1.0f / 24.0f);
  p = std::fma(p, r, 1.0f / 6.0f);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  uint32_t b;
  std::memcpy(&b, &t, sizeof b);
  b = (b + 127u) << 23;  // low bits of t's pattern are k: 2^k
  float s;
  std::memcpy(&s, &b, sizeof s);
  return static_cast<float>(x >= -87.0f) * (p * s);  // multiply, not select: keeps the loop branch-free
}

inline double exp_nonpos(double x) {
  const double magic = 6755399441055744.0;  // 1.5 * 2^52
  const double xc = std::max(x, -708.0);
  const double t = std::fma(xc, 1.4426950408889634074, magic);
  const double k = t - magic;
  double r = std::fma(-k, 6.93145751953125e-1, xc);
  r = std::fma(-k, 1.42860682030941723212e-6, r);
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = std::fma(p, r, 1.0 / 479001600.0);
  p = std::fma(p, r, 1.0 / 39916800.0);
  p = std::fma(p, r, 1.0 / 3628800.0);
  p = std::fma(p, r, 1.0 / 362880.0);
  p = std::fma(p, r, 1.0 / 40320.0);
  p = std::fma(p, r, 1.0 / 5040.0);
  p = std::fma(p, r, 1.0 / 720.0);
  p = std::fma(p, r, 1.0 / 120.0);
  p = std::fma(p, r, 1.0 / 24.0);
  p = std::fma(p, r, 1.0 / 6.0);
  p = std::fma(p, r, 0.5);
  p = std::fma(p, r, 1.0);
  p = std::fma(p, r, 1.0);
  uint64_t b;
  std::memcpy(&b, &t, sizeof b);
  b = (b + 1023u) << 52;
  double s;
  std::memcpy(&s, &b, sizeof s);
  return static_cast<double>(x >= -708.0) * (p * s);
}

// Reductions written with 8 independent partial results so that gcc vectorises them without -ffast-math (an in-order
// floating-point reduction cannot be vectorised). Accumulation in double.
template <typename T, typename U>
inline double dot_d(const T* x, const U* y, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t q = 0;
  for (; q + 8 <= n; q += 8)
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[q + k]) * static_cast<double>(y[q + k]);
  double s = 0;
  for (; q < n; ++q) s += static_cast<double>(x[q]) * static_cast<double>(y[q]);
  for (int k = 0; k < 8; ++k) s += acc[k];
  return s;
}

template <typename T>
inline double sum_d(const T* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t q = 0;
  for (; q + 8 <= n; q += 8)
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[q + k]);
  double s = 0;
  for (; q < n; ++q) s += static_cast<double>(x[q]);
  for (int k = 0; k < 8; ++k) s += acc[k];
  return s;
}

template <typename T>
inline T max_v(const T* x, int64_t n) {  // n >= 1
  T m[8];
  for (int k = 0; k < 8; ++k) m[k] = x[0];
  int64_t q = 0;
  for (; q + 8 <= n; q += 8)
    for (int k = 0; k < 8; ++k) m[k] = x[q + k] > m[k] ? x[q + k] : m[k];
  T r = x[0];
  for (; q < n; ++q) r = x[q] > r ? x[q] : r;
  for (int k = 0; k < 8; ++k) r = m[k] > r ? m[k] : r;
  return r;
}

// a * b + c as one fused instruction where the target has FMA (-march=native on this machine); a plain multiply-add
// otherwise (std::fma without hardware support is a slow libm call).
template <typename T>
inline T madd(T a, T b, T c) {
#if UNITRACK_SIMD_AVX2
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

constexpr int64_t kColPad = 8;  // column padding of the weight buffers and Gram blocks (one AVX vector of floats)
inline int64_t round_up(int64_t x, int64_t m) {
  return (x + m - 1) / m * m;
}

// Register tile of a small matrix product: acc[4][CB] = A[4 rows, 0:K] (row stride lda) @ B[0:K, 0:CB] (row stride
// ldb). The fixed-size loops are fully unrolled, so gcc keeps acc in vector registers (8 ymm for floats, CB = 16).
template <typename T, int CB>
inline void tile4(const T* A, int64_t lda, const T* B, int64_t ldb, int64_t K, T (&acc)[4][CB]) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < CB; ++c) acc[r][c] = T(0);
  for (int64_t k = 0; k < K; ++k) {
    const T* b = B + k * ldb;
    const T a0 = A[k], a1 = A[lda + k], a2 = A[2 * lda + k], a3 = A[3 * lda + k];
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c) {
      acc[0][c] = madd(a0, b[c], acc[0][c]);
      acc[1][c] = madd(a1, b[c], acc[1][c]);
      acc[2][c] = madd(a2, b[c], acc[2][c]);
      acc[3][c] = madd(a3, b[c], acc[3][c]);
    }
  }
}

// Per-row quadratic forms with a small matrix on the right (track -> detection direction):
//   Y = X[0:R, 0:K] S[0:K, 0:L],   out[r] = sum_l (kSquare ? Y[r, l]^2 : X[r, l] Y[r, l])   (in double)
// R a multiple of 4, L a multiple of kColPad, S zero in its padded columns; kDot reads X up to column L (the values
// there meet Y = 0 and must only be finite). Products are taken in double: two softmax weights of ~1e-25 multiply to
// below the float range.
template <typename T, bool kSquare>
void quad_right_generic(const T* X, int64_t ldx, int64_t R, int64_t K, const T* S, int64_t lds, int64_t L,
                        double* out) {
  constexpr int CB = 64 / static_cast<int>(sizeof(T));  // two AVX vectors
  constexpr int CH = CB / 2;
  for (int64_t r0 = 0; r0 < R; r0 += 4) {
    const T* x = X + r0 * ldx;
    double part[4][CH] = {};
    auto epilogue = [&](const T* acc_row, int r, int64_t l0, int cb) {
      for (int c0 = 0; c0 < cb; c0 += CH)
        for (int c = 0; c < CH; ++c) {
          const double y = static_cast<double>(acc_row[c0 + c]);
          part[r][c] += kSquare ? y * y : static_cast<double>(x[r * ldx + l0 + c0 + c]) * y;
        }
    };
    int64_t l0 = 0;
    for (; l0 + CB <= L; l0 += CB) {
      T acc[4][CB];
      tile4<T, CB>(x, ldx, S + l0, lds, K, acc);
      for (int r = 0; r < 4; ++r) epilogue(acc[r], r, l0, CB);
    }
    for (; l0 < L; l0 += CH) {
      T acc[4][CH];
      tile4<T, CH>(x, ldx, S + l0, lds, K, acc);
      for (int r = 0; r < 4; ++r) epilogue(acc[r], r, l0, CH);
    }
    for (int r = 0; r < 4; ++r) {
      double s = 0;
      for (int c = 0; c < CH; ++c) s += part[r][c];
      out[r0 + r] = s;
    }
  }
}

// Per-column quadratic forms with a small matrix on the left (detection -> track direction):
//   Y = Hm[0:R, 0:K] X[0:K, 0:L],   out[l] += sum_r (kSquare ? Y[r, l]^2 : X[r, l] Y[r, l])   (in double)
// R a multiple of 4 (Hm zero in its padded rows), L a multiple of kColPad; kDot reads X rows 0:R (finite).
template <typename T, bool kSquare>
void quad_left_generic(const T* Hm, int64_t ldh, int64_t R, int64_t K, const T* X, int64_t ldx, int64_t L,
                       double* out) {
  constexpr int CB = 64 / static_cast<int>(sizeof(T));
  constexpr int CH = CB / 2;
  for (int64_t r0 = 0; r0 < R; r0 += 4) {
    const T* h = Hm + r0 * ldh;
    int64_t l0 = 0;
    for (; l0 + CB <= L; l0 += CB) {
      T acc[4][CB];
      tile4<T, CB>(h, ldh, X + l0, ldx, K, acc);
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < CB; ++c) {
          const double y = static_cast<double>(acc[r][c]);
          out[l0 + c] += kSquare ? y * y : static_cast<double>(X[(r0 + r) * ldx + l0 + c]) * y;
        }
    }
    for (; l0 < L; l0 += CH) {
      T acc[4][CH];
      tile4<T, CH>(h, ldh, X + l0, ldx, K, acc);
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < CH; ++c) {
          const double y = static_cast<double>(acc[r][c]);
          out[l0 + c] += kSquare ? y * y : static_cast<double>(X[(r0 + r) * ldx + l0 + c]) * y;
        }
    }
  }
}

#if UNITRACK_SIMD_AVX2
// AVX2/FMA versions (simd.h vectors) for float input (the common case): the tile's accumulators stay in registers
// through the epilogue. The per-row (right) and per-4-row-block (left) partial sums are formed in float and accumulated
// in double: with non-negative Gram blocks (post-ReLU features; signed ones take the double path) every term is >= 0,
// so nothing cancels. A product below the float range (weights ~1e-20 each) belongs to a pair whose ||r|| is far below
// the 1e-12 clamp, where the value of ||r|| no longer matters.
namespace avx {

// Fixed 8-float vectors (csrc/cpu/simd.h): the Gram blocks' column chunks (kColPad) are 8 wide at every level.
using V8 = simd::VecN<float, 32>::type;
using V8d = simd::VecN<double, 64>::type;  // (quad_left accumulates 8 columns in double)
static_assert(kColPad == simd::VecN<float, 32>::N, "a Gram column chunk is one 8-float vector");

// Four rows x (8 * NV) columns: c[r][v] += A[r, k] * B[k, 8v:8v+8] over k.
template <int RB, int NV>
inline void tile(const float* A, int64_t lda, const float* B, int64_t ldb, int64_t K, V8 (&c)[RB][NV]) {
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = V8{};
  for (int64_t k = 0; k < K; ++k) {
    V8 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = simd::load<V8>(B + k * ldb + 8 * v);
    for (int r = 0; r < RB; ++r) {
      const V8 a = simd::splat<V8>(A[r * lda + k]);
      for (int v = 0; v < NV; ++v) c[r][v] = simd::fmadd(a, b[v], c[r][v]);
    }
  }
}

// Sum of the lanes in double, in registers and in a fixed order: s = lo + hi (4 doubles), (s0 + s2) + (s1 + s3).
inline double hsum_d(V8 v) {
  using V4f = simd::VecN<float, 16>::type;
  using V4d = simd::VecN<double, 32>::type;
  V4f lo, hi;
  std::memcpy(&lo, &v, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
  const V4d s = __builtin_convertvector(lo, V4d) + __builtin_convertvector(hi, V4d);
  return (s[0] + s[2]) + (s[1] + s[3]);
}

template <bool kSquare, int RB>
inline void quad_right_rows(const float* x, int64_t ldx, int64_t K, const float* S, int64_t lds, int64_t L,
                            double* out) {
  V8 rs[RB];
  for (int r = 0; r < RB; ++r) rs[r] = V8{};
  auto chunk = [&](auto nv_tag, int64_t l0) {
    constexpr int NV = decltype(nv_tag)::value;
    V8 c[RB][NV];
    // Dot mode: S is block-upper-triangular (see tri_factor), so column chunk [l0, l0 + 8 NV) needs k < l0 + 8 NV only.
    tile<RB, NV>(x, ldx, S + l0, lds, kSquare ? K : std::min<int64_t>(K, l0 + 8 * NV), c);
    for (int r = 0; r < RB; ++r)
      for (int v = 0; v < NV; ++v)
        rs[r] = simd::fmadd(kSquare ? c[r][v] : simd::load<V8>(x + r * ldx + l0 + 8 * v), c[r][v], rs[r]);
  };
  int64_t l0 = 0;
  for (; l0 + 16 <= L; l0 += 16) chunk(std::integral_constant<int, 2>{}, l0);
  for (; l0 < L; l0 += 8) chunk(std::integral_constant<int, 1>{}, l0);
  for (int r = 0; r < RB; ++r) out[r] = hsum_d(rs[r]);
}

template <bool kSquare>
void quad_right(const float* X, int64_t ldx, int64_t R, int64_t K, const float* S, int64_t lds, int64_t L,
                double* out) {
  int64_t r0 = 0;
  for (; r0 + 6 <= R; r0 += 6) quad_right_rows<kSquare, 6>(X + r0 * ldx, ldx, K, S, lds, L, out + r0);
  for (; r0 < R; r0 += 2) quad_right_rows<kSquare, 2>(X + r0 * ldx, ldx, K, S, lds, L, out + r0);
}

template <bool kSquare, int RB>
inline void quad_left_rows(const float* h, int64_t ldh, int64_t K, const float* X, int64_t ldx, int64_t L,
                           const float* xr, double* out) {
  auto chunk = [&](auto nv_tag, int64_t l0) {
    constexpr int NV = decltype(nv_tag)::value;
    V8 c[RB][NV];
    tile<RB, NV>(h, ldh, X + l0, ldx, K, c);
    for (int v = 0; v < NV; ++v) {
      V8 s = V8{};
      for (int r = 0; r < RB; ++r)
        s = simd::fmadd(kSquare ? c[r][v] : simd::load<V8>(xr + r * ldx + l0 + 8 * v), c[r][v], s);
      double* o = out + l0 + 8 * v;
      simd::store(o, simd::load<V8d>(o) + __builtin_convertvector(s, V8d));
    }
  };
  int64_t l0 = 0;
  for (; l0 + 16 <= L; l0 += 16) chunk(std::integral_constant<int, 2>{}, l0);
  for (; l0 < L; l0 += 8) chunk(std::integral_constant<int, 1>{}, l0);
}

// Rows in blocks of 6 (12 accumulators: enough independent FMAs to hide their latency), then of 2.
template <bool kSquare>
void quad_left(const float* Hm, int64_t ldh, int64_t R, int64_t K, const float* X, int64_t ldx, int64_t L,
               double* out) {
  int64_t r0 = 0;
  // Dot mode: Hm is block-upper-triangular over these row blocks (see tri_factor), so the block starting at row r0
  // needs k >= r0 only.
  auto rows = [&](auto rb_tag) {
    constexpr int RB = decltype(rb_tag)::value;
    if (kSquare)
      quad_left_rows<kSquare, RB>(Hm + r0 * ldh, ldh, K, X, ldx, L, X, out);
    else if (r0 < K)
      quad_left_rows<kSquare, RB>(Hm + r0 * ldh + r0, ldh, K - r0, X + r0 * ldx, ldx, L, X + r0 * ldx, out);
  };
  for (; r0 + 6 <= R; r0 += 6) rows(std::integral_constant<int, 6>{});
  for (; r0 < R; r0 += 2) rows(std::integral_constant<int, 2>{});
}

}  // namespace avx

#endif  // UNITRACK_SIMD_AVX2

// The quadratic-form kernels used below: AVX2/FMA for float where the build targets it, the generic code otherwise.
template <typename T, bool kSquare>
void quad_right(const T* X, int64_t ldx, int64_t R, int64_t K, const T* S, int64_t lds, int64_t L, double* out) {
#if UNITRACK_SIMD_AVX2
  if constexpr (std::is_same_v<T, float>) return avx::quad_right<kSquare>(X, ldx, R, K, S, lds, L, out);
#endif
  quad_right_generic<T, kSquare>(X, ldx, R, K, S, lds, L, out);
}

template <typename T, bool kSquare>
void quad_left(const T* Hm, int64_t ldh, int64_t R, int64_t K, const T* X, int64_t ldx, int64_t L, double* out) {
#if UNITRACK_SIMD_AVX2
  if constexpr (std::is_same_v<T, float>) return avx::quad_left<kSquare>(Hm, ldh, R, K, X, ldx, L, out);
#endif
  quad_left_generic<T, kSquare>(Hm, ldh, R, K, X, ldx, L, out);
}

// Gram blocks of every object with at most C points: block o is G = X_o X_o^T ([P, P]), stored zero-padded as
// [round_up(P, 4) rows, ld_o = round_up(P, kColPad) columns] at off[o] in `g` (input precision), in
// block-upper-triangular form: with the indices cut into blocks b(.), entry [x, y] holds G[x, y] when b(x) = b(y),
// 2 G[x, y] when b(x) < b(y) and 0 when b(x) > b(y). Since G is symmetric, v^T G~ v = v^T G v for every v, and the
// register-tiled kernels skip the zero blocks (about 40 % of the multiply-adds for 40-point objects). The blocks are
// the kernels' tiles: 8-column chunks for detections (quad_right: Gram on the right), the 6-then-2 row blocks of
// quad_left for tracks (Gram on the left); the generic kernels multiply the zeros and get the same forms.
// Objects whose Gram has a negative entry (signed features) also get a double-precision copy in `g64` (float input
// only): there v^T G v = ||X^T v||^2 may cancel, and float would lose digits the reference keeps.
enum class GramBlocks { kColumns8, kRowTiles };

inline int64_t gram_block(int64_t x, int64_t rows, GramBlocks kind) {
  if (kind == GramBlocks::kColumns8) return x / 8;
  const int64_t r6 = rows / 6 * 6;  // quad_left: blocks of 6 rows while they fit, then of 2
  return x < r6 ? x / 6 : r6 / 6 + (x - r6) / 2;
}

template <typename scalar_t>
struct Grams {
  std::vector<int64_t> off, ld;
  std::vector<scalar_t> g;
  std::vector<double> g64;
  std::vector<char> neg;
};

// out[r][k] = <x_r, y_k> over C for four rows x and two rows y (register-blocked: 6 loads per 8 multiply-adds).
template <typename T>
inline void dots4x2(const T* const xr[4], const T* const yr[2], int64_t C, T (&out)[4][2]) {
  int64_t c0 = 0;
  for (int r = 0; r < 4; ++r) out[r][0] = out[r][1] = T(0);
#if UNITRACK_SIMD_AVX2
  if constexpr (std::is_same_v<T, float>) {
    using V8 = simd::VecN<float, 32>::type;
    V8 a[4][2];
    for (int r = 0; r < 4; ++r) a[r][0] = a[r][1] = V8{};
    for (; c0 + 8 <= C; c0 += 8) {
      const V8 y0 = simd::load<V8>(yr[0] + c0), y1 = simd::load<V8>(yr[1] + c0);
      for (int r = 0; r < 4; ++r) {
        const V8 x = simd::load<V8>(xr[r] + c0);
        a[r][0] = simd::fmadd(x, y0, a[r][0]);
        a[r][1] = simd::fmadd(x, y1, a[r][1]);
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int k = 0; k < 2; ++k) {
        float l[8];
        simd::store(l, a[r][k]);
        out[r][k] = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
      }
  }
#endif
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < 2; ++k) {
      T part[8] = {};
      int64_t c = c0;
      for (; c + 8 <= C; c += 8)
        for (int l = 0; l < 8; ++l) part[l] = madd(xr[r][c + l], yr[k][c + l], part[l]);
      for (; c < C; ++c) part[0] = madd(xr[r][c], yr[k][c], part[0]);
      out[r][k] += ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
    }
}

// The Gram block of one object (rows X [P, C]) straight into its block-upper-triangular storage (see above): only
// the tiles that reach a block on or above the diagonal are computed. Returns whether an entry is negative.
template <typename scalar_t>
bool gram_tri(const scalar_t* X, int64_t P, int64_t C, int64_t ld, GramBlocks kind, scalar_t* dst) {
  const int64_t rows = round_up(P, 4);
  std::vector<int64_t> blk(P);
  for (int64_t x = 0; x < P; ++x) blk[x] = gram_block(x, rows, kind);
  bool neg = false;
  for (int64_t x0 = 0; x0 < P; x0 += 4) {
    const scalar_t* xr[4];
    for (int r = 0; r < 4; ++r) xr[r] = X + std::min(x0 + r, P - 1) * C;  // rows past P repeat the last (not stored)
    int64_t y0 = 0;
    while (blk[y0] < blk[x0]) ++y0;  // blocks left of x0's block are zero (blk is non-decreasing)
    y0 -= y0 % 2;
    for (; y0 < P; y0 += 2) {
      const scalar_t* yr[2] = {X + y0 * C, X + std::min(y0 + 1, P - 1) * C};
      scalar_t g[4][2];
      dots4x2<scalar_t>(xr, yr, C, g);
      for (int r = 0; r < 4 && x0 + r < P; ++r)
        for (int k = 0; k < 2 && y0 + k < P; ++k) {
          const int64_t x = x0 + r, y = y0 + k;
          neg = neg || g[r][k] < 0;
          dst[x * ld + y] = blk[x] == blk[y] ? g[r][k] : blk[x] < blk[y] ? scalar_t(2) * g[r][k] : scalar_t(0);
        }
    }
  }
  return neg;
}

template <typename scalar_t, typename Runner>
Grams<scalar_t> make_grams(const scalar_t* xp, int64_t C, const std::vector<int64_t>& xoff, GramBlocks kind,
                           const Runner& for_range) {
  const int64_t n = static_cast<int64_t>(xoff.size()) - 1;
  Grams<scalar_t> gr;
  gr.off.assign(n + 1, 0);
  gr.ld.assign(n, 0);
  gr.neg.assign(n, 0);
  for (int64_t o = 0; o < n; ++o) {
    const int64_t P = xoff[o + 1] - xoff[o];
    const bool use = P > 0 && P <= C;  // P > C: the reconstruction route, no Gram block
    gr.ld[o] = use ? round_up(P, kColPad) : 0;
    gr.off[o + 1] = gr.off[o] + (use ? round_up(P, 4) * gr.ld[o] : 0);
  }
  gr.g.assign(gr.off.back(), scalar_t(0));
  for_range(0, n, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      if (gr.ld[o] == 0) continue;
      const bool neg = gram_tri(xp + xoff[o] * C, xoff[o + 1] - xoff[o], C, gr.ld[o], kind, gr.g.data() + gr.off[o]);
      gr.neg[o] = std::is_same_v<scalar_t, float> && neg;
    }
  });
  if (std::find(gr.neg.begin(), gr.neg.end(), 1) != gr.neg.end()) {
    gr.g64.assign(gr.off.back(), 0.0);
    for (int64_t o = 0; o < n; ++o) {
      if (!gr.neg[o]) continue;
      const int64_t P = xoff[o + 1] - xoff[o];
      const std::vector<double> x64(xp + xoff[o] * C, xp + (xoff[o] + P) * C);
      gram_tri(x64.data(), P, C, gr.ld[o], kind, gr.g64.data() + gr.off[o]);
    }
  }
  return gr;
}

// ---- rsm_kernel in named stages (see the schedule at the top of this file) ----------------------------------------

// Runs f(begin, end) over [begin, end): split over torch's threads when `parallel`, else on the calling thread.
// Problems below ~1e5 affinity entries run on the calling thread: there a parallel region's start and barrier cost
// more than the work they split (and much more on a busy machine, where spinning workers compete with the thread they
// wait for).
struct ForRange {
  bool parallel;
  void operator()(int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& f) const {
    if (parallel)
      torch::stable::parallel_for(begin, end, 1, f);
    else if (begin < end)
      f(begin, end);
  }
};

// The problem as the entry point hands it over: unit points, their affinity (validated offsets).
template <typename scalar_t>
struct RsmProblem {
  const scalar_t* A;  // [SP, SQ] affinity T^ D^T
  const scalar_t* T;  // [SP, C] unit track points, objects packed along the rows (toff)
  const scalar_t* D;  // [SQ, C] unit detection points (doff)
  int64_t C, N, M, SP, SQ;
  std::vector<int64_t> toff, doff;  // [N + 1], [M + 1]
  scalar_t inv_tau;                 // 1 / temperature in the input precision
};

// Per pair (i, j) [N * M], in double: <r_td, t^_i>, <r_dt, d^_j>, ||r_td||^2, ||r_dt||^2.
struct RsmPairSums {
  std::vector<double> dot_td, dot_dt, nr_td, nr_dt;
  explicit RsmPairSums(int64_t nm) : dot_td(nm, 0.0), dot_dt(nm, 0.0), nr_td(nm, 0.0), nr_dt(nm, 0.0) {}
};

// The detection -> track direction before its column normalisation: per track i and detection point q [N * SQ],
// sum_p e'[p, q] (csum), sum_p e'[p, q] a[p, q] (scol) and e'_q^T H_i e'_q (nq); the column sums Y_q of e' [SQ],
// summed over the tracks in their order once the pass is complete (a fixed order: no per-thread partial sums).
struct RsmColumnTerms {
  std::vector<double> col_sum, csum, scol, nq;
};

// The reconstruction route of objects with more points than channels: detection j's points zero-padded to
// [Q_j, Cp] (drec), track i's points transposed to [C4, P_i] (trec); offsets are 0-length for the other objects.
template <typename scalar_t>
struct RsmRecon {
  int64_t Cp = 0, C4 = 0;
  std::vector<int64_t> drec_off, trec_off;
  std::vector<scalar_t> drec, trec;
};

// ||vec(x^_o)||^2 of every object (sums of squared point norms, in double).
template <typename scalar_t>
std::vector<double> squared_object_norms(const scalar_t* X, int64_t C, const std::vector<int64_t>& off) {
  const int64_t n = static_cast<int64_t>(off.size()) - 1;
  std::vector<double> r(n);
  for (int64_t o = 0; o < n; ++o) r[o] = dot_d(X + off[o] * C, X + off[o] * C, (off[o + 1] - off[o]) * C);
  return r;
}

// Pass 1: the column maxima of A (the row maxima are taken in pass 2, while the row is hot).
template <typename scalar_t>
std::vector<scalar_t> column_maxima(const RsmProblem<scalar_t>& pb, const ForRange& for_range) {
  const int64_t SQ = pb.SQ;
  std::vector<scalar_t> col_max(SQ, -std::numeric_limits<scalar_t>::infinity());
  std::mutex merge_mutex;
  for_range(0, pb.SP, [&](int64_t b, int64_t e) {
    std::vector<scalar_t> cm(pb.A + b * SQ, pb.A + (b + 1) * SQ);
    for (int64_t p = b + 1; p < e; ++p) {
      const scalar_t* a = pb.A + p * SQ;
      for (int64_t q = 0; q < SQ; ++q) cm[q] = a[q] > cm[q] ? a[q] : cm[q];
    }
    std::lock_guard<std::mutex> lock(merge_mutex);  // a maximum does not depend on the merge order ...
    for (int64_t q = 0; q < SQ; ++q) col_max[q] = std::max(col_max[q], cm[q]);
  });
  for (int64_t q = 0; q < SQ; ++q) col_max[q] += scalar_t(0);  // ... once -0 and +0 are one value (-0 + 0 = +0)
  return col_max;
}

template <typename scalar_t>
RsmRecon<scalar_t> reconstruction_points(const RsmProblem<scalar_t>& pb) {
  const int64_t C = pb.C, N = pb.N, M = pb.M;
  const std::vector<int64_t>& toff = pb.toff;
  const std::vector<int64_t>& doff = pb.doff;
  RsmRecon<scalar_t> r;
  r.Cp = round_up(C, kColPad);
  r.C4 = round_up(C, 4);
  r.drec_off.assign(M + 1, 0);
  r.trec_off.assign(N + 1, 0);
  for (int64_t j = 0; j < M; ++j)
    r.drec_off[j + 1] = r.drec_off[j] + (doff[j + 1] - doff[j] > C ? (doff[j + 1] - doff[j]) * r.Cp : 0);
  for (int64_t i = 0; i < N; ++i)
    r.trec_off[i + 1] = r.trec_off[i] + (toff[i + 1] - toff[i] > C ? r.C4 * (toff[i + 1] - toff[i]) : 0);
  r.drec.assign(r.drec_off.back(), scalar_t(0));
  r.trec.assign(r.trec_off.back(), scalar_t(0));
  for (int64_t j = 0; j < M; ++j) {
    if (r.drec_off[j + 1] == r.drec_off[j]) continue;
    for (int64_t q = doff[j]; q < doff[j + 1]; ++q)
      std::copy(pb.D + q * C, pb.D + (q + 1) * C, r.drec.data() + r.drec_off[j] + (q - doff[j]) * r.Cp);
  }
  for (int64_t i = 0; i < N; ++i) {
    const int64_t P = toff[i + 1] - toff[i];
    if (r.trec_off[i + 1] == r.trec_off[i]) continue;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t c = 0; c < C; ++c) r.trec[r.trec_off[i] + c * P + p] = pb.T[(toff[i] + p) * C + c];
  }
  return r;
}

// The scratch of one thread of the track pass: both softmax numerators of one track ([maxP4, ld] each), 1 / Z_p, the
// per-row quadratic forms and a float64 copy for the signed-Gram route.
template <typename scalar_t>
struct TrackScratch {
  int64_t ld;
  std::vector<scalar_t> Xtd, Xdt;
  std::vector<double> inv_z, rowq, x64;
  TrackScratch(int64_t maxP4, int64_t ld_)
      : ld(ld_), Xtd(maxP4 * ld_, scalar_t(0)), Xdt(maxP4 * ld_, scalar_t(0)), inv_z(maxP4), rowq(maxP4) {}
};

// Track i's rows of A: the row softmax numerators e = exp((A - rowmax) / tau) into Xtd and the column softmax
// numerators e' = exp((A - colmax) / tau) into Xdt, with 1 / Z_p (row sums), per detection point the track's column
// sums (cs) and sum_p e' a (sc), and <r_td[i, j], t^_i> (dot_td_i [M]).
template <typename scalar_t>
void track_softmax_numerators(const RsmProblem<scalar_t>& pb, int64_t i, const std::vector<scalar_t>& col_max,
                              TrackScratch<scalar_t>& s, double* cs, double* sc, double* dot_td_i) {
  const int64_t SQ = pb.SQ, M = pb.M, p0 = pb.toff[i], P = pb.toff[i + 1] - p0;
  const std::vector<int64_t>& doff = pb.doff;
  for (int64_t p = 0; p < P; ++p) {
    const scalar_t* a = pb.A + (p0 + p) * SQ;
    scalar_t* et = s.Xtd.data() + p * s.ld;
    scalar_t* ed = s.Xdt.data() + p * s.ld;
    const scalar_t mx = max_v(a, SQ);
    for (int64_t q = 0; q < SQ; ++q) {
      et[q] = exp_nonpos((a[q] - mx) * pb.inv_tau);
      ed[q] = exp_nonpos((a[q] - col_max[q]) * pb.inv_tau);
    }
    for (int64_t q = 0; q < SQ; ++q) {
      cs[q] += static_cast<double>(ed[q]);
      sc[q] += static_cast<double>(ed[q]) * static_cast<double>(a[q]);
    }
    s.inv_z[p] = 1.0 / sum_d(et, SQ);
    for (int64_t j = 0; j < M; ++j) dot_td_i[j] += s.inv_z[p] * dot_d(et + doff[j], a + doff[j], doff[j + 1] - doff[j]);
  }
}

// track -> detection: ||r_td[i, j]||^2 = sum_p w_p^T G_j w_p (or ||D^_j^T w_p||^2 where Q_j > C), into nr_td_i [M].
template <typename scalar_t>
void track_to_detection_forms(const RsmProblem<scalar_t>& pb, int64_t i, const Grams<scalar_t>& G,
                              const RsmRecon<scalar_t>& rec, TrackScratch<scalar_t>& s, double* nr_td_i) {
  constexpr bool kDouble = std::is_same_v<scalar_t, double>;
  const int64_t C = pb.C, P = pb.toff[i + 1] - pb.toff[i], P4 = round_up(P, 4), ld = s.ld;
  for (int64_t j = 0; j < pb.M; ++j) {
    const int64_t q0 = pb.doff[j], Q = pb.doff[j + 1] - q0;
    if (Q == 0) continue;
    if (Q > C) {
      quad_right<scalar_t, true>(s.Xtd.data() + q0, ld, P4, Q, rec.drec.data() + rec.drec_off[j], rec.Cp, rec.Cp,
                                 s.rowq.data());
    } else if (!kDouble && G.neg[j]) {
      const int64_t L = G.ld[j];
      s.x64.assign(P4 * L, 0.0);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) s.x64[p * L + q] = static_cast<double>(s.Xtd[p * ld + q0 + q]);
      quad_right<double, false>(s.x64.data(), L, P4, Q, G.g64.data() + G.off[j], L, L, s.rowq.data());
    } else {
      quad_right<scalar_t, false>(s.Xtd.data() + q0, ld, P4, Q, G.g.data() + G.off[j], G.ld[j], G.ld[j], s.rowq.data());
    }
    double sum = 0;
    for (int64_t p = 0; p < P; ++p) sum += s.rowq[p] * s.inv_z[p] * s.inv_z[p];
    nr_td_i[j] = sum;
  }
}

// detection -> track: per detection point q, e'_q^T H_i e'_q (or ||T^_i^T e'_q||^2 where P_i > C), into nq_i [SQ].
template <typename scalar_t>
void detection_to_track_forms(const RsmProblem<scalar_t>& pb, int64_t i, const Grams<scalar_t>& H,
                              const RsmRecon<scalar_t>& rec, TrackScratch<scalar_t>& s, double* nq_i) {
  constexpr bool kDouble = std::is_same_v<scalar_t, double>;
  const int64_t C = pb.C, SQ = pb.SQ, P = pb.toff[i + 1] - pb.toff[i], P4 = round_up(P, 4), ld = s.ld;
  const int64_t L = round_up(SQ, kColPad);
  std::vector<double> nq_pad;  // quad_left writes L >= SQ columns
  double* dst = nq_i;
  if (L != SQ) {
    nq_pad.assign(L, 0.0);
    dst = nq_pad.data();
  }
  if (P > C) {
    quad_left<scalar_t, true>(rec.trec.data() + rec.trec_off[i], P, rec.C4, P, s.Xdt.data(), ld, L, dst);
  } else if (!kDouble && H.neg[i]) {
    s.x64.assign(P4 * L, 0.0);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < SQ; ++q) s.x64[p * L + q] = static_cast<double>(s.Xdt[p * ld + q]);
    quad_left<double, false>(H.g64.data() + H.off[i], H.ld[i], P4, P, s.x64.data(), L, L, dst);
  } else {
    quad_left<scalar_t, false>(H.g.data() + H.off[i], H.ld[i], P4, P, s.Xdt.data(), ld, L, dst);
  }
  if (dst != nq_i) std::copy(dst, dst + SQ, nq_i);
}

// Pass 2, one task per track i over its rows of A: the softmax numerators, then the quadratic forms of both
// directions on the track's block. The normalisations enter as factors: w_p = e_p / Z_p (so ||r_td||^2 gets 1/Z_p^2
// per row) here, v_q = e'_q / Y_q (1/Y_q^2 per column) in column_normalisation once the column sums are complete.
template <typename scalar_t>
RsmColumnTerms track_pass(const RsmProblem<scalar_t>& pb, const std::vector<scalar_t>& col_max,
                          const Grams<scalar_t>& G, const Grams<scalar_t>& H, const RsmRecon<scalar_t>& rec,
                          const ForRange& for_range, RsmPairSums& sums) {
  const int64_t N = pb.N, M = pb.M, SQ = pb.SQ;
  const int64_t ld = round_up(SQ, kColPad) + kColPad;  // + one vector: quad_right's padded reads past the last block
  RsmColumnTerms cols;
  cols.col_sum.assign(SQ, 0.0);
  cols.csum.assign(N * SQ, 0.0);
  cols.scol.assign(N * SQ, 0.0);
  cols.nq.assign(N * SQ, 0.0);
  int64_t maxP4 = 0;
  for (int64_t i = 0; i < N; ++i) maxP4 = std::max(maxP4, round_up(pb.toff[i + 1] - pb.toff[i], 4));
  for_range(0, N, [&](int64_t b, int64_t e) {
    TrackScratch<scalar_t> s(maxP4, ld);
    for (int64_t i = b; i < e; ++i) {
      if (pb.toff[i + 1] == pb.toff[i]) continue;
      track_softmax_numerators(pb, i, col_max, s, cols.csum.data() + i * SQ, cols.scol.data() + i * SQ,
                               sums.dot_td.data() + i * M);
      track_to_detection_forms(pb, i, G, rec, s, sums.nr_td.data() + i * M);
      detection_to_track_forms(pb, i, H, rec, s, cols.nq.data() + i * SQ);
    }
  });
  for (int64_t i = 0; i < N; ++i)  // tracks in order: the same sums at any thread count
    for (int64_t q = 0; q < SQ; ++q) cols.col_sum[q] += cols.csum[i * SQ + q];
  return cols;
}

// Column normalisation of the detection -> track direction: <r_dt, d^_j> and ||r_dt||^2 per pair.
inline void column_normalisation(const std::vector<int64_t>& doff, int64_t N, int64_t M, int64_t SQ,
                                 const RsmColumnTerms& cols, RsmPairSums& sums) {
  std::vector<double> inv_y(SQ);
  for (int64_t q = 0; q < SQ; ++q) inv_y[q] = 1.0 / cols.col_sum[q];  // >= 1 term equal to 1: the column maximum
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < M; ++j) {
      double d = 0, n = 0;
      for (int64_t q = doff[j]; q < doff[j + 1]; ++q) {
        d += cols.scol[i * SQ + q] * inv_y[q];
        n += cols.nq[i * SQ + q] * inv_y[q] * inv_y[q];
      }
      sums.dot_dt[i * M + j] = d;
      sums.nr_dt[i * M + j] = n;
    }
}

// Cosines with the reference's eps clamps, then the symmetrised similarity O [N, M].
template <typename scalar_t>
void symmetric_cosines(int64_t N, int64_t M, const std::vector<double>& tn2, const std::vector<double>& dn2,
                       const RsmPairSums& sums, scalar_t* O) {
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < M; ++j) {
      const int64_t ij = i * M + j;
      const double s_td = sums.dot_td[ij] / (std::max(std::sqrt(std::max(sums.nr_td[ij], 0.0)), 1e-12) *
                                             std::max(std::sqrt(tn2[i]), 1e-12));
      const double s_dt = sums.dot_dt[ij] / (std::max(std::sqrt(std::max(sums.nr_dt[ij], 0.0)), 1e-12) *
                                             std::max(std::sqrt(dn2[j]), 1e-12));
      O[ij] = static_cast<scalar_t>(0.5 * (s_td + s_dt));
    }
  }
}

template <typename scalar_t>
void rsm_kernel(const scalar_t* A, const scalar_t* T, const scalar_t* D, int64_t C, const int64_t* toff_p, int64_t N,
                const int64_t* doff_p, int64_t M, double temperature, scalar_t* O) {
  RsmProblem<scalar_t> pb{A,
                          T,
                          D,
                          C,
                          N,
                          M,
                          0,
                          0,
                          std::vector<int64_t>(toff_p, toff_p + N + 1),
                          std::vector<int64_t>(doff_p, doff_p + M + 1),
                          static_cast<scalar_t>(1.0 / temperature)};
  pb.SP = pb.toff.back();
  pb.SQ = pb.doff.back();
  const ForRange for_range{pb.SP * pb.SQ >= (int64_t{1} << 17)};
  const std::vector<double> tn2 = squared_object_norms(T, C, pb.toff), dn2 = squared_object_norms(D, C, pb.doff);
  if (pb.SP == 0 || pb.SQ == 0) return;  // every object is empty on one side: all similarities are 0
  // A = T^ D^T, the one GEMM of the affinity, was computed by the entry point.
  const std::vector<scalar_t> col_max = column_maxima(pb, for_range);
  // Gram blocks G_j = D^_j D^_j^T, H_i = T^_i T^_i^T (objects with at most C points) and the padded points of the
  // others (the reconstruction route).
  const Grams<scalar_t> G = make_grams<scalar_t>(D, C, pb.doff, GramBlocks::kColumns8, for_range);
  const Grams<scalar_t> H = make_grams<scalar_t>(T, C, pb.toff, GramBlocks::kRowTiles, for_range);
  const RsmRecon<scalar_t> rec = reconstruction_points(pb);
  RsmPairSums sums(N * M);
  const RsmColumnTerms cols = track_pass(pb, col_max, G, H, rec, for_range, sums);
  column_normalisation(pb.doff, N, M, pb.SQ, cols, sums);
  symmetric_cosines(N, M, tn2, dn2, sums, O);
}

// Row-wise L2 normalisation v / max(||v||, 1e-12) of points [n, C] into a new contiguous tensor, rejecting NaN/inf:
// a non-finite entry makes its row's sum of squares non-finite, and only such rows are examined element by element
// (a finite float64 row whose squares overflow is accepted, as the reference accepts it).
template <typename scalar_t>
int64_t normalize_rows(const scalar_t* xp, int64_t n, int64_t C, scalar_t* yp) {
  std::atomic<int64_t> bad_row{-1};
  torch::stable::parallel_for(0, n, std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const scalar_t* v = xp + r * C;
      const double ss = dot_d(v, v, C);
      if (!std::isfinite(ss)) {
        bool finite = true;
        for (int64_t c = 0; c < C; ++c) finite = finite && std::isfinite(static_cast<double>(v[c]));
        if (!finite) {
          // Keep the lowest bad row (the same answer at any thread count).
          int64_t cur = bad_row.load();
          while ((cur < 0 || r < cur) && !bad_row.compare_exchange_weak(cur, r)) {
          }
          return;
        }
      }
      const scalar_t nrm = std::max(static_cast<scalar_t>(std::sqrt(ss)), static_cast<scalar_t>(1e-12));
      for (int64_t c = 0; c < C; ++c) yp[r * C + c] = v[c] / nrm;
    }
  });
  return bad_row.load();
}

}  // namespace rsm

extern const RsmKernels kRsmKernels;
const RsmKernels kRsmKernels = {
    {&rsm::normalize_rows<float>, &rsm::rsm_kernel<float>, &gemm::gemm_nt<float>},
    {&rsm::normalize_rows<double>, &rsm::rsm_kernel<double>, &gemm::gemm_nt<double>},
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
