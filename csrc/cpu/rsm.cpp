// CPU kernel of unitrack::rsm -- the Reconstruction Similarity Metric (SPEC §6, appendix b), computed algebraically.
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
// as in the reference. Sums over points are accumulated in double (products of two ~1e-28 weights are ~1e-56, below
// the float range) and the quadratic forms are evaluated in double: w^T G w = ||D^T w||^2 cancels when signed points
// point in opposite directions, and float32 there would lose digits the reference keeps.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <type_traits>
#include <vector>

#include "common/checks.h"

namespace unitrack {
namespace {

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

// Validates a sizes tensor against its points tensor and returns the N+1 offsets.
std::vector<int64_t> offsets_of(const at::Tensor& sizes, const char* name, int64_t rows, const char* points_name) {
  TORCH_CHECK(sizes.scalar_type() == at::kLong, name, " must be an int64 tensor, got ", sizes.scalar_type());
  TORCH_CHECK(sizes.dim() == 1, name, " must be a 1-D tensor [N], got shape ", sizes.sizes());
  auto s = sizes.to(at::kCPU).contiguous();
  const int64_t* sp = s.const_data_ptr<int64_t>();
  std::vector<int64_t> off(static_cast<size_t>(s.size(0)) + 1, 0);
  for (int64_t k = 0; k < s.size(0); ++k) {
    TORCH_CHECK(sp[k] >= 0, name, "[", k, "] = ", sp[k], " is negative: sizes must be >= 0");
    off[k + 1] = off[k] + sp[k];
  }
  TORCH_CHECK(off.back() == rows, name, " sums to ", off.back(), " but ", points_name, " has ", rows,
              " points (rows): the sizes must sum to the number of points");
  return off;
}

template <typename scalar_t>
void rsm_kernel(const at::Tensor& that, const at::Tensor& dhat, const std::vector<int64_t>& toff,
                const std::vector<int64_t>& doff, double temperature, at::Tensor& out) {
  const int64_t N = static_cast<int64_t>(toff.size()) - 1, M = static_cast<int64_t>(doff.size()) - 1;
  const int64_t C = that.size(1), SP = toff.back(), SQ = doff.back();
  const scalar_t inv_tau = static_cast<scalar_t>(1.0 / temperature);
  const scalar_t* T = that.const_data_ptr<scalar_t>();
  const scalar_t* D = dhat.const_data_ptr<scalar_t>();

  // Small problems run the passes below on the calling thread: each parallel region ends in a barrier, and on a busy
  // machine the waits (spinning OpenMP workers competing with the thread they wait for) cost far more than the
  // ~1 ms of work a 20 x 20 box problem has per pass (measured: 150 ms with 2 threads vs 20 ms with 1 on a loaded
  // 2-core machine). Large problems (e.g. 50 x 50 boxes, mask sets) are split across threads.
  const bool parallel = SP * SQ >= (int64_t{1} << 21);
  auto for_range = [parallel](int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& f) {
    if (parallel)
      at::parallel_for(begin, end, 1, f);
    else if (begin < end)
      f(begin, end);
  };

  // ||vec(t^_i)||^2 and ||vec(d^_j)||^2 (sums of squared point norms, in double).
  std::vector<double> tn2(N), dn2(M);
  auto object_norms = [&](const scalar_t* X, const std::vector<int64_t>& off, std::vector<double>& n2) {
    for_range(0, static_cast<int64_t>(n2.size()), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) n2[o] = dot_d(X + off[o] * C, X + off[o] * C, (off[o + 1] - off[o]) * C);
    });
  };
  object_norms(T, toff, tn2);
  object_norms(D, doff, dn2);

  // The one GEMM of the affinity.
  const at::Tensor A_t = at::mm(that, dhat.t()).contiguous();
  // Row-softmax weights stored transposed, WT [sumQ, sumP]: the track -> detection quadratic forms then stream long
  // rows of it (one row per detection point), the same access pattern as the other direction.
  at::Tensor WT_t = at::empty({SQ, SP}, A_t.options());
  const scalar_t* A = A_t.const_data_ptr<scalar_t>();
  scalar_t* WT = WT_t.mutable_data_ptr<scalar_t>();
  std::vector<double> dot_td(N * M, 0.0), dot_dt(N * M, 0.0), nr_td(N * M, 0.0), nr_dt(N * M, 0.0);

