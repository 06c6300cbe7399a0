// CPU kernels of unitrack::topk_affinity / unitrack::topk_propagate, compiled once per ISA level (included by
// csrc/cpu/isa/topk_propagate_<level>.cpp after csrc/cpu/isa/begin.h; the entry point is csrc/cpu/topk_propagate.cpp).
// Semantics, for every query point n of every batch item (see also csrc/ops/topk_geometry.h):
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
//   * the queries are cut into tiles (TY rows x TX columns), parallel_for over (batch, tile);
//   * the tile's queries are packed channel-major in groups of MR consecutive columns; key blocks of NR candidates are
//     packed channel-major too ([C][NR]), so each tile x key block is a small GEMM done by an MR x NR register-blocked
//     micro-kernel (csrc/cpu/simd.h vectors of the level);
//   * global frames: all H*W keys in flat blocks of NR; radius frames: only the key rows within radius of the tile,
//     only the columns the tile's windows reach, and each query group skips the blocks outside its windows;
//   * each query keeps a running sorted top-K of (affinity, index); candidates arrive in increasing index order, so a
//     strict '>' against the K-th value implements the lower-index tie-break.
#ifndef UNITRACK_ISA_SKIP
#include "cpu/simd.h"

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace topk {

constexpr int kMR = 6;        // queries per micro-kernel
constexpr int64_t kTY = 2;    // query rows per tile
constexpr int64_t kTX = 48;   // query columns per tile (a multiple of kMR)
static_assert(kTX % kMR == 0, "a tile row is a whole number of query groups");

// Key block width NR = kNV vectors of the level (float: 8 lanes baseline, 16 avx2, 16 avx512 with kNV = 1; double:
// half). The micro-kernel keeps kMR x kNV accumulators in registers: 12 of the 16 vector registers of SSE2/AVX2.
#if UNITRACK_SIMD_AVX512
constexpr int kNV = 1;
#else
constexpr int kNV = 2;
#endif
template <typename T>
struct Block {
  static constexpr int64_t NR = kNV * simd::Vec<T>::N;
  static_assert(NR <= 64, "the lane masks of a key block are uint64_t");
  static_assert(NR % simd::Vec<T>::N == 0, "a key block is a whole number of vectors");
};

// out[i*NR + j] = sum_c A[c*MR + i] * B[c*ldb + j]  (i < kMR, j < NR): a kMR x NR register tile.
template <typename T>
inline void micro_kernel(const T* __restrict__ A, const T* __restrict__ B, int64_t ldb, int64_t C,
                         T* __restrict__ out) {
  using V = simd::V<T>;
  constexpr int N = simd::Vec<T>::N;
  static_assert(Block<T>::NR == kNV * N, "micro_kernel writes kMR rows of kNV vectors");
  V acc[kMR][kNV];
  for (int i = 0; i < kMR; ++i)
    for (int v = 0; v < kNV; ++v) acc[i][v] = V{};
  for (int64_t c = 0; c < C; ++c) {
    V b[kNV];
    for (int v = 0; v < kNV; ++v) b[v] = simd::load<V>(B + c * ldb + v * N);
    const T* a = A + c * kMR;
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      const V ai = simd::splat<V>(a[i]);
      for (int v = 0; v < kNV; ++v) acc[i][v] = simd::fmadd(ai, b[v], acc[i][v]);
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int v = 0; v < kNV; ++v) simd::store(out + i * Block<T>::NR + v * N, acc[i][v]);
}

// Bit j set where row[j] > thr, j < NR (NaN-free inputs).
template <typename T>
inline uint64_t above_mask(const T* row, T thr) {
  using V = simd::V<T>;
  constexpr int N = simd::Vec<T>::N;
  uint64_t m = 0;
  for (int v = 0; v < kNV; ++v) m |= simd::gt_mask(simd::load<V>(row + v * N), thr) << (v * N);
  return m;
}

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

// Top-K weights and indices for every query of one batch item; out_w/out_i are [K, HW].
template <typename T>
void topk_affinity_impl(const T* query, const T* keys, const TopkGeometry& g, double temperature, T* out_w,
                        int64_t* out_i, int64_t B) {
  constexpr int64_t NR = Block<T>::NR;
  const int64_t C = g.C, H = g.H, W = g.W, HW = g.HW, K = g.K, T_ = g.T;
  if (HW == 0 || K == 0 || B == 0) return;
  const int64_t tiles_y = (H + kTY - 1) / kTY, tiles_x = (W + kTX - 1) / kTX;
  const int64_t n_tiles = tiles_y * tiles_x;
  const T temp = static_cast<T>(temperature);
  const T fill_value = static_cast<T>(kTopkMaskValue);  // the mask's affinity (its logit is fill_value / temp)

  torch::stable::parallel_for(0, B * n_tiles, 1, [&](int64_t begin, int64_t end) {
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
          // Logits relative to the largest, (v - v[0]) / temp <= 0: the same softmax as exp(v / temp - v[0] / temp)
          // without its overflow (v / temp = inf for a tiny temperature or large features). cnt >= 1: the query's
          // own position is admissible in every frame.
          for (int64_t s = 0; s < cnt; ++s) {
            logits[s] = (v[s] - v[0]) / temp;
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
                logits[s] = (fill_value - v[0]) / temp;
                oi[s * HW + n] = t * HW + ky * W + kx;
                ++s;
              }
            }
          }
          UNITRACK_CHECK(s == K, "topk_propagate: internal error, selected ", s, " of ", K, " candidates");
          T sum = T(0);
          for (int64_t k = 0; k < K; ++k) {
            const T e = std::exp(logits[k]);
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
  torch::stable::parallel_for(0, B * HW, 256, [&](int64_t begin, int64_t end) {
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

// True when every element is finite; one parallel pass over fixed chunks, no temporaries (isfinite(x).all() would
// allocate ~1.7x x).
template <typename T>
bool all_finite(const T* p, int64_t n) {
  constexpr int64_t kChunk = int64_t(1) << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::atomic<bool> ok{true};
  torch::stable::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    bool fin = true;
    for (int64_t i = b * kChunk; i < std::min(n, e * kChunk); ++i) fin &= std::isfinite(p[i]);
    if (!fin) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace topk

extern const TopkKernels kTopkKernels;
const TopkKernels kTopkKernels = {
    {&topk::topk_affinity_impl<float>, &topk::propagate_impl<float>, &topk::all_finite<float>},
    {&topk::topk_affinity_impl<double>, &topk::propagate_impl<double>, &topk::all_finite<double>},
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
