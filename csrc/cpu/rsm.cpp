// CPU entry point of unitrack::rsm: argument checks (csrc/ops/rsm_args.h), then the kernels of the ISA level picked at
// load time: unit points, their affinity (one GEMM in a fixed reduction order, csrc/cpu/kernels/gemm.h) and the
// similarity (csrc/cpu/kernels/rsm.h).
#include "common/checks.h"
#include "common/isa.h"
#include "cpu/kernels/tables.h"
#include "ops/rsm_args.h"

namespace unitrack {
namespace {

template <typename T>
const cpu::RsmFns<T>& fns(const cpu::RsmKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

Tensor rsm_cpu(const Tensor& track_points, const Tensor& track_sizes, const Tensor& det_points, const Tensor& det_sizes,
               double temperature) {
  const RsmOffsets off = rsm_check_args(track_points, track_sizes, det_points, det_sizes, temperature, DeviceType::CPU);
  const cpu::RsmKernels& kernels = UNITRACK_SELECT_KERNELS(kRsmKernels);
  const int64_t N = track_sizes.size(0), M = det_sizes.size(0), C = track_points.size(1);
  // bfloat16 points are widened to float32 and everything runs in float32: the temperature (0.01) multiplies affinity
  // errors by 100, so the normalisation, the GEMM and the quadratic forms stay float32 (README, "bfloat16").
  const ScalarType dt = output_dtype(track_points.scalar_type());
  const Tensor tp =
      torch::stable::contiguous(dt == track_points.scalar_type() ? track_points : torch::stable::to(track_points, dt));
  const Tensor dp =
      torch::stable::contiguous(dt == det_points.scalar_type() ? det_points : torch::stable::to(det_points, dt));
  Tensor out = torch::stable::new_zeros(tp, {N, M});
  Tensor that = torch::stable::new_empty(tp, {tp.size(0), C}), dhat = torch::stable::new_empty(dp, {dp.size(0), C});
  UNITRACK_DISPATCH_FLOAT(dt, "rsm", [&] {
    const auto& f = fns<scalar_t>(kernels);
    // Unit points v / max(||v||, 1e-12) (the reference's expression; the norm is summed in double, so a point may
    // differ from torch's float norm in the last bit), with the finiteness check in the same pass.
    const int64_t bt =
        f.normalize_rows(tp.const_data_ptr<scalar_t>(), tp.size(0), C, that.mutable_data_ptr<scalar_t>());
    UNITRACK_CHECK(bt < 0, "track_points contains NaN or inf values (row ", bt, ")");
    const int64_t bd =
        f.normalize_rows(dp.const_data_ptr<scalar_t>(), dp.size(0), C, dhat.mutable_data_ptr<scalar_t>());
    UNITRACK_CHECK(bd < 0, "det_points contains NaN or inf values (row ", bd, ")");
    if (N == 0 || M == 0 || that.size(0) == 0 || dhat.size(0) == 0) return;  // all similarities 0
    Tensor A = torch::stable::new_empty(that, {that.size(0), dhat.size(0)});
    f.affinity(that.const_data_ptr<scalar_t>(), that.size(0), dhat.const_data_ptr<scalar_t>(), dhat.size(0), C,
               A.mutable_data_ptr<scalar_t>());
    f.similarity(A.const_data_ptr<scalar_t>(), that.const_data_ptr<scalar_t>(), dhat.const_data_ptr<scalar_t>(), C,
                 off.toff.data(), N, off.doff.data(), M, temperature, out.mutable_data_ptr<scalar_t>());
  });
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("rsm", TORCH_BOX(&rsm_cpu));
}

}  // namespace unitrack
