// Backward CPU kernels of unitrack::rsm (issue #16), compiled once per ISA level
// (csrc/cpu/isa/rsm_backward_<level>.cpp; the entry point csrc/cpu/rsm_backward.cpp runs the GEMMs through the
// dispatcher and these kernels in between).
//
// Derivation (the forward's notation, csrc/cpu/kernels/rsm.h; eps = 1e-12, tau = temperature). Raw points x_p (track
// rows p, object i(p)) and y_q (detection rows q, object j(q)); unit points t_p = x_p / max(||x_p||, eps), d_q alike;
// A = T D^T; Wtd = row softmax of A / tau (over all q), Wdt = column softmax (over all p). For a pair (i, j):
//   a  = sum_{p in i, q in j} Wtd A                 b  = ||r_td||^2 = sum_{p in i} w_p^T G_j w_p,   G_j = D_j D_j^T
//   a' = sum_{p in i, q in j} Wdt A                 b' = ||r_dt||^2 = sum_{q in j} v_q^T H_i v_q,   H_i = T_i T_i^T
//   c  = ||vec t_i||^2 = sum_{p in i} ||t_p||^2     e  = ||vec d_j||^2
//   s_td = a / (max(sqrt b, eps) max(sqrt c, eps)),  s_dt = a' / (max(sqrt b', eps) max(sqrt e, eps)),
//   out[i, j] = (s_td + s_dt) / 2.
// With g = d loss / d out[i, j], nb = max(sqrt b, eps), nc = max(sqrt c, eps) (the same for the dt direction):
//   ga = g/2 / (nb nc),   gb = [sqrt b >= eps] (-g/2) a / (nb^2 nc) / (2 sqrt b),   gc = [sqrt c >= eps] (-g/2) a / (nb
//   nc^2) / (2 sqrt c)
// (the eps clamps pass gradient only where the norm is >= eps, and a zero norm passes none: torch's clamp_min and
// norm backward, i.e. the reference's autograd). Each entry (p, q) belongs to exactly one pair, so the per-pair
// coefficients spread over the affinity's entries:
//   d a / d Wtd[p,q] = A[p,q]      d b / d Wtd[p,q] = 2 <r_p, d_q> = 2 U[p,q],  U = Wtd blockdiag(G_j)   (td)
//   d a'/ d Wdt[p,q] = A[p,q]      d b'/ d Wdt[p,q] = 2 <r'_q, t_p> = 2 V[p,q],  V = blockdiag(H_i) Wdt  (dt)
//   softmax backward:  GA = Wtd (GWtd - rowsum(Wtd GWtd)) / tau + Wdt (GWdt - colsum(Wdt GWdt)) / tau
//                         + ga Wtd + ga' Wdt             (the last two: a and a' also depend on A directly)
//   with GWtd = ga A + 2 gb U,  GWdt = ga' A + 2 gb' V;   then through A = T D^T:  gT = GA D,  gD = GA^T T, plus
//   the reconstructions' own points:  d b / d d_q = 2 sum_{p in i} Wtd[p,q] r_p  =>  gD_j += 2 (sum_i gb_ij W_ij^T
//   W_ij) D_j
//                                     d b'/ d t_p = 2 sum_{q in j} Wdt[p,q] r'_q =>  gT_i += 2 (sum_j gb'_ij W'_ij
//                                     W'_ij^T) T_i
//   (W_ij, W'_ij: the (i, j) blocks of Wtd, Wdt), and the set norms:  gT_p += 2 (sum_j gc_ij) t_p,  gD_q += 2 (sum_i
//   ge_ij) d_q; finally through the normalisation t = x / n, n = max(||x||, eps):
//     gx = gt / n - [||x|| >= eps] <x, gt> x / (n^2 ||x||)      (a zero point gets gt / eps, as in the reference).
// Nothing of size [N, M, P, C] is formed: the state is five [sum P, sum Q] matrices (A, Wtd, Wdt, U -> GA, V -> the
// scaled weights of the last two terms) and per-pair coefficients. The pure-PyTorch twin (the oracle, and the kernel of
// devices without this one) is unitrack_ext/reference/rsm_backward.py.
//
// Every loop writes each output from one task in a fixed order (per-pair and per-column sums included), so results do
// not depend on the thread count; sums over points are in double.
#ifndef UNITRACK_ISA_SKIP

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace rsm_backward {

constexpr double kEps = 1e-12;

// Row and column softmaxes of A / tau ([P, Q], exact exp).
template <typename T>
void softmaxes_impl(const T* A, int64_t P, int64_t Q, double temperature, T* w_td, T* w_dt) {
  if (P == 0 || Q == 0) return;
  const double inv = 1.0 / temperature;
  torch::stable::parallel_for(0, P, 16, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* a = A + p * Q;
      T* w = w_td + p * Q;
      T mx = a[0];
      for (int64_t q = 1; q < Q; ++q) mx = a[q] > mx ? a[q] : mx;
      double sum = 0;
      for (int64_t q = 0; q < Q; ++q) {
        const T e = static_cast<T>(std::exp(static_cast<double>(a[q] - mx) * inv));
        w[q] = e;
        sum += static_cast<double>(e);
      }
      const T r = static_cast<T>(1.0 / sum);
      for (int64_t q = 0; q < Q; ++q) w[q] *= r;
    }
  });
  constexpr int64_t kCols = 64;
  torch::stable::parallel_for(0, (Q + kCols - 1) / kCols, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> mx(static_cast<size_t>(kCols));
    std::vector<double> sum(static_cast<size_t>(kCols));
    for (int64_t c = begin; c < end; ++c) {
      const int64_t q0 = c * kCols, nq = std::min(kCols, Q - q0);
      for (int64_t q = 0; q < nq; ++q) mx[q] = A[q0 + q];
      for (int64_t p = 1; p < P; ++p)
        for (int64_t q = 0; q < nq; ++q) mx[q] = A[p * Q + q0 + q] > mx[q] ? A[p * Q + q0 + q] : mx[q];
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < nq; ++q) {
          const T e = static_cast<T>(std::exp(static_cast<double>(A[p * Q + q0 + q] - mx[q]) * inv));
          w_dt[p * Q + q0 + q] = e;
          sum[q] += static_cast<double>(e);
        }
      for (int64_t q = 0; q < nq; ++q) mx[q] = static_cast<T>(1.0 / sum[q]);  // reuse: the reciprocals
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < nq; ++q) w_dt[p * Q + q0 + q] *= mx[q];
    }
  });
}

