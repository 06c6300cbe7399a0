// CPU kernels of unitrack::topk_affinity and unitrack::topk_propagate: label propagation with a fused top-K affinity
// (SPEC appendix a). Semantics, for every query point n of every batch item:
//   candidates m = t*H*W + y*W + x over the T memory frames; frames t < n_global (or every frame when radius <= 0) are
//   searched whole, the others only where the grid distance sqrt(dy^2 + dx^2) < radius ("admissible");
//   logit = <keys[t,:,m], query[:,n]> / temperature; keep the top-K logits (K = min(topk, T*H*W); ties: larger logit,
//   then lower candidate index), softmax over them, and output sum_i w_i * labels[m_i].
// A query with fewer than K admissible candidates fills the remaining slots exactly as the dense reference does: its
// additive -1e10 mask makes every inadmissible logit (-1e10 + a) / temperature, which in float32 rounds to the single
// value fl(-1e10) / temperature (|a| < 512), so the fill-in slots take the lowest-index inadmissible candidates, after
// the admissible ones, with that logit (softmax weight exactly 0 for any sane temperature). We use the same rule for
// float64, where the reference keeps a trace of the affinity in those (zero-weight) slots, so only the *indices* of
// zero-weight slots can differ from the reference there.
//
// Algorithm (never materialises the HW x T*HW affinity nor an HW x HW mask):
//   * the queries are cut into tiles (TY rows x TX columns), at::parallel_for over (batch, tile);
//   * the tile's queries are packed channel-major in groups of MR consecutive columns; key blocks of NR candidates are
//     packed channel-major too ([C][NR]), so each tile x key block is a small GEMM done by an MR x NR register-blocked
//     micro-kernel (AVX2+FMA intrinsics for float32, auto-vectorised loop otherwise);
//   * global frames: all H*W keys in flat blocks of NR; radius frames: only the key rows within radius of the tile,
//     only the columns the tile's windows reach, and each query group skips the blocks outside its windows;
//   * each query keeps a running sorted top-K of (affinity, index); candidates arrive in increasing index order, so a
//     strict '>' against the K-th value implements the lower-index tie-break.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define UNITRACK_TOPK_AVX2 1
#endif

#include "common/checks.h"

namespace unitrack {
namespace {

constexpr int64_t kMR = 6;    // queries per micro-kernel
constexpr int64_t kTY = 2;    // query rows per tile
constexpr int64_t kTX = 48;   // query columns per tile (a multiple of kMR)
constexpr double kMaskValue = -1e10;

template <typename T>
struct Block;
template <>
struct Block<float> {
  static constexpr int64_t NR = 16;
};
template <>
struct Block<double> {
  static constexpr int64_t NR = 8;
};

// out[i*NR + j] = sum_c A[c*MR + i] * B[c*ldb + j]
template <typename T, int64_t NR>
inline void micro_kernel_generic(const T* __restrict__ A, const T* __restrict__ B, int64_t ldb, int64_t C,
                                 T* __restrict__ out) {
  T acc[kMR][NR];
  for (int64_t i = 0; i < kMR; ++i)
    for (int64_t j = 0; j < NR; ++j) acc[i][j] = T(0);
  for (int64_t c = 0; c < C; ++c) {
    const T* a = A + c * kMR;
    const T* b = B + c * ldb;
#pragma GCC unroll 8
    for (int64_t i = 0; i < kMR; ++i) {
      const T ai = a[i];
#pragma GCC unroll 16
      for (int64_t j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
  }
  for (int64_t i = 0; i < kMR; ++i)
    for (int64_t j = 0; j < NR; ++j) out[i * NR + j] = acc[i][j];
}

template <typename T>
inline void micro_kernel(const T* A, const T* B, int64_t ldb, int64_t C, T* out) {
  micro_kernel_generic<T, Block<T>::NR>(A, B, ldb, C, out);
}

#ifdef UNITRACK_TOPK_AVX2
template <>
inline void micro_kernel<float>(const float* A, const float* B, int64_t ldb, int64_t C, float* out) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t c = 0; c < C; ++c) {
    const __m256 b0 = _mm256_loadu_ps(B + c * ldb);
    const __m256 b1 = _mm256_loadu_ps(B + c * ldb + 8);
    const float* a = A + c * kMR;
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
  }
  _mm256_storeu_ps(out + 0, c00);
  _mm256_storeu_ps(out + 8, c01);
  _mm256_storeu_ps(out + 16, c10);
  _mm256_storeu_ps(out + 24, c11);
  _mm256_storeu_ps(out + 32, c20);
  _mm256_storeu_ps(out + 40, c21);
  _mm256_storeu_ps(out + 48, c30);
  _mm256_storeu_ps(out + 56, c31);
  _mm256_storeu_ps(out + 64, c40);
  _mm256_storeu_ps(out + 72, c41);
  _mm256_storeu_ps(out + 80, c50);
  _mm256_storeu_ps(out + 88, c51);
}
#endif

// Bit j set where row[j] > thr, j < NR (NaN-free inputs).
template <typename T>
inline uint64_t above_mask(const T* row, T thr) {
  uint64_t m = 0;
  for (int64_t j = 0; j < Block<T>::NR; ++j) m |= uint64_t(row[j] > thr) << j;
  return m;
}

#ifdef UNITRACK_TOPK_AVX2
template <>
inline uint64_t above_mask<float>(const float* row, float thr) {
  const __m256 t = _mm256_set1_ps(thr);
  const int m0 = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row), t, _CMP_GT_OQ));
  const int m1 = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + 8), t, _CMP_GT_OQ));
  return static_cast<uint64_t>(static_cast<uint32_t>(m0 | (m1 << 8)));
}
#endif