  // Pass 1, one task per track (so <r_td, t^> accumulates in place): the row softmax of every track point over all
  // detection points (stored: the track -> detection quadratic forms read it as GEMM operands), and, in the same sweep
  // of A, running column statistics of the column softmax (online max / rescaled sum, merged across tasks), so that
  // the detection -> track weights never need a matrix of their own.
  std::vector<scalar_t> col_max(SQ, -std::numeric_limits<scalar_t>::infinity());
  std::vector<double> col_sum(SQ, 0.0);
  std::mutex merge_mutex;
  if (SQ > 0 && SP > 0) {
    for_range(0, N, [&](int64_t b, int64_t e) {
      std::vector<scalar_t> cm(SQ, -std::numeric_limits<scalar_t>::infinity()), e1(SQ), e2(SQ);
      std::vector<double> cs(SQ, 0.0);
      std::vector<scalar_t> wbuf;
      for (int64_t i = b; i < e; ++i) {
        wbuf.resize((toff[i + 1] - toff[i]) * SQ);
        for (int64_t p = toff[i]; p < toff[i + 1]; ++p) {
          const scalar_t* a = A + p * SQ;
          scalar_t* w = wbuf.data() + (p - toff[i]) * SQ;
          const scalar_t mx = max_v(a, SQ);
          for (int64_t q = 0; q < SQ; ++q) w[q] = exp_nonpos((a[q] - mx) * inv_tau);
          const scalar_t inv = static_cast<scalar_t>(1.0 / sum_d(w, SQ));
          for (int64_t q = 0; q < SQ; ++q) w[q] *= inv;
          for (int64_t j = 0; j < M; ++j) dot_td[i * M + j] += dot_d(w + doff[j], a + doff[j], doff[j + 1] - doff[j]);
          for (int64_t q = 0; q < SQ; ++q) {
            const scalar_t m = std::max(cm[q], a[q]);
            e1[q] = exp_nonpos((cm[q] - m) * inv_tau);
            e2[q] = exp_nonpos((a[q] - m) * inv_tau);
            cm[q] = m;
          }
          for (int64_t q = 0; q < SQ; ++q) cs[q] = cs[q] * static_cast<double>(e1[q]) + static_cast<double>(e2[q]);
        }
        const int64_t p0 = toff[i], P = toff[i + 1] - p0;  // WT[:, p0:p0+P] = this track's block, transposed
        for (int64_t q = 0; q < SQ; ++q)
          for (int64_t p = 0; p < P; ++p) WT[q * SP + p0 + p] = wbuf[p * SQ + q];
      }
      bool any_rows = false;
      for (int64_t i = b; i < e; ++i) any_rows = any_rows || toff[i + 1] > toff[i];
      if (!any_rows) return;  // cm is all -inf: nothing to merge (and -inf - -inf would be NaN)
      std::lock_guard<std::mutex> lock(merge_mutex);
      for (int64_t q = 0; q < SQ; ++q) {
        const scalar_t m = std::max(col_max[q], cm[q]);
        col_sum[q] = col_sum[q] * static_cast<double>(exp_nonpos((col_max[q] - m) * inv_tau)) +
                     cs[q] * static_cast<double>(exp_nonpos((cm[q] - m) * inv_tau));
        col_max[q] = m;
      }
    });
  }
  std::vector<scalar_t> col_inv(SQ);
  for (int64_t q = 0; q < SQ; ++q) col_inv[q] = static_cast<scalar_t>(1.0 / col_sum[q]);

