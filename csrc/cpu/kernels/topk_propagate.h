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

constexpr int kMR = 6;       // queries per micro-kernel
constexpr int64_t kTY = 2;   // query rows per tile
constexpr int64_t kTX = 48;  // query columns per tile (a multiple of kMR)
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

// Bit j set where row[j] > thr, j < NR (a whole number of the level's vectors; NaN-free inputs).
template <typename T, int64_t NR>
inline uint64_t above_mask(const T* row, T thr) {
  using V = simd::V<T>;
  constexpr int N = simd::Vec<T>::N;
  static_assert(NR % N == 0 && NR <= 64, "a score row is a whole number of vectors, at most 64 lanes");
  uint64_t m = 0;
  for (int v = 0; v < NR / N; ++v) m |= simd::gt_mask(simd::load<V>(row + v * N), thr) << (v * N);
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

// 64-byte aligned scratch of n elements (zero-initialised).
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t n) : raw_(static_cast<size_t>(n) + 64 / sizeof(T)) {
    data_ = reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(raw_.data()) + 63) & ~uintptr_t(63));
  }
  T* data() { return data_; }
  const T* data() const { return data_; }

 private:
  std::vector<T> raw_;
  T* data_;
};

// The scoring policy of the level's vectors: query groups packed [C][kMR], key spans [C][ld], scored by micro_kernel.
// S is the type the features are stored in (they are converted to T while packing).
template <typename T>
struct FmaScorer {
  using Value = T;   // scores
  using Packed = T;  // packed queries and keys
  static constexpr int kGroup = kMR;
  static constexpr int64_t kBlock = Block<T>::NR;
  static int64_t group_elems(int64_t C) { return C * kMR; }
  static int64_t span_elems(int64_t C, int64_t ld) { return C * ld; }
  void begin() {}
  void end() {}
  // a [C][kMR] from the n (<= kMR) consecutive queries at src (channel stride HW); zero padding.
  template <typename S>
  static void pack_group(T* a, const S* src, int64_t HW, int64_t C, int64_t n) {
    for (int64_t c = 0; c < C; ++c) {
      int64_t i = 0;
      for (; i < n; ++i) a[c * kMR + i] = simd::widen<T>(src[c * HW + i]);
      for (; i < kMR; ++i) a[c * kMR + i] = T(0);
    }
  }
  // dst [C][ld] from the `count` consecutive keys at src (channel stride HW); zero up to ld.
  template <typename S>
  static void pack_span(T* dst, const S* src, int64_t HW, int64_t C, int64_t count, int64_t ld) {
    for (int64_t c = 0; c < C; ++c) {
      const S* s = src + c * HW;
      T* d = dst + c * ld;
      int64_t j = 0;
      for (; j < count; ++j) d[j] = simd::widen<T>(s[j]);
      for (; j < ld; ++j) d[j] = T(0);
    }
  }
  // acc [kMR][kBlock] = scores of group a against the kBlock keys at column `col` of the packed span b (row stride ld).
  static void score(const T* a, const T* b, int64_t col, int64_t ld, int64_t C, T* acc) {
    micro_kernel<T>(a, b + col, ld, C, acc);
  }
};