// Insert (v, index) into the descending list vals/idx of length cnt (capacity K). Candidates arrive in increasing
// index order, so an equal value goes after the existing ones and does not displace the K-th entry.
template <typename T>
inline void topk_insert(T* vals, int64_t* idx, int64_t& cnt, int64_t K, T v, int64_t index) {
  int64_t pos;
  if (cnt < K) {
    pos = cnt++;
  } else {
    if (!(v > vals[K - 1])) return;
    pos = K - 1;
  }
  while (pos > 0 && vals[pos - 1] < v) {
    vals[pos] = vals[pos - 1];
    idx[pos] = idx[pos - 1];
    --pos;
  }
  vals[pos] = v;
  idx[pos] = index;
}

// Bit mask of the lanes [lo, hi] (inclusive, 0 <= lo, hi < 64); 0 when lo > hi.
inline uint64_t lane_range(int64_t lo, int64_t hi) {
  if (lo > hi) return 0;
  const uint64_t upto = (hi >= 63) ? ~uint64_t(0) : ((uint64_t(1) << (hi + 1)) - 1);
  return upto & ~((uint64_t(1) << lo) - 1);
}

struct Geometry {
  int64_t T, C, H, W, HW, K, n_global;
  bool restricted;          // radius > 0: frames t >= n_global are windowed
  int64_t maxdy;            // largest |dy| with an admissible dx (-1: none)
  std::vector<int64_t> hw;  // hw[d] = largest |dx| admissible at |dy| = d, or -1
  bool is_global(int64_t t) const { return !restricted || t < n_global; }
};

Geometry make_geometry(int64_t T, int64_t C, int64_t H, int64_t W, int64_t topk, double radius, int64_t n_global) {
  Geometry g;
  g.T = T;
  g.C = C;
  g.H = H;
  g.W = W;
  g.HW = H * W;
  g.K = std::min<int64_t>(topk, T * H * W);
  g.n_global = n_global;
  g.restricted = radius > 0;
  g.maxdy = -1;
  g.hw.assign(std::max<int64_t>(H, 1), -1);
  if (g.restricted) {
    for (int64_t d = 0; d < H; ++d) {
      int64_t best = -1;
      // Exactly the reference's test: sqrt(dy^2 + dx^2) < radius in float64.
      for (int64_t dx = 0; dx < W; ++dx) {
        if (std::sqrt(static_cast<double>(d * d + dx * dx)) < radius)
          best = dx;
        else
          break;
      }
      g.hw[d] = best;
      if (best >= 0) g.maxdy = d;
    }
  }
  return g;
}

