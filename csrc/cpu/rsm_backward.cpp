// CPU entry point of unitrack::_rsm_backward (issue #16): the closed-form gradient of unitrack::rsm with respect to
// both point sets (derivation: csrc/cpu/kernels/rsm_backward.h). GEMMs go through the dispatcher (BLAS), the
// elementwise and per-pair work through the kernels of the ISA level picked at load time.
//   _rsm_backward(grad [N, M], track_points [sum P, C], track_sizes [N], det_points [sum Q, C], det_sizes [M],
//                 temperature) -> (grad_track_points [sum P, C], grad_det_points [sum Q, C])
#include <tuple>

#include "common/checks.h"
#include "common/isa.h"
#include "cpu/kernels/tables.h"
#include "ops/rsm_backward_args.h"

namespace unitrack {
namespace {

template <typename T>
const cpu::RsmFns<T>& fwd_fns(const cpu::RsmKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}
template <typename T>
const cpu::RsmBackwardFns<T>& bwd_fns(const cpu::RsmBackwardKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

Tensor rows(Tensor x, int64_t begin, int64_t n) {
  return torch::stable::narrow(x, 0, begin, n);
}
Tensor cols(Tensor x, int64_t begin, int64_t n) {
  return torch::stable::narrow(x, 1, begin, n);
}
Tensor t_(const Tensor& x) {
  return torch::stable::transpose(x, 0, 1);
}

std::tuple<Tensor, Tensor> rsm_backward_cpu(const Tensor& grad, const Tensor& track_points, const Tensor& track_sizes,
                                            const Tensor& det_points, const Tensor& det_sizes, double temperature) {
  const RsmOffsets off =
      rsm_backward_check_args(grad, track_points, track_sizes, det_points, det_sizes, temperature, DeviceType::CPU);
  const cpu::RsmKernels& fwd = UNITRACK_SELECT_KERNELS(kRsmKernels);
  const cpu::RsmBackwardKernels& bwd = UNITRACK_SELECT_KERNELS(kRsmBackwardKernels);
  const int64_t N = track_sizes.size(0), M = det_sizes.size(0), C = track_points.size(1);
  const int64_t P = track_points.size(0), Q = det_points.size(0);
  Tensor gx = torch::stable::new_zeros(track_points, {P, C});
  Tensor gy = torch::stable::new_zeros(det_points, {Q, C});
  if (N == 0 || M == 0 || P == 0 || Q == 0 || C == 0) return {gx, gy};  // every similarity is 0, whatever the points
  const Tensor x = torch::stable::contiguous(track_points), y = torch::stable::contiguous(det_points);
  const Tensor g = torch::stable::contiguous(grad);
  Tensor that = torch::stable::new_empty(x, {P, C}), dhat = torch::stable::new_empty(y, {Q, C});
  UNITRACK_DISPATCH_FLOAT(track_points.scalar_type(), "_rsm_backward", [&] {
    const auto& f = fwd_fns<scalar_t>(fwd);
    const auto& b = bwd_fns<scalar_t>(bwd);
    const int64_t bt = f.normalize_rows(x.const_data_ptr<scalar_t>(), P, C, that.mutable_data_ptr<scalar_t>());
    UNITRACK_CHECK(bt < 0, "track_points contains NaN or inf values (row ", bt, ")");
    const int64_t bd = f.normalize_rows(y.const_data_ptr<scalar_t>(), Q, C, dhat.mutable_data_ptr<scalar_t>());
    UNITRACK_CHECK(bd < 0, "det_points contains NaN or inf values (row ", bd, ")");
    const Tensor A = torch::stable::contiguous(torch::stable::matmul(that, t_(dhat)));  // [P, Q]
    Tensor w_td = torch::stable::new_empty(A, {P, Q}), w_dt = torch::stable::new_empty(A, {P, Q});
    b.softmaxes(A.const_data_ptr<scalar_t>(), P, Q, temperature, w_td.mutable_data_ptr<scalar_t>(),
                w_dt.mutable_data_ptr<scalar_t>());
    // U = Wtd blockdiag(G_j) and V = blockdiag(H_i) Wdt, block by block.
    Tensor U = torch::stable::new_empty(A, {P, Q}), V = torch::stable::new_empty(A, {P, Q});
    for (int64_t j = 0; j < M; ++j) {
      const int64_t q0 = off.doff[j], nq = off.doff[j + 1] - q0;
      if (nq == 0) continue;
      const Tensor Dj = rows(dhat, q0, nq);
      Tensor dst = cols(U, q0, nq);
      torch::stable::copy_(dst, torch::stable::matmul(cols(w_td, q0, nq), torch::stable::matmul(Dj, t_(Dj))));
    }
    for (int64_t i = 0; i < N; ++i) {
      const int64_t p0 = off.toff[i], np = off.toff[i + 1] - p0;
      if (np == 0) continue;
      const Tensor Ti = rows(that, p0, np);
      Tensor dst = rows(V, p0, np);
      torch::stable::copy_(dst, torch::stable::matmul(torch::stable::matmul(Ti, t_(Ti)), rows(w_dt, p0, np)));
    }
    std::vector<double> coef(static_cast<size_t>(5 * N * M)), row_t(static_cast<size_t>(N)),
        row_d(static_cast<size_t>(M));
    b.coefficients(A.const_data_ptr<scalar_t>(), w_td.const_data_ptr<scalar_t>(), w_dt.const_data_ptr<scalar_t>(),
                   U.const_data_ptr<scalar_t>(), V.const_data_ptr<scalar_t>(), that.const_data_ptr<scalar_t>(),
                   dhat.const_data_ptr<scalar_t>(), C, off.toff.data(), N, off.doff.data(), M,
                   g.const_data_ptr<scalar_t>(), coef.data(), row_t.data(), row_d.data());
    b.grad_affinity(A.const_data_ptr<scalar_t>(), w_td.const_data_ptr<scalar_t>(), w_dt.const_data_ptr<scalar_t>(),
                    U.mutable_data_ptr<scalar_t>(), V.const_data_ptr<scalar_t>(), coef.data(), off.toff.data(), N,
                    off.doff.data(), M, temperature);
    const Tensor& GA = U;
    Tensor gt = torch::stable::contiguous(torch::stable::matmul(GA, dhat));      // [P, C]
    Tensor gd = torch::stable::contiguous(torch::stable::matmul(t_(GA), that));  // [Q, C]
    // The reconstructions' own points: gD_j += 2 (Z_j^T Wtd_j) D_j with Z = gb * Wtd, gT_i += 2 (Z'_i Wdt_i^T) T_i
    // with Z' = gb' * Wdt (Z and Z' in V's storage, which is no longer needed).
    const int64_t NM = N * M;
    Tensor& Z = V;
    b.scale_blocks(w_td.const_data_ptr<scalar_t>(), coef.data() + NM, off.toff.data(), N, off.doff.data(), M,
                   Z.mutable_data_ptr<scalar_t>());
    for (int64_t j = 0; j < M; ++j) {
      const int64_t q0 = off.doff[j], nq = off.doff[j + 1] - q0;
      if (nq == 0) continue;
      const Tensor Kj = torch::stable::matmul(t_(cols(Z, q0, nq)), cols(w_td, q0, nq));
      const Tensor R = torch::stable::contiguous(torch::stable::matmul(Kj, rows(dhat, q0, nq)));
      b.add_scaled(R.const_data_ptr<scalar_t>(), 2.0, gd.mutable_data_ptr<scalar_t>() + q0 * C, nq * C);
    }
    b.scale_blocks(w_dt.const_data_ptr<scalar_t>(), coef.data() + 3 * NM, off.toff.data(), N, off.doff.data(), M,
                   Z.mutable_data_ptr<scalar_t>());
    for (int64_t i = 0; i < N; ++i) {
      const int64_t p0 = off.toff[i], np = off.toff[i + 1] - p0;
      if (np == 0) continue;
      const Tensor Ki = torch::stable::matmul(rows(Z, p0, np), t_(rows(w_dt, p0, np)));
      const Tensor R = torch::stable::contiguous(torch::stable::matmul(Ki, rows(that, p0, np)));
      b.add_scaled(R.const_data_ptr<scalar_t>(), 2.0, gt.mutable_data_ptr<scalar_t>() + p0 * C, np * C);
    }
    // The set norms' terms (per row) and the normalisation's backward.
    std::vector<double> per_row(static_cast<size_t>(std::max(P, Q)));
    for (int64_t i = 0; i < N; ++i)
      std::fill(per_row.begin() + off.toff[i], per_row.begin() + off.toff[i + 1], row_t[i]);
    b.normalize_backward(x.const_data_ptr<scalar_t>(), that.const_data_ptr<scalar_t>(), gt.const_data_ptr<scalar_t>(),
                         per_row.data(), P, C, gx.mutable_data_ptr<scalar_t>());
    for (int64_t j = 0; j < M; ++j)
      std::fill(per_row.begin() + off.doff[j], per_row.begin() + off.doff[j + 1], row_d[j]);
    b.normalize_backward(y.const_data_ptr<scalar_t>(), dhat.const_data_ptr<scalar_t>(), gd.const_data_ptr<scalar_t>(),
                         per_row.data(), Q, C, gy.mutable_data_ptr<scalar_t>());
  });
  return {gx, gy};
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("_rsm_backward", TORCH_BOX(&rsm_backward_cpu));
}

}  // namespace unitrack