#if UNITRACK_SIMD_AVX512BF16
// dst [Cp/2][ld][2] (element (p, j, e) = channel 2p + e of key j; VNNI pairs) from the `count` consecutive bf16 keys
// at src (channel stride HW); zero keys up to ld (a multiple of 16) and zero channels from C up to Cp (even). 32 keys
// of a channel pair per step: two (masked) loads and one permute into 32 interleaved pairs.
inline void pack_pairs(uint16_t* dst, const uint16_t* src, int64_t HW, int64_t C, int64_t Cp, int64_t count,
                       int64_t ld) {
  alignas(64) static constexpr uint16_t kLo[32] = {0, 32, 1, 33, 2,  34, 3,  35, 4,  36, 5,  37, 6,  38, 7,  39,
                                                   8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  alignas(64) static constexpr uint16_t kHi[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                                   24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};
  const __m512i lo_idx = _mm512_load_si512(kLo), hi_idx = _mm512_load_si512(kHi);
  for (int64_t p = 0; p < Cp / 2; ++p) {
    const int64_t c0 = 2 * p, c1 = 2 * p + 1;
    uint16_t* d = dst + p * ld * 2;
    for (int64_t j = 0; j < ld; j += 32) {
      const int64_t nv = std::clamp<int64_t>(count - j, 0, 32);
      const __mmask32 m = nv >= 32 ? ~__mmask32(0) : ((__mmask32(1) << nv) - 1);
      const __m512i x0 = c0 < C ? _mm512_maskz_loadu_epi16(m, src + c0 * HW + j) : _mm512_setzero_si512();
      const __m512i x1 = c1 < C ? _mm512_maskz_loadu_epi16(m, src + c1 * HW + j) : _mm512_setzero_si512();
      const int64_t left = std::min<int64_t>(32, ld - j);  // keys of this step inside the span
      _mm512_storeu_si512(d + 2 * j, _mm512_permutex2var_epi16(x0, lo_idx, x1));
      if (left > 16) _mm512_storeu_si512(d + 2 * j + 32, _mm512_permutex2var_epi16(x0, hi_idx, x1));
    }
  }
}

// a [Cp/K][G][K] from the n (<= G) consecutive bf16 queries at src (channel stride HW): chunk k holds channels
// k*K .. k*K+K-1 of query 0, then of query 1, ...; zero queries from n and zero channels from C up to Cp (a multiple
// of K).
template <int G, int K>
inline void pack_chunks(uint16_t* a, const uint16_t* src, int64_t HW, int64_t C, int64_t Cp, int64_t n) {
  std::memset(a, 0, sizeof(uint16_t) * static_cast<size_t>(Cp * G));
  for (int64_t c = 0; c < C; ++c) {
    uint16_t* dst = a + (c / K) * (G * K) + (c % K);
    const uint16_t* s = src + c * HW;
    for (int64_t i = 0; i < n; ++i) dst[i * K] = s[i];
  }
}

// The vdpbf16ps scoring policy (bf16 storage only; the avx512bf16 level): a group of kDpMR queries is packed
// [Cp/2][kDpMR][2] (each query's channel pairs as one 32-bit word), a key span [Cp/2][ld][2] (pack_pairs), Cp = C
// rounded up to even with a zero channel. For each channel pair the micro-kernel loads kDpNV vectors of 16 keys x 2
// channels and, for each query, broadcasts its pair and adds both products to 16 float32 sums (vdpbf16ps): a
// kDpMR x (16 kDpNV) register tile, 32 multiply-adds per instruction (float32 FMA: 16).
constexpr int kDpMR = 6;  // queries per micro-kernel (kTX is a multiple)
constexpr int kDpNV = 2;  // vectors of 16 keys: 12 accumulators + 2 key vectors of the 32 zmm registers
struct Dpbf16Scorer {
  using Value = float;
  using Packed = uint16_t;
  static constexpr int kGroup = kDpMR;
  static constexpr int64_t kBlock = 16 * kDpNV;
  static int64_t padded(int64_t C) { return (C + 1) / 2 * 2; }
  static int64_t group_elems(int64_t C) { return padded(C) * kGroup; }
  static int64_t span_elems(int64_t C, int64_t ld) { return padded(C) * ld; }
  void begin() {}
  void end() {}

  // a [Cp/2][kDpMR][2] from the n (<= kDpMR) consecutive queries at src (channel stride HW); zero padding.
  static void pack_group(uint16_t* a, const uint16_t* src, int64_t HW, int64_t C, int64_t n) {
    pack_chunks<kGroup, 2>(a, src, HW, C, padded(C), n);
  }
  static void pack_span(uint16_t* dst, const uint16_t* src, int64_t HW, int64_t C, int64_t count, int64_t ld) {
    pack_pairs(dst, src, HW, C, padded(C), count, ld);
  }
  // acc [kDpMR][kBlock] = scores of group a against the kBlock keys at column `col` of the packed span b (ld keys).
  static void score(const uint16_t* a, const uint16_t* b, int64_t col, int64_t ld, int64_t C, float* acc) {
    const int64_t pairs = padded(C) / 2;
    __m512 sum[kDpMR][kDpNV];
    for (int i = 0; i < kDpMR; ++i)
      for (int v = 0; v < kDpNV; ++v) sum[i][v] = _mm512_setzero_ps();
    const uint16_t* bp = b + col * 2;
    for (int64_t p = 0; p < pairs; ++p) {
      __m512bh k[kDpNV];
      for (int v = 0; v < kDpNV; ++v) k[v] = (__m512bh)_mm512_loadu_si512(bp + p * ld * 2 + v * 32);
      const uint16_t* ap = a + p * (kDpMR * 2);
#pragma GCC unroll 8
      for (int i = 0; i < kDpMR; ++i) {
        uint32_t pair;
        std::memcpy(&pair, ap + 2 * i, sizeof pair);
        const __m512bh q = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
        for (int v = 0; v < kDpNV; ++v) sum[i][v] = _mm512_dpbf16_ps(sum[i][v], q, k[v]);
      }
    }
    for (int i = 0; i < kDpMR; ++i)
      for (int v = 0; v < kDpNV; ++v) _mm512_store_ps(acc + i * kBlock + v * 16, sum[i][v]);
  }
};
#endif

#if UNITRACK_SIMD_AMX
// The AMX-BF16 scoring policy (bf16 storage only): a group of 16 queries is packed [Cp/32][16][32] (one A tile per
// 32 channels: a row = one query's 32 channels), a key span [Cp/2][ld][2] (VNNI pairs: a B tile row = 16 keys x 2
// channels), Cp = C rounded up to 32 with zero channels; one C tile (16 x 16 float32) accumulates tdpbf16ps over the
// channel chunks. The tile configuration is per thread: loaded by begin(), released by end().
struct AmxScorer {
  using Value = float;
  using Packed = uint16_t;
  static constexpr int kGroup = 16;
  static constexpr int64_t kBlock = 16;
  static int64_t padded(int64_t C) { return (C + 31) / 32 * 32; }
  static int64_t group_elems(int64_t C) { return padded(C) * kGroup; }
  static int64_t span_elems(int64_t C, int64_t ld) { return padded(C) * ld; }

  void begin() { simd::tiles_begin(); }
  void end() { simd::tiles_end(); }

  // a [Cp/32][16][32] from the n (<= 16) consecutive queries at src (channel stride HW); zero padding.
  static void pack_group(uint16_t* a, const uint16_t* src, int64_t HW, int64_t C, int64_t n) {
    pack_chunks<kGroup, 32>(a, src, HW, C, padded(C), n);
  }
  // dst [Cp/2][ld][2] (VNNI pairs, zero channels up to Cp) from the `count` consecutive keys at src.
  static void pack_span(uint16_t* dst, const uint16_t* src, int64_t HW, int64_t C, int64_t count, int64_t ld) {
    pack_pairs(dst, src, HW, C, padded(C), count, ld);
  }
  // acc [16][16] = scores of group a against the 16 keys at column `col` of the packed span b (row stride ld).
  static void score(const uint16_t* a, const uint16_t* b, int64_t col, int64_t ld, int64_t C, float* acc) {
    const int64_t chunks = padded(C) / 32;
    _tile_zero(0);
    for (int64_t kc = 0; kc < chunks; ++kc) {
      _tile_loadd(1, a + kc * (kGroup * 32), 64);
      _tile_loadd(2, b + (kc * 16 * ld + col) * 2, ld * 4);
      _tile_dpbf16ps(0, 1, 2);
    }
    _tile_stored(0, acc, 64);
  }
};
#endif

// One query tile (kTY rows x kTX columns of one batch item) and its running top-K lists: the stages of
// topk_affinity_impl. S: feature storage type; P: scoring policy (packing layouts + micro-kernel). One per thread.
template <typename S, typename P>
class TopkTile {
 public:
  using T = typename P::Value;
  static constexpr int MR = P::kGroup;
  static constexpr int64_t NR = P::kBlock;
  static_assert(kTX % MR == 0, "a tile row is a whole number of query groups");
  static constexpr int64_t kMaxGroups = kTY * (kTX / MR);

  TopkTile(const TopkGeometry& g, double temperature)
      : g_(g),
        temp_(static_cast<T>(temperature)),
        fill_value_(static_cast<T>(kTopkMaskValue)),
        a_(kMaxGroups * P::group_elems(g.C)),
        block_(P::span_elems(g.C, NR)),
        span_(P::span_elems(g.C, g.W + 2 * NR)),
        vals_(static_cast<size_t>(kMaxGroups * MR * g.K)),
        idxs_(static_cast<size_t>(kMaxGroups * MR * g.K)),
        cnts_(static_cast<size_t>(kMaxGroups * MR)),
        logits_(static_cast<size_t>(g.K)) {}

  // Top-K of every query of the tile whose top-left query is (y0, x0): q [C, HW], keys [T, C, HW] of its batch
  // item; writes the columns of its queries in ow / oi [K, HW].
  void run(const S* q, const S* keys, int64_t y0, int64_t x0, T* ow, int64_t* oi) {
    y0_ = y0;
    x0_ = x0;
    y1_ = std::min(y0 + kTY, g_.H) - 1;
    x1_ = std::min(x0 + kTX, g_.W) - 1;
    pack_queries(q);
    for (int64_t t = 0; t < g_.T; ++t) {
      const S* frame = keys + t * g_.C * g_.HW;
      if (g_.is_global(t))
        score_global_frame(frame, t);
      else
        score_radius_frame(frame, t);
    }
    finalise(ow, oi);
  }

  P& scorer() { return scorer_; }

 private:
  // Query groups: MR consecutive columns of one row, packed by the policy; empty top-K lists.
  void pack_queries(const S* q) {
    n_groups_ = 0;
    for (int64_t y = y0_; y <= y1_; ++y) {
      for (int64_t x = x0_; x <= x1_; x += MR) {
        const int64_t n = std::min<int64_t>(MR, x1_ + 1 - x);
        g_y_[n_groups_] = y;
        g_x0_[n_groups_] = x;
        g_n_[n_groups_] = n;
        P::pack_group(group(n_groups_), q + y * g_.W + x, g_.HW, g_.C, n);
        ++n_groups_;
      }
    }
    std::fill(cnts_.begin(), cnts_.begin() + n_groups_ * MR, 0);
  }

  typename P::Packed* group(int64_t grp) { return a_.data() + grp * P::group_elems(g_.C); }

  // Offer the lanes of score row i of acc_ (candidates base_index + lane) to query i of group grp.
  void merge(int64_t grp, int64_t i, uint64_t lanes, int64_t base_index) {
    const int64_t K = g_.K;
    const int64_t qi = grp * MR + i;
    T* v = vals_.data() + qi * K;
    int64_t* id = idxs_.data() + qi * K;
    int64_t& cnt = cnts_[qi];
    const T* row = acc_ + i * NR;
    if (cnt == K) lanes &= above_mask<T, NR>(row, v[K - 1]);  // usually no lane beats the K-th value
    while (lanes) {
      const int j = __builtin_ctzll(lanes);
      lanes &= lanes - 1;
      const T s = row[j];
      if (cnt < K || s > v[K - 1]) topk_insert(v, id, cnt, K, s, base_index + j);
    }
  }

  // A global frame: all H*W keys in flat blocks of NR, every group against every block.
  void score_global_frame(const S* frame, int64_t t) {
    const int64_t HW = g_.HW, C = g_.C, n_groups = n_groups_;  // locals: the top-K writes (int64) may alias members
    for (int64_t m0 = 0; m0 < HW; m0 += NR) {
      const int64_t nvalid = std::min<int64_t>(NR, HW - m0);
      P::pack_span(block_.data(), frame + m0, HW, C, nvalid, NR);
      const uint64_t lanes_all = lane_range(0, nvalid - 1);
      for (int64_t grp = 0; grp < n_groups; ++grp) {
        P::score(group(grp), block_.data(), 0, NR, C, acc_);
        const int64_t n = g_n_[grp];
        for (int64_t i = 0; i < n; ++i) merge(grp, i, lanes_all, t * HW + m0);
      }
    }
  }

  // A windowed frame: only the key rows within radius of the tile, and of each row only the columns the tile's
  // windows reach (packed once as [C][ldr], zero tail); each group scores exactly the columns its windows reach, in
  // blocks of NR starting at its own window start.
  void score_radius_frame(const S* frame, int64_t t) {
    if (g_.maxdy < 0) return;
    const int64_t ky_lo = std::max<int64_t>(0, y0_ - g_.maxdy), ky_hi = std::min<int64_t>(g_.H - 1, y1_ + g_.maxdy);
    for (int64_t ky = ky_lo; ky <= ky_hi; ++ky) {
      const int64_t dmin = ky < y0_ ? y0_ - ky : (ky > y1_ ? ky - y1_ : 0);
      const int64_t hmax = g_.hw[dmin];
      if (hmax < 0) continue;
      const int64_t kx_lo = std::max<int64_t>(0, x0_ - hmax), kx_hi = std::min<int64_t>(g_.W - 1, x1_ + hmax);
      const int64_t span = kx_hi - kx_lo + 1;
      const int64_t ldr = ((span + NR - 1) / NR) * NR + NR;
      bool packed = false;
      for (int64_t grp = 0; grp < n_groups_; ++grp) {
        const int64_t d = std::abs(ky - g_y_[grp]);
        if (d > g_.maxdy || g_.hw[d] < 0) continue;
        const int64_t h = g_.hw[d];
        const int64_t ga = g_x0_[grp], gb = g_x0_[grp] + g_n_[grp] - 1;
        const int64_t ws = std::max<int64_t>(kx_lo, ga - h), we = std::min<int64_t>(kx_hi, gb + h);
        if (ws > we) continue;
        if (!packed) {
          P::pack_span(span_.data(), frame + ky * g_.W + kx_lo, g_.HW, g_.C, span, ldr);
          packed = true;
        }
        score_window(grp, h, ws, we, kx_lo, ldr, t * g_.HW + ky * g_.W);
      }
    }
  }

  // Group grp against the packed key row span (first column kx_lo, row stride ldr) over the columns [ws, we]; query
  // qx admits the columns within h of it. row_base: the candidate index of column 0 of the key row.
  void score_window(int64_t grp, int64_t h, int64_t ws, int64_t we, int64_t kx_lo, int64_t ldr, int64_t row_base) {
    const int64_t ga = g_x0_[grp], n = g_n_[grp], C = g_.C;
    for (int64_t p0 = ws; p0 <= we; p0 += NR) {
      const int64_t nvalid = std::min<int64_t>(NR, we + 1 - p0);
      P::score(group(grp), span_.data(), p0 - kx_lo, ldr, C, acc_);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t qx = ga + i;
        const int64_t lo = std::max<int64_t>(0, qx - h - p0);
        const int64_t hi = std::min<int64_t>(nvalid - 1, qx + h - p0);
        const uint64_t lanes = lane_range(lo, hi);
        if (lanes) merge(grp, i, lanes, row_base + p0);
      }
    }
  }

  // Every query of the tile: logits of its top-K list, fill-in slots, softmax, written to its column of ow / oi.
  void finalise(T* ow, int64_t* oi) {
    const int64_t K = g_.K, HW = g_.HW;
    for (int64_t grp = 0; grp < n_groups_; ++grp) {
      for (int64_t i = 0; i < g_n_[grp]; ++i) {
        const int64_t qi = grp * MR + i;
        const int64_t qy = g_y_[grp], qx = g_x0_[grp] + i, n = qy * g_.W + qx;
        const T* v = vals_.data() + qi * K;
        const int64_t* id = idxs_.data() + qi * K;
        const int64_t cnt = cnts_[qi];
        // Logits relative to the largest, (v - v[0]) / temp <= 0: the same softmax as exp(v / temp - v[0] / temp)
        // without its overflow (v / temp = inf for a tiny temperature or large features). cnt >= 1: the query's
        // own position is admissible in every frame.
        for (int64_t s = 0; s < cnt; ++s) {
          logits_[s] = (v[s] - v[0]) / temp_;
          oi[s * HW + n] = id[s];
        }
        const int64_t s = fill_in(qy, qx, cnt, v[0], oi + n);
        UNITRACK_CHECK(s == K, "topk_propagate: internal error, selected ", s, " of ", K, " candidates");
        softmax_write(ow + n);
      }
    }
  }

  // Fewer than K admissible candidates: slots cnt.. take the lowest-index inadmissible candidates with the mask's
  // logit relative to the largest value v0 (oi: the query's column, stride HW). Returns the number of filled slots (K).
  int64_t fill_in(int64_t qy, int64_t qx, int64_t cnt, T v0, int64_t* oi) {
    const int64_t K = g_.K, H = g_.H, W = g_.W, HW = g_.HW;
    int64_t s = cnt;
    for (int64_t t = 0; t < g_.T && s < K; ++t) {
      if (g_.is_global(t)) continue;
      for (int64_t ky = 0; ky < H && s < K; ++ky) {
        const int64_t d = std::abs(ky - qy);
        const int64_t h = (d <= g_.maxdy) ? g_.hw[d] : -1;
        const int64_t a_lo = h < 0 ? W : std::max<int64_t>(0, qx - h);
        const int64_t a_hi = h < 0 ? W - 1 : std::min<int64_t>(W - 1, qx + h);
        for (int64_t kx = 0; kx < W && s < K; ++kx) {
          if (kx >= a_lo && kx <= a_hi) {
            kx = a_hi;
            continue;
          }
          logits_[s] = (fill_value_ - v0) / temp_;
          oi[s * HW] = t * HW + ky * W + kx;
          ++s;
        }
      }
    }
    return s;
  }

  // Softmax over logits_[0..K) (relative to the largest: logits_[0] = 0, the others <= 0) into the query's column ow
  // (stride HW).
  void softmax_write(T* ow) {
    const int64_t K = g_.K, HW = g_.HW;
    T sum = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const T e = std::exp(logits_[k]);
      logits_[k] = e;
      sum += e;
    }
    for (int64_t k = 0; k < K; ++k) ow[k * HW] = logits_[k] / sum;
  }

  const TopkGeometry& g_;
  const T temp_, fill_value_;  // the temperature; the mask's affinity (its logit: (fill_value_ - v0) / temp_)
  P scorer_;
  Scratch<typename P::Packed> a_, block_, span_;  // packed query groups, one key block, one key row span (windows)
  std::vector<T> vals_;                           // [query][K] running top-K values (descending) ...
  std::vector<int64_t> idxs_;                     // ... and their candidate indices
  std::vector<int64_t> cnts_;                     // [query] entries in its list
  std::vector<T> logits_;                         // [K]
  alignas(64) T acc_[MR * NR];                    // scores of one group x one key block
  int64_t g_y_[kMaxGroups], g_x0_[kMaxGroups], g_n_[kMaxGroups];  // each group's row, first column, queries
  int64_t n_groups_ = 0, y0_ = 0, x0_ = 0, y1_ = 0, x1_ = 0;
};