// Top-K weights and indices for every query of one batch item; out_w/out_i are [K, HW].
template <typename T>
void topk_affinity_impl(const T* query, const T* keys, const Geometry& g, double temperature, T* out_w,
                        int64_t* out_i, int64_t B) {
  constexpr int64_t NR = Block<T>::NR;
  const int64_t C = g.C, H = g.H, W = g.W, HW = g.HW, K = g.K, T_ = g.T;
  if (HW == 0 || K == 0 || B == 0) return;
  const int64_t tiles_y = (H + kTY - 1) / kTY, tiles_x = (W + kTX - 1) / kTX;
  const int64_t n_tiles = tiles_y * tiles_x;
  const T temp = static_cast<T>(temperature);
  const T fill_logit = static_cast<T>(kMaskValue) / temp;

  at::parallel_for(0, B * n_tiles, 1, [&](int64_t begin, int64_t end) {
    const int64_t max_groups = kTY * ((kTX + kMR - 1) / kMR);
    const int64_t max_q = max_groups * kMR;
    std::vector<T, std::allocator<T>> a_buf(static_cast<size_t>(max_groups * C * kMR) + 16);
    // 32-byte aligned key block for the aligned AVX loads.
    std::vector<T> b_raw(static_cast<size_t>(C * NR) + 64 / sizeof(T));
    T* b_pack = reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(b_raw.data()) + 31) & ~uintptr_t(31));
    std::vector<T> vals(static_cast<size_t>(max_q * K));
    std::vector<int64_t> idxs(static_cast<size_t>(max_q * K));
    std::vector<int64_t> cnts(static_cast<size_t>(max_q));
    std::vector<int64_t> g_y(max_groups), g_x0(max_groups), g_n(max_groups);
    alignas(64) T acc[kMR * NR];
    // One key row's column span, channel-major with row stride ldr <= W + 2*NR (radius frames).
    std::vector<T> r_buf(static_cast<size_t>(C * (W + 2 * NR)));
    std::vector<T> logits(static_cast<size_t>(K));

    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / n_tiles, tile = task % n_tiles;
      const int64_t y0 = (tile / tiles_x) * kTY, x0 = (tile % tiles_x) * kTX;
      const int64_t y1 = std::min(y0 + kTY, H) - 1, x1 = std::min(x0 + kTX, W) - 1;
      const T* q = query + b * C * HW;
      const T* kb = keys + b * T_ * C * HW;
      T* ow = out_w + b * K * HW;
      int64_t* oi = out_i + b * K * HW;

      // Query groups: MR consecutive columns of one row; pack [group][C][MR] (zero padding).
      int64_t n_groups = 0;
      for (int64_t y = y0; y <= y1; ++y) {
        for (int64_t x = x0; x <= x1; x += kMR) {
          const int64_t n = std::min<int64_t>(kMR, x1 + 1 - x);
          g_y[n_groups] = y;
          g_x0[n_groups] = x;
          g_n[n_groups] = n;
          T* a = a_buf.data() + n_groups * C * kMR;
          const T* src = q + y * W + x;
          for (int64_t c = 0; c < C; ++c) {
            int64_t i = 0;
            for (; i < n; ++i) a[c * kMR + i] = src[c * HW + i];
            for (; i < kMR; ++i) a[c * kMR + i] = T(0);
          }
          ++n_groups;
        }
      }
      std::fill(cnts.begin(), cnts.begin() + n_groups * kMR, 0);

      // Score one packed key block (kx0.. of key row ky in frame t, or flat m0.. when ky < 0) against the groups.
      auto pack_block = [&](const T* frame, int64_t m0, int64_t nvalid) {
        for (int64_t c = 0; c < C; ++c) {
          const T* src = frame + c * HW + m0;
          T* dst = b_pack + c * NR;
          int64_t j = 0;
          for (; j < nvalid; ++j) dst[j] = src[j];
          for (; j < NR; ++j) dst[j] = T(0);
        }
      };
      auto merge = [&](int64_t grp, int64_t i, uint64_t lanes, int64_t base_index) {
        const int64_t qi = grp * kMR + i;
        T* v = vals.data() + qi * K;
        int64_t* id = idxs.data() + qi * K;
        int64_t& cnt = cnts[qi];
        const T* row = acc + i * NR;
        if (cnt == K) lanes &= above_mask<T>(row, v[K - 1]);  // usually no lane beats the K-th value
        while (lanes) {
          const int j = __builtin_ctzll(lanes);
          lanes &= lanes - 1;
          const T s = row[j];
          if (cnt < K || s > v[K - 1]) topk_insert(v, id, cnt, K, s, base_index + j);
        }
      };

      for (int64_t t = 0; t < T_; ++t) {
        const T* frame = kb + t * C * HW;
        if (g.is_global(t)) {
          for (int64_t m0 = 0; m0 < HW; m0 += NR) {
            const int64_t nvalid = std::min<int64_t>(NR, HW - m0);
            pack_block(frame, m0, nvalid);
            const uint64_t lanes_all = lane_range(0, nvalid - 1);
            for (int64_t grp = 0; grp < n_groups; ++grp) {
              micro_kernel<T>(a_buf.data() + grp * C * kMR, b_pack, NR, C, acc);
              for (int64_t i = 0; i < g_n[grp]; ++i) merge(grp, i, lanes_all, t * HW + m0);
            }
          }
        } else {
          if (g.maxdy < 0) continue;
          const int64_t ky_lo = std::max<int64_t>(0, y0 - g.maxdy), ky_hi = std::min<int64_t>(H - 1, y1 + g.maxdy);
          for (int64_t ky = ky_lo; ky <= ky_hi; ++ky) {
            const int64_t dmin = ky < y0 ? y0 - ky : (ky > y1 ? ky - y1 : 0);
            const int64_t hmax = g.hw[dmin];
            if (hmax < 0) continue;
            const int64_t kx_lo = std::max<int64_t>(0, x0 - hmax), kx_hi = std::min<int64_t>(W - 1, x1 + hmax);
            // Pack this key row's span [kx_lo, kx_hi] as [C][ldr] (zero tail), then every query group scores
            // exactly the columns its windows reach, in blocks of NR starting at its own window start.
            const int64_t span = kx_hi - kx_lo + 1;
            const int64_t ldr = ((span + NR - 1) / NR) * NR + NR;
            bool packed = false;
            for (int64_t grp = 0; grp < n_groups; ++grp) {
              const int64_t d = std::abs(ky - g_y[grp]);
              if (d > g.maxdy) continue;
              const int64_t h = g.hw[d];
              if (h < 0) continue;
              const int64_t ga = g_x0[grp], gb = g_x0[grp] + g_n[grp] - 1;
              const int64_t ws = std::max<int64_t>(kx_lo, ga - h), we = std::min<int64_t>(kx_hi, gb + h);
              if (ws > we) continue;
              if (!packed) {
                const T* src_row = frame + ky * W + kx_lo;
                for (int64_t c = 0; c < C; ++c) {
                  const T* src = src_row + c * HW;
                  T* dst = r_buf.data() + c * ldr;
                  int64_t j = 0;
                  for (; j < span; ++j) dst[j] = src[j];
                  for (; j < ldr; ++j) dst[j] = T(0);
                }
                packed = true;
              }
              for (int64_t p0 = ws; p0 <= we; p0 += NR) {
                const int64_t nvalid = std::min<int64_t>(NR, we + 1 - p0);
                micro_kernel<T>(a_buf.data() + grp * C * kMR, r_buf.data() + (p0 - kx_lo), ldr, C, acc);
                for (int64_t i = 0; i < g_n[grp]; ++i) {
                  const int64_t qx = ga + i;
                  const int64_t lo = std::max<int64_t>(0, qx - h - p0);
                  const int64_t hi = std::min<int64_t>(nvalid - 1, qx + h - p0);
                  const uint64_t lanes = lane_range(lo, hi);
                  if (lanes) merge(grp, i, lanes, t * HW + ky * W + p0);
                }
              }
            }
          }
        }
      }

      // Finalise: fill-in slots, logits, softmax, write [K, HW] columns.
      for (int64_t grp = 0; grp < n_groups; ++grp) {
        for (int64_t i = 0; i < g_n[grp]; ++i) {
          const int64_t qi = grp * kMR + i;
          const int64_t qy = g_y[grp], qx = g_x0[grp] + i, n = qy * W + qx;
          const T* v = vals.data() + qi * K;
          const int64_t* id = idxs.data() + qi * K;
          const int64_t cnt = cnts[qi];
          for (int64_t s = 0; s < cnt; ++s) {
            logits[s] = v[s] / temp;
            oi[s * HW + n] = id[s];
          }
          // Fewer than K admissible candidates: the lowest-index inadmissible ones, with the mask's logit.
          int64_t s = cnt;
          for (int64_t t = 0; t < T_ && s < K; ++t) {
            if (g.is_global(t)) continue;
            for (int64_t ky = 0; ky < H && s < K; ++ky) {
              const int64_t d = std::abs(ky - qy);
              const int64_t h = (d <= g.maxdy) ? g.hw[d] : -1;
              const int64_t a_lo = h < 0 ? W : std::max<int64_t>(0, qx - h);
              const int64_t a_hi = h < 0 ? W - 1 : std::min<int64_t>(W - 1, qx + h);
              for (int64_t kx = 0; kx < W && s < K; ++kx) {
                if (kx >= a_lo && kx <= a_hi) {
                  kx = a_hi;
                  continue;
                }
                logits[s] = fill_logit;
                oi[s * HW + n] = t * HW + ky * W + kx;
                ++s;
              }
            }
          }
          TORCH_INTERNAL_ASSERT(s == K, "topk_propagate: internal error, selected ", s, " of ", K, " candidates");
          const T mx = logits[0];
          T sum = T(0);
          for (int64_t k = 0; k < K; ++k) {
            const T e = std::exp(logits[k] - mx);
            logits[k] = e;
            sum += e;
          }
          for (int64_t k = 0; k < K; ++k) ow[k * HW + n] = logits[k] / sum;
        }
      }
    }
  });
}