  std::vector<int64_t> track_of(SP);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t p = toff[i]; p < toff[i + 1]; ++p) track_of[p] = i;
  // Gram blocks G_j = D^_j D^_j^T and H_i = T^_i T^_i^T (double, plus an input-precision copy). They are >= 0 for
  // post-ReLU features: with weights >= 0 every term of w^T G w is then >= 0 and the input precision is exact enough.
  // Otherwise w^T G w = ||D^T w||^2 may cancel, and that object's quadratic forms run in double.
  std::vector<int64_t> tgoff(N + 1, 0), dgoff(M + 1, 0);
  for (int64_t i = 0; i < N; ++i) tgoff[i + 1] = tgoff[i] + (toff[i + 1] - toff[i]) * (toff[i + 1] - toff[i]);
  for (int64_t j = 0; j < M; ++j) dgoff[j + 1] = dgoff[j] + (doff[j + 1] - doff[j]) * (doff[j + 1] - doff[j]);
  std::vector<double> H64(tgoff.back()), G64(dgoff.back());
  std::vector<scalar_t> H(tgoff.back()), G(dgoff.back());
  std::vector<char> t_neg(N, 0), d_neg(M, 0);
  // One small BLAS GEMM per object (serial loop: the BLAS threads it if worthwhile); the double copy is formed in
  // double only where it is used (negative entries, or float64 input).
  auto grams = [&](const at::Tensor& Xt, const std::vector<int64_t>& off, const std::vector<int64_t>& goff,
                   std::vector<double>& g64, std::vector<scalar_t>& g, std::vector<char>& neg) {
    for (int64_t o = 0; o + 1 < static_cast<int64_t>(off.size()); ++o) {
      const int64_t P = off[o + 1] - off[o];
      if (P == 0 || P > C) continue;  // P > C: such objects use the reconstruction route, not the Gram block
      const at::Tensor x = Xt.narrow(0, off[o], P);
      const at::Tensor gm = at::mm(x, x.t()).contiguous();
      const scalar_t* gp = gm.const_data_ptr<scalar_t>();
      std::copy(gp, gp + P * P, g.begin() + goff[o]);
      neg[o] = *std::min_element(gp, gp + P * P) < 0;
      if (neg[o]) {
        const at::Tensor x64 = x.to(at::kDouble);
        const at::Tensor g2 = at::mm(x64, x64.t()).contiguous();
        std::copy(g2.const_data_ptr<double>(), g2.const_data_ptr<double>() + P * P, g64.begin() + goff[o]);
      }
    }
  };
  grams(that, toff, tgoff, H64, H, t_neg);
  grams(dhat, doff, dgoff, G64, G, d_neg);

  // Pass 2, one parallel loop over M + N tasks (no BLAS inside: nested BLAS threads oversubscribed the cores).
  // Task j < M, track -> detection (writes column j only): with WT_j = WT[q in j, :] ([Q_j, sumP]),
  // U = G_j WT_j gives w_p^T G_j w_p = sum_q WT_j[q, p] U[q, p] for every track point p at once; where Q_j > C the
  // reconstructions r_p = D^_j^T w_p ([C]) are cheaper.
  auto td_task = [&](int64_t j, std::vector<double>& acc, std::vector<double>& u64, std::vector<scalar_t>& u) {
    const int64_t q0 = doff[j], Q = doff[j + 1] - q0;
    if (Q == 0) return;
    const scalar_t* wt = WT + q0 * SP;
    std::fill(acc.begin(), acc.begin() + SP, 0.0);
    if (Q > C) {
      for (int64_t p = 0; p < SP; ++p) {
        std::fill(u.begin(), u.begin() + C, scalar_t(0));
        for (int64_t q = 0; q < Q; ++q) {
          const scalar_t wq = wt[q * SP + p];
          const scalar_t* d = D + (q0 + q) * C;
          for (int64_t c = 0; c < C; ++c) u[c] = std::fma(wq, d[c], u[c]);
        }
        acc[p] = dot_d(u.data(), u.data(), C);
      }
    } else if (d_neg[j]) {
      const double* g = G64.data() + dgoff[j];
      for (int64_t q = 0; q < Q; ++q) {
        std::fill(u64.begin(), u64.begin() + SP, 0.0);
        for (int64_t qq = 0; qq < Q; ++qq) {
          const double gv = g[q * Q + qq];
          const scalar_t* w = wt + qq * SP;
          for (int64_t p = 0; p < SP; ++p) u64[p] = std::fma(gv, static_cast<double>(w[p]), u64[p]);
        }
        const scalar_t* w = wt + q * SP;
        for (int64_t p = 0; p < SP; ++p) acc[p] += static_cast<double>(w[p]) * u64[p];
      }
    } else {
      const scalar_t* g = G.data() + dgoff[j];
      for (int64_t q = 0; q < Q; ++q) {
        std::fill(u.begin(), u.begin() + SP, scalar_t(0));
        for (int64_t qq = 0; qq < Q; ++qq) {
          const scalar_t gv = g[q * Q + qq];
          const scalar_t* w = wt + qq * SP;
          for (int64_t p = 0; p < SP; ++p) u[p] = std::fma(gv, w[p], u[p]);
        }
        const scalar_t* w = wt + q * SP;
        for (int64_t p = 0; p < SP; ++p) acc[p] += static_cast<double>(w[p]) * static_cast<double>(u[p]);
      }
    }
    for (int64_t i = 0; i < N; ++i) nr_td[i * M + j] = sum_d(acc.data() + toff[i], toff[i + 1] - toff[i]);
  };
  // Task M + i, detection -> track (writes row i only): the column-softmax weights V = Wdt[i, :] ([P_i, sumQ]) are
  // recomputed from A and the column statistics; U = H_i V gives v_q^T H_i v_q = sum_p V[p, q] U[p, q] for every
  // detection point q at once; where P_i > C, the reconstructions r_q = T^_i^T v_q ([C]) directly.
  auto dt_task = [&](int64_t i, std::vector<double>& acc, std::vector<scalar_t>& vbuf, std::vector<double>& u64,
                     std::vector<scalar_t>& u) {
    const int64_t p0 = toff[i], P = toff[i + 1] - p0;
    if (P == 0) return;
    scalar_t* vi = vbuf.data();
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t p = 0; p < P; ++p) {
      const scalar_t* a = A + (p0 + p) * SQ;
      scalar_t* v = vi + p * SQ;
      for (int64_t q = 0; q < SQ; ++q) v[q] = exp_nonpos((a[q] - col_max[q]) * inv_tau) * col_inv[q];
      // <r_dt[i, j], d^_j> = sum_{p in i, q in j} Wdt[p, q] A[p, q]
      for (int64_t q = 0; q < SQ; ++q) acc[q] += static_cast<double>(v[q]) * static_cast<double>(a[q]);
    }
    for (int64_t j = 0; j < M; ++j) dot_dt[i * M + j] = sum_d(acc.data() + doff[j], doff[j + 1] - doff[j]);
    std::fill(acc.begin(), acc.end(), 0.0);
    if (P > C) {
      for (int64_t q = 0; q < SQ; ++q) {
        std::fill(u.begin(), u.begin() + C, scalar_t(0));
        for (int64_t p = 0; p < P; ++p) {
          const scalar_t vq = vi[p * SQ + q];
          const scalar_t* t = T + (p0 + p) * C;
          for (int64_t c = 0; c < C; ++c) u[c] = std::fma(vq, t[c], u[c]);
        }
        acc[q] = dot_d(u.data(), u.data(), C);
      }
    } else if (t_neg[i]) {
      const double* h = H64.data() + tgoff[i];
      for (int64_t p = 0; p < P; ++p) {
        std::fill(u64.begin(), u64.begin() + SQ, 0.0);
        for (int64_t pp = 0; pp < P; ++pp) {
          const double hv = h[p * P + pp];
          const scalar_t* v = vi + pp * SQ;
          for (int64_t q = 0; q < SQ; ++q) u64[q] = std::fma(hv, static_cast<double>(v[q]), u64[q]);
        }
        const scalar_t* v = vi + p * SQ;
        for (int64_t q = 0; q < SQ; ++q) acc[q] += static_cast<double>(v[q]) * u64[q];
      }
    } else {
      const scalar_t* h = H.data() + tgoff[i];
      for (int64_t p = 0; p < P; ++p) {
        std::fill(u.begin(), u.begin() + SQ, scalar_t(0));
        for (int64_t pp = 0; pp < P; ++pp) {
          const scalar_t hv = h[p * P + pp];
          const scalar_t* v = vi + pp * SQ;
          for (int64_t q = 0; q < SQ; ++q) u[q] = std::fma(hv, v[q], u[q]);
        }
        const scalar_t* v = vi + p * SQ;
        for (int64_t q = 0; q < SQ; ++q) acc[q] += static_cast<double>(v[q]) * static_cast<double>(u[q]);
      }
    }
    for (int64_t j = 0; j < M; ++j) nr_dt[i * M + j] = sum_d(acc.data() + doff[j], doff[j + 1] - doff[j]);
  };
  int64_t maxP = 0;
  for (int64_t i = 0; i < N; ++i) maxP = std::max(maxP, toff[i + 1] - toff[i]);
  if (SP > 0 && SQ > 0) {
    for_range(0, M + N, [&](int64_t b, int64_t e) {
      const int64_t len = std::max<int64_t>({SQ, SP, C, 1});
      std::vector<double> acc(len), y64(len);
      std::vector<scalar_t> y(len), vbuf(e > M ? maxP * SQ : 0);
      for (int64_t task = b; task < e; ++task) {
        if (task < M)
          td_task(task, acc, y64, y);
        else
          dt_task(task - M, acc, vbuf, y64, y);
      }
    });
  }

  // Cosines with the reference's eps clamps, then the symmetrised similarity.
  scalar_t* O = out.mutable_data_ptr<scalar_t>();
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t j = 0; j < M; ++j) {
      const int64_t ij = i * M + j;
      const double s_td = dot_td[ij] / (std::max(std::sqrt(std::max(nr_td[ij], 0.0)), 1e-12) * std::max(std::sqrt(tn2[i]), 1e-12));
      const double s_dt = dot_dt[ij] / (std::max(std::sqrt(std::max(nr_dt[ij], 0.0)), 1e-12) * std::max(std::sqrt(dn2[j]), 1e-12));
      O[ij] = static_cast<scalar_t>(0.5 * (s_td + s_dt));
    }
  }
}