// Top-K weights and indices for every query: query [B, C, HW], keys [B, T, C, HW] stored as S; out_w / out_i
// [B, K, HW]. parallel_for over (batch item, query tile); each thread keeps one TopkTile (scratch + top-K lists).
template <typename S, typename P>
void topk_affinity_tiles(const S* query, const S* keys, const TopkGeometry& g, double temperature,
                         typename P::Value* out_w, int64_t* out_i, int64_t B) {
  const int64_t C = g.C, HW = g.HW, K = g.K;
  if (HW == 0 || K == 0 || B == 0) return;
  const int64_t tiles_y = (g.H + kTY - 1) / kTY, tiles_x = (g.W + kTX - 1) / kTX;
  const int64_t n_tiles = tiles_y * tiles_x;
  torch::stable::parallel_for(0, B * n_tiles, 1, [&](int64_t begin, int64_t end) {
    auto tile = std::make_unique<TopkTile<S, P>>(g, temperature);
    tile->scorer().begin();
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / n_tiles, t = task % n_tiles;
      tile->run(query + b * C * HW, keys + b * g.T * C * HW, (t / tiles_x) * kTY, (t % tiles_x) * kTX,
                out_w + b * K * HW, out_i + b * K * HW);
    }
    tile->scorer().end();
  });
}