// out[b, l, n] = sum_k w[b, k, n] * labels[b, idx / HW, l, idx % HW]
template <typename T>
void propagate_impl(const T* w, const int64_t* idx, const T* labels, T* out, int64_t B, int64_t T_, int64_t L,
                    int64_t HW, int64_t K) {
  if (B * HW == 0 || L == 0) return;
  at::parallel_for(0, B * HW, 256, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = p / HW, n = p % HW;
      const T* wb = w + b * K * HW;
      const int64_t* ib = idx + b * K * HW;
      const T* lb = labels + b * T_ * L * HW;
      T* ob = out + b * L * HW;
      for (int64_t l = 0; l < L; ++l) ob[l * HW + n] = T(0);
      for (int64_t k = 0; k < K; ++k) {
        const T wk = wb[k * HW + n];
        const int64_t m = ib[k * HW + n];
        const int64_t t = m / HW, mm = m % HW;
        const T* src = lb + t * L * HW + mm;
        for (int64_t l = 0; l < L; ++l) ob[l * HW + n] += wk * src[l * HW];
      }
    }
  });
}

// True when every element is finite; one parallel pass, no temporaries (at::isfinite(x).all() allocates ~1.7x x).
template <typename T>
bool all_finite(const T* p, int64_t n) {
  return at::parallel_reduce(
      0, n, int64_t(1) << 16, true,
      [&](int64_t b, int64_t e, bool ok) {
        bool fin = true;
        for (int64_t i = b; i < e; ++i) fin &= std::isfinite(p[i]);
        return ok && fin;
      },
      [](bool a, bool b) { return a && b; });
}