// d out / d (a, b, c) of s = a / (max(sqrt b, eps) max(sqrt c, eps)) with d out / d s = g / 2.
inline void pair_coefficients(double g, double a, double b, double c, double& ga, double& gb, double& gc) {
  const double rb = std::sqrt(std::max(b, 0.0)), rc = std::sqrt(std::max(c, 0.0));
  const double nb = std::max(rb, kEps), nc = std::max(rc, kEps), half = g / 2;
  ga = half / (nb * nc);
  gb = rb >= kEps ? -half * a / (nb * nb * nc) / (2 * nb) : 0.0;
  gc = rc >= kEps ? -half * a / (nb * nc * nc) / (2 * nc) : 0.0;
}

// coef [5][N][M] = (ga, gb, ga', gb', ge) per pair; row_t[i] = sum_j gc_ij, row_d[j] = sum_i ge_ij.
template <typename T>
void coefficients_impl(const T* A, const T* w_td, const T* w_dt, const T* U, const T* V, const T* that, const T* dhat,
                       int64_t C, const int64_t* toff, int64_t N, const int64_t* doff, int64_t M, const T* grad,
                       double* coef, double* row_t, double* row_d) {
  const int64_t Q = doff[M], NM = N * M;
  std::vector<double> e(static_cast<size_t>(M));
  for (int64_t j = 0; j < M; ++j) {
    double s = 0;
    for (int64_t q = doff[j]; q < doff[j + 1]; ++q)
      for (int64_t k = 0; k < C; ++k) s += static_cast<double>(dhat[q * C + k]) * static_cast<double>(dhat[q * C + k]);
    e[static_cast<size_t>(j)] = s;
  }
  torch::stable::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double c = 0;
      for (int64_t p = toff[i]; p < toff[i + 1]; ++p)
        for (int64_t k = 0; k < C; ++k)
          c += static_cast<double>(that[p * C + k]) * static_cast<double>(that[p * C + k]);
      double gc_sum = 0;
      for (int64_t j = 0; j < M; ++j) {
        double a = 0, b = 0, a2 = 0, b2 = 0;
        for (int64_t p = toff[i]; p < toff[i + 1]; ++p)
          for (int64_t q = doff[j]; q < doff[j + 1]; ++q) {
            const int64_t o = p * Q + q;
            a += static_cast<double>(w_td[o]) * static_cast<double>(A[o]);
            b += static_cast<double>(w_td[o]) * static_cast<double>(U[o]);
            a2 += static_cast<double>(w_dt[o]) * static_cast<double>(A[o]);
            b2 += static_cast<double>(w_dt[o]) * static_cast<double>(V[o]);
          }
        const double g = static_cast<double>(grad[i * M + j]);
        double ga, gb, gc, ga2, gb2, ge;
        pair_coefficients(g, a, b, c, ga, gb, gc);
        pair_coefficients(g, a2, b2, e[static_cast<size_t>(j)], ga2, gb2, ge);
        const int64_t o = i * M + j;
        coef[o] = ga;
        coef[NM + o] = gb;
        coef[2 * NM + o] = ga2;
        coef[3 * NM + o] = gb2;
        coef[4 * NM + o] = ge;
        gc_sum += gc;
      }
      row_t[i] = gc_sum;
    }
  });
  for (int64_t j = 0; j < M; ++j) {
    double s = 0;
    for (int64_t i = 0; i < N; ++i) s += coef[4 * NM + i * M + j];
    row_d[j] = s;
  }
}

