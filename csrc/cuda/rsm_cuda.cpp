// CUDA launcher of unitrack::rsm (stable ABI; convention: csrc/cuda/launch.h): checks (ops/rsm_args.h), the
// normalisation, the affinity GEMM (cuBLAS) and both softmaxes through the dispatcher, then the Gram blocks and
// per-pair quadratic forms of csrc/cuda/rsm_kernel.cu.
#include <cmath>
#include <limits>
#include <vector>

#include "common/aten.h"
#include "cuda/launch.h"
#include "cuda/rsm_kernel.h"
#include "ops/rsm_args.h"

namespace unitrack {
namespace {

std::vector<int64_t> gram_offsets(const std::vector<int64_t>& off) {
  std::vector<int64_t> g(off.size(), 0);
  for (size_t k = 0; k + 1 < off.size(); ++k) {
    const int64_t P = off[k + 1] - off[k];
    UNITRACK_CHECK(!__builtin_add_overflow(g[k], checked_mul(P, P, "an object's Gram block P*P"), &g[k + 1]),
                   "rsm (CUDA): the Gram blocks do not fit in a 64-bit index");
  }
  return g;
}

Tensor to_device(const std::vector<int64_t>& v, const Tensor& like) {
  Tensor t = torch::stable::empty({static_cast<int64_t>(v.size())}, kLong, std::nullopt,
                                  torch::stable::Device(DeviceType::CPU));
  int64_t* p = t.mutable_data_ptr<int64_t>();
  for (size_t k = 0; k < v.size(); ++k) p[k] = v[k];
  return torch::stable::to(t, like.device());
}

Tensor unit_rows(const Tensor& x) {  // x / max(||x||, 1e-12), row-wise
  return torch::stable::contiguous(aten::div(x, aten::clamp_min(aten::row_norms(x), 1e-12)));
}

Tensor rsm_cuda(const Tensor& track_points, const Tensor& track_sizes, const Tensor& det_points,
                const Tensor& det_sizes, double temperature) {
  const RsmOffsets off =
      rsm_check_args(track_points, track_sizes, det_points, det_sizes, temperature, DeviceType::CUDA);
  const std::vector<int64_t>& toff = off.toff;
  const std::vector<int64_t>& doff = off.doff;
  const int64_t N = track_sizes.size(0), M = det_sizes.size(0);
  const cuda::DeviceGuard guard(track_points.get_device_index());
  // The NaN/inf policy on CUDA (README, "NaN and inf"): raising would need a device-to-host sync, so the check stays
  // on the device and a non-finite point makes the whole result NaN (never finite numbers from non-finite input).
  const Tensor ok = aten::logical_and(aten::all_finite(track_points), aten::all_finite(det_points));
  // bfloat16/float16 points: widened to float32, everything in float32 (as on the CPU; float32 out).
  const Tensor tp = widen_low_precision(track_points), dp = widen_low_precision(det_points);
  Tensor out = torch::stable::new_zeros(tp, {N, M});
  if (N == 0 || M == 0) return out;

  const Tensor that = unit_rows(tp), dhat = unit_rows(dp);
  Tensor dhat_t = dhat;
  const Tensor A = torch::stable::contiguous(torch::stable::matmul(that, torch::stable::transpose(dhat_t, 0, 1)));
  const Tensor logits = aten::div_scalar(A, temperature);
  const Tensor Wtd = torch::stable::contiguous(aten::softmax(logits, 1));
  const Tensor Wdt = torch::stable::contiguous(aten::softmax(logits, 0));

  const auto tgoff = gram_offsets(toff), dgoff = gram_offsets(doff);
  const Tensor toff_d = to_device(toff, track_points), doff_d = to_device(doff, track_points);
  const Tensor tgoff_d = to_device(tgoff, track_points), dgoff_d = to_device(dgoff, track_points);
  Tensor H = torch::stable::new_empty(track_points, {tgoff.back()}, kDouble);
  Tensor G = torch::stable::new_empty(track_points, {dgoff.back()}, kDouble);
  Tensor ttr = torch::stable::new_empty(track_points, {N}, kDouble),
         dtr = torch::stable::new_empty(track_points, {M}, kDouble);
  const int64_t C = that.size(1), SQ = dhat.size(0);
  const cudaStream_t stream = cuda::current_stream(track_points.get_device_index());

  UNITRACK_DISPATCH_FLOAT(tp.scalar_type(), "rsm", [&] {
    UNITRACK_CUDA_CHECK(
        "rsm", cuda::launch_rsm_gram<scalar_t>(that.const_data_ptr<scalar_t>(), C, toff_d.const_data_ptr<int64_t>(),
                                               tgoff_d.const_data_ptr<int64_t>(), N, H.mutable_data_ptr<double>(),
                                               ttr.mutable_data_ptr<double>(), stream));
    UNITRACK_CUDA_CHECK(
        "rsm", cuda::launch_rsm_gram<scalar_t>(dhat.const_data_ptr<scalar_t>(), C, doff_d.const_data_ptr<int64_t>(),
                                               dgoff_d.const_data_ptr<int64_t>(), M, G.mutable_data_ptr<double>(),
                                               dtr.mutable_data_ptr<double>(), stream));
    UNITRACK_CUDA_CHECK(
        "rsm", cuda::launch_rsm_pairs<scalar_t>(
                   A.const_data_ptr<scalar_t>(), Wtd.const_data_ptr<scalar_t>(), Wdt.const_data_ptr<scalar_t>(), SQ,
                   toff_d.const_data_ptr<int64_t>(), doff_d.const_data_ptr<int64_t>(), H.const_data_ptr<double>(),
                   tgoff_d.const_data_ptr<int64_t>(), G.const_data_ptr<double>(), dgoff_d.const_data_ptr<int64_t>(),
                   ttr.const_data_ptr<double>(), dtr.const_data_ptr<double>(), N, M, out.mutable_data_ptr<scalar_t>(),
                   stream));
  });
  return aten::where_scalar(ok, out, std::numeric_limits<double>::quiet_NaN());
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CUDA, m) {
  m.impl("rsm", TORCH_BOX(&rsm_cuda));
}

}  // namespace unitrack
