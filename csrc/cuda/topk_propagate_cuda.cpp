// CUDA launcher of unitrack::topk_affinity / unitrack::topk_propagate (stable ABI; convention: csrc/cuda/launch.h):
// checks (ops/topk_propagate_args.h), allocation, the raw kernels of topk_propagate_kernel.cu on the current stream.
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "common/aten.h"
#include "cuda/launch.h"
#include "cuda/topk_propagate_kernel.h"
#include "ops/topk_propagate_args.h"

namespace unitrack {
namespace {

// The selected weights and indices, without the NaN policy (topk_propagate gathers with these indices, which are
// valid candidates whatever the input values).
std::tuple<Tensor, Tensor> affinity(const Tensor& query, const Tensor& keys, int64_t K, double temperature,
                                    double radius, int64_t n_global) {
  const int64_t B = query.size(0), C = query.size(1), H = query.size(2), W = query.size(3), T = keys.size(1);
  UNITRACK_CHECK(T * H * W < std::numeric_limits<int32_t>::max() && C < std::numeric_limits<int32_t>::max(),
                 "topk_affinity (CUDA): T*H*W and C must fit in int32, got keys of shape ", shape_str(keys));
  const cuda::DeviceGuard guard(query.get_device_index());
  std::vector<int64_t> table;
  cuda::TopkParams p;
  p.B = B;
  p.T = T;
  p.C = C;
  p.H = H;
  p.W = W;
  p.K = K;
  p.n_global = n_global;
  p.restricted = radius > 0;
  p.maxdy = static_cast<int>(topk_radius_table(H, W, radius, table));
  p.temperature = temperature;
  // The radius table as int32 on the device.
  Tensor hw_cpu = torch::stable::empty({static_cast<int64_t>(table.size())}, kInt, std::nullopt,
                                       torch::stable::Device(DeviceType::CPU));
  int32_t* hp = hw_cpu.mutable_data_ptr<int32_t>();
  for (size_t d = 0; d < table.size(); ++d) hp[d] = static_cast<int32_t>(table[d]);
  const Tensor hw = torch::stable::to(hw_cpu, query.device());
  // bfloat16/float16: widened to float32 for the float32 kernel (float32 weights).
  const Tensor q = torch::stable::contiguous(widen_low_precision(query));
  const Tensor k = torch::stable::contiguous(widen_low_precision(keys));
  Tensor weights = torch::stable::new_empty(q, {B, K, H * W});
  Tensor indices = torch::stable::new_empty(q, {B, K, H * W}, kLong);
  const cudaStream_t stream = cuda::current_stream(query.get_device_index());
  UNITRACK_DISPATCH_FLOAT(q.scalar_type(), "topk_affinity", [&] {
    UNITRACK_CUDA_CHECK("topk_affinity",
                        cuda::launch_topk_affinity<scalar_t>(
                            q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(), hw.const_data_ptr<int32_t>(), p,
                            weights.mutable_data_ptr<scalar_t>(), indices.mutable_data_ptr<int64_t>(), stream));
  });
  return {weights, indices};
}

// The NaN/inf policy on CUDA (README, "NaN and inf"): raising would need a device-to-host sync, so the check stays on
// the device (ok: a 0-dim bool there) and a non-finite input makes every weight and output value NaN.
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::tuple<Tensor, Tensor> topk_affinity_cuda(const Tensor& query, const Tensor& keys, int64_t topk, double temperature,
                                              double radius, int64_t n_global) {
  const int64_t K = topk_check_args(query, keys, nullptr, topk, temperature, radius, n_global, DeviceType::CUDA);
  const cuda::DeviceGuard guard(query.get_device_index());
  const Tensor ok = aten::logical_and(aten::all_finite(query), aten::all_finite(keys));
  auto [weights, indices] = affinity(query, keys, K, temperature, radius, n_global);
  return {aten::where_scalar(ok, weights, kNaN), indices};
}

Tensor topk_propagate_cuda(const Tensor& query, const Tensor& keys, const Tensor& labels, int64_t topk,
                           double temperature, double radius, int64_t n_global) {
  const int64_t K = topk_check_args(query, keys, &labels, topk, temperature, radius, n_global, DeviceType::CUDA);
  const cuda::DeviceGuard guard(query.get_device_index());
  const Tensor ok =
      aten::logical_and(aten::logical_and(aten::all_finite(query), aten::all_finite(keys)), aten::all_finite(labels));
  auto [weights, indices] = affinity(query, keys, K, temperature, radius, n_global);
  const int64_t B = query.size(0), H = query.size(2), W = query.size(3), T = keys.size(1), L = labels.size(2);
  const Tensor lab = torch::stable::contiguous(widen_low_precision(labels));  // float32 with low-precision features
  Tensor out = torch::stable::new_empty(lab, {B, L, H, W});
  const cudaStream_t stream = cuda::current_stream(query.get_device_index());
  UNITRACK_DISPATCH_FLOAT(weights.scalar_type(), "topk_propagate", [&] {
    UNITRACK_CUDA_CHECK("topk_propagate", cuda::launch_topk_gather<scalar_t>(
                                              weights.const_data_ptr<scalar_t>(), indices.const_data_ptr<int64_t>(),
                                              lab.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), B, T, L,
                                              H * W, weights.size(1), stream));
  });
  return aten::where_scalar(ok, out, kNaN);
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CUDA, m) {
  m.impl("topk_propagate", TORCH_BOX(&topk_propagate_cuda));
  m.impl("topk_affinity", TORCH_BOX(&topk_affinity_cuda));
}

}  // namespace unitrack