// GA (see the header) into U, in place: U[p, q] is read (GWtd) before the row is overwritten.
template <typename T>
void grad_affinity_impl(const T* A, const T* w_td, const T* w_dt, T* U, const T* V, const double* coef,
                        const int64_t* toff, int64_t N, const int64_t* doff, int64_t M, double temperature) {
  const int64_t P = toff[N], Q = doff[M], NM = N * M;
  if (P == 0 || Q == 0) return;
  const double inv = 1.0 / temperature;
  const double *ga = coef, *gb = coef + NM, *ga2 = coef + 2 * NM, *gb2 = coef + 3 * NM;
  std::vector<int64_t> ti(static_cast<size_t>(P)), dj(static_cast<size_t>(Q));
  for (int64_t i = 0; i < N; ++i) std::fill(ti.begin() + toff[i], ti.begin() + toff[i + 1], i);
  for (int64_t j = 0; j < M; ++j) std::fill(dj.begin() + doff[j], dj.begin() + doff[j + 1], j);
  // kappa[q] = sum_p Wdt[p, q] GWdt[p, q] (column softmax backward), one task per column chunk.
  std::vector<double> kappa(static_cast<size_t>(Q));
  constexpr int64_t kCols = 64;
  torch::stable::parallel_for(0, (Q + kCols - 1) / kCols, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t q0 = c * kCols, q1 = std::min(Q, q0 + kCols);
      for (int64_t q = q0; q < q1; ++q) kappa[static_cast<size_t>(q)] = 0;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t i = ti[static_cast<size_t>(p)];
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t o = p * Q + q, ij = i * M + dj[static_cast<size_t>(q)];
          const double gw = ga2[ij] * static_cast<double>(A[o]) + 2 * gb2[ij] * static_cast<double>(V[o]);
          kappa[static_cast<size_t>(q)] += static_cast<double>(w_dt[o]) * gw;
        }
      }
    }
  });
  torch::stable::parallel_for(0, P, 16, [&](int64_t begin, int64_t end) {
    std::vector<double> gw(static_cast<size_t>(Q));
    for (int64_t p = begin; p < end; ++p) {
      const int64_t i = ti[static_cast<size_t>(p)];
      const T *a = A + p * Q, *wt = w_td + p * Q, *wd = w_dt + p * Q, *v = V + p * Q;
      T* u = U + p * Q;
      double rho = 0;
      for (int64_t j = 0; j < M; ++j) {
        const double ca = ga[i * M + j], cb = 2 * gb[i * M + j];
        for (int64_t q = doff[j]; q < doff[j + 1]; ++q) {
          gw[static_cast<size_t>(q)] = ca * static_cast<double>(a[q]) + cb * static_cast<double>(u[q]);
          rho += static_cast<double>(wt[q]) * gw[static_cast<size_t>(q)];
        }
      }
      for (int64_t j = 0; j < M; ++j) {
        const double ca = ga[i * M + j], ca2 = ga2[i * M + j], cb2 = 2 * gb2[i * M + j];
        for (int64_t q = doff[j]; q < doff[j + 1]; ++q) {
          const double w1 = static_cast<double>(wt[q]), w2 = static_cast<double>(wd[q]);
          const double gw2 = ca2 * static_cast<double>(a[q]) + cb2 * static_cast<double>(v[q]);
          const double g = w1 * (gw[static_cast<size_t>(q)] - rho) * inv + ca * w1 +
                           w2 * (gw2 - kappa[static_cast<size_t>(q)]) * inv + ca2 * w2;
          u[q] = static_cast<T>(g);
        }
      }
    }
  });
}