bool tensor_all_finite(const at::Tensor& c) {  // c contiguous
  bool ok = true;
  AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "topk_all_finite", [&] { ok = all_finite(c.const_data_ptr<scalar_t>(), c.numel()); });
  return ok;
}

void check_common(const at::Tensor& query, const at::Tensor& keys, int64_t topk, double temperature, double radius,
                  int64_t n_global) {
  UNITRACK_CHECK_DIM(query, "query", 4);
  UNITRACK_CHECK_DIM(keys, "keys", 5);
  UNITRACK_CHECK_FLOAT(query, "query");
  UNITRACK_CHECK_SAME_DTYPE(query, "query", keys, "keys");
  UNITRACK_CHECK_CPU(query, "query");
  UNITRACK_CHECK_CPU(keys, "keys");
  TORCH_CHECK(keys.size(0) == query.size(0), "keys has batch size ", keys.size(0), " but query has ", query.size(0));
  TORCH_CHECK(keys.size(1) >= 1, "keys must hold at least one memory frame (T >= 1), got shape ", keys.sizes());
  TORCH_CHECK(keys.size(2) == query.size(1), "keys has ", keys.size(2), " channels but query has ", query.size(1));
  TORCH_CHECK(keys.size(3) == query.size(2) && keys.size(4) == query.size(3), "keys frames are ", keys.size(3), "x",
              keys.size(4), " but query is ", query.size(2), "x", query.size(3), " (H x W must match)");
  TORCH_CHECK(topk >= 1, "topk must be >= 1, got ", topk);
  TORCH_CHECK(temperature > 0 && std::isfinite(temperature), "temperature must be a finite number > 0, got ",
              temperature);
  TORCH_CHECK(!std::isnan(radius), "radius must not be NaN");
  TORCH_CHECK(n_global >= 0, "n_global must be >= 0, got ", n_global);
}