template <typename T>
void topk_affinity_impl(const T* query, const T* keys, const TopkGeometry& g, double temperature, T* out_w,
                        int64_t* out_i, int64_t B) {
  topk_affinity_tiles<T, FmaScorer<T>>(query, keys, g, temperature, out_w, out_i, B);
}

// bfloat16 features (raw bits), float32 scores: AMX-BF16 tiles at the amx level, vdpbf16ps at the avx512bf16 level,
// else widened to float32 while packing (exact) and scored by the float32 micro-kernel.
void topk_affinity_bf16(const uint16_t* query, const uint16_t* keys, const TopkGeometry& g, double temperature,
                        float* out_w, int64_t* out_i, int64_t B) {
#if UNITRACK_SIMD_AMX
  topk_affinity_tiles<uint16_t, AmxScorer>(query, keys, g, temperature, out_w, out_i, B);
#elif UNITRACK_SIMD_AVX512BF16
  topk_affinity_tiles<uint16_t, Dpbf16Scorer>(query, keys, g, temperature, out_w, out_i, B);
#else
  topk_affinity_tiles<uint16_t, FmaScorer<float>>(query, keys, g, temperature, out_w, out_i, B);
#endif
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
    for (int64_t i = b * kChunk; i < std::min(n, e * kChunk); ++i) {
      if constexpr (std::is_same_v<T, uint16_t>)
        fin &= simd::bf16_isfinite(p[i]);  // bf16 bits
      else
        fin &= std::isfinite(p[i]);
    }
    if (!fin) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace topk

extern const TopkKernels kTopkKernels;
const TopkKernels kTopkKernels = {
    {&topk::topk_affinity_impl<float>, &topk::propagate_impl<float>, &topk::all_finite<float>},
    {&topk::topk_affinity_impl<double>, &topk::propagate_impl<double>, &topk::all_finite<double>},
    {&topk::topk_affinity_bf16, &topk::all_finite<uint16_t>},
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