// out[p, q] = coef[i(p), j(q)] * W[p, q]
template <typename T>
void scale_blocks_impl(const T* W, const double* coef, const int64_t* toff, int64_t N, const int64_t* doff, int64_t M,
                       T* out) {
  const int64_t Q = doff[M];
  torch::stable::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t p = toff[i]; p < toff[i + 1]; ++p)
        for (int64_t j = 0; j < M; ++j) {
          const T c = static_cast<T>(coef[i * M + j]);
          for (int64_t q = doff[j]; q < doff[j + 1]; ++q) out[p * Q + q] = c * W[p * Q + q];
        }
  });
}

// y += alpha * x (n values)
template <typename T>
void add_scaled_impl(const T* x, double alpha, T* y, int64_t n) {
  const T a = static_cast<T>(alpha);
  for (int64_t k = 0; k < n; ++k) y[k] += a * x[k];
}

// out[p] = d/dx_p of x_p / max(||x_p||, eps) applied to g[p] + 2 row_coef[p] unit[p]   (rows of C values)
template <typename T>
void normalize_backward_impl(const T* x, const T* unit, const T* g, const double* row_coef, int64_t n, int64_t C,
                             T* out) {
  torch::stable::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T *xr = x + p * C, *ur = unit + p * C, *gr = g + p * C;
      T* o = out + p * C;
      const double rc = 2 * row_coef[p];
      double ss = 0, dot = 0;
      for (int64_t k = 0; k < C; ++k) {
        const double xv = static_cast<double>(xr[k]);
        const double gv = static_cast<double>(gr[k]) + rc * static_cast<double>(ur[k]);
        ss += xv * xv;
        dot += xv * gv;
      }
      const double nrm = std::sqrt(ss), nn = std::max(nrm, kEps);
      const double radial = nrm >= kEps ? dot / (nn * nn * nn) : 0.0;
      for (int64_t k = 0; k < C; ++k) {
        const double gv = static_cast<double>(gr[k]) + rc * static_cast<double>(ur[k]);
        o[k] = static_cast<T>(gv / nn - radial * static_cast<double>(xr[k]));
      }
    }
  });
}

}  // namespace rsm_backward

extern const RsmBackwardKernels kRsmBackwardKernels;
const RsmBackwardKernels kRsmBackwardKernels = {
    {&rsm_backward::softmaxes_impl<float>, &rsm_backward::coefficients_impl<float>,
     &rsm_backward::grad_affinity_impl<float>, &rsm_backward::scale_blocks_impl<float>,
     &rsm_backward::add_scaled_impl<float>, &rsm_backward::normalize_backward_impl<float>},
    {&rsm_backward::softmaxes_impl<double>, &rsm_backward::coefficients_impl<double>,
     &rsm_backward::grad_affinity_impl<double>, &rsm_backward::scale_blocks_impl<double>,
     &rsm_backward::add_scaled_impl<double>, &rsm_backward::normalize_backward_impl<double>},
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