std::tuple<at::Tensor, at::Tensor> topk_affinity_cpu(const at::Tensor& query, const at::Tensor& keys, int64_t topk,
                                                     double temperature, double radius, int64_t n_global) {
  check_common(query, keys, topk, temperature, radius, n_global);
  const int64_t B = query.size(0), C = query.size(1), H = query.size(2), W = query.size(3), T = keys.size(1);
  const Geometry g = make_geometry(T, C, H, W, topk, radius, n_global);
  auto q = query.contiguous();
  auto k = keys.contiguous();
  TORCH_CHECK(tensor_all_finite(q), "query contains NaN or inf values");
  TORCH_CHECK(tensor_all_finite(k), "keys contains NaN or inf values");
  auto weights = at::empty({B, g.K, H * W}, query.options());
  auto indices = at::empty({B, g.K, H * W}, query.options().dtype(at::kLong));
  AT_DISPATCH_FLOATING_TYPES(query.scalar_type(), "topk_affinity_cpu", [&] {
    topk_affinity_impl<scalar_t>(q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(), g, temperature,
                                 weights.mutable_data_ptr<scalar_t>(), indices.mutable_data_ptr<int64_t>(), B);
  });
  return {weights, indices};
}

at::Tensor topk_propagate_cpu(const at::Tensor& query, const at::Tensor& keys, const at::Tensor& labels, int64_t topk,
                              double temperature, double radius, int64_t n_global) {
  UNITRACK_CHECK_DIM(labels, "labels", 5);
  UNITRACK_CHECK_CPU(labels, "labels");
  TORCH_CHECK(labels.scalar_type() == query.scalar_type(), "labels and query must have the same dtype, got ",
              labels.scalar_type(), " and ", query.scalar_type());
  TORCH_CHECK(labels.size(0) == query.size(0) && labels.size(1) == keys.size(1) && labels.size(3) == query.size(2) &&
                  labels.size(4) == query.size(3),
              "labels must be [B, T, L, H, W] = [", query.size(0), ", ", keys.size(1), ", L, ", query.size(2), ", ",
              query.size(3), "], got shape ", labels.sizes());
  auto [weights, indices] = topk_affinity_cpu(query, keys, topk, temperature, radius, n_global);
  const int64_t B = query.size(0), H = query.size(2), W = query.size(3), T = keys.size(1), L = labels.size(2);
  auto lab = labels.contiguous();
  auto out = at::empty({B, L, H, W}, labels.options());
  AT_DISPATCH_FLOATING_TYPES(query.scalar_type(), "topk_propagate_cpu", [&] {
    propagate_impl<scalar_t>(weights.const_data_ptr<scalar_t>(), indices.const_data_ptr<int64_t>(),
                             lab.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), B, T, L, H * W,
                             weights.size(1));
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("topk_propagate", &topk_propagate_cpu);
  m.impl("topk_affinity", &topk_affinity_cpu);
}

}  // namespace unitrack