at::Tensor rsm_cpu(const at::Tensor& track_points, const at::Tensor& track_sizes, const at::Tensor& det_points,
                   const at::Tensor& det_sizes, double temperature) {
  UNITRACK_CHECK_DIM(track_points, "track_points", 2);
  UNITRACK_CHECK_DIM(det_points, "det_points", 2);
  UNITRACK_CHECK_FLOAT(track_points, "track_points");
  UNITRACK_CHECK_SAME_DTYPE(track_points, "track_points", det_points, "det_points");
  UNITRACK_CHECK_CPU(track_points, "track_points");
  UNITRACK_CHECK_CPU(det_points, "det_points");
  UNITRACK_CHECK_CPU(track_sizes, "track_sizes");
  UNITRACK_CHECK_CPU(det_sizes, "det_sizes");
  TORCH_CHECK(track_points.size(1) == det_points.size(1), "det_points has ", det_points.size(1),
              " channels but track_points has ", track_points.size(1), ": feature sets must share C");
  TORCH_CHECK(std::isfinite(temperature) && temperature > 0, "temperature must be a finite number > 0, got ",
              temperature);
  const auto toff = offsets_of(track_sizes, "track_sizes", track_points.size(0), "track_points");
  const auto doff = offsets_of(det_sizes, "det_sizes", det_points.size(0), "det_points");
  const int64_t N = track_sizes.size(0), M = det_sizes.size(0);
  TORCH_CHECK(at::isfinite(track_points).all().item<bool>(), "track_points contains NaN or inf values");
  TORCH_CHECK(at::isfinite(det_points).all().item<bool>(), "det_points contains NaN or inf values");
  at::Tensor out = at::zeros({N, M}, track_points.options());
  if (N == 0 || M == 0) return out;
  // Same normalisation expression as the reference (bitwise identical unit vectors).
  const at::Tensor that = (track_points / track_points.norm(2, {1}, true).clamp_min(1e-12)).contiguous();
  const at::Tensor dhat = (det_points / det_points.norm(2, {1}, true).clamp_min(1e-12)).contiguous();
  AT_DISPATCH_FLOATING_TYPES(track_points.scalar_type(), "rsm_cpu",
                             [&] { rsm_kernel<scalar_t>(that, dhat, toff, doff, temperature, out); });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CPU, m) { m.impl("rsm", &rsm_cpu); }

}  // namespace unitrack
