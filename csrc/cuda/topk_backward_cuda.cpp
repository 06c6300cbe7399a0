// CUDA launchers of the top-K selection primitives behind the topk backward (issue #16; convention: csrc/cuda/launch.h;
// checks: csrc/ops/topk_backward_args.h; semantics: csrc/cpu/topk_backward.cpp).
// NOT YET RUN ON A GPU: type-checked by `make cuda-check` only (see the README).
#include <limits>

#include "common/aten.h"
#include "cuda/launch.h"
#include "cuda/topk_backward_kernel.h"
#include "cuda/topk_propagate_kernel.h"
#include "ops/topk_backward_args.h"

namespace unitrack {
namespace {

// Every index a candidate in [0, T*HW) (a bad one would read or write out of bounds); one min and one max on the
// device, read on the host.
void check_index_range_cuda(const Tensor& idx, int64_t T, int64_t HW) {
  if (idx.numel() == 0) return;
  const torch::stable::Device cpu(DeviceType::CPU);
  const Tensor lo = torch::stable::to(aten::call("aten::min", "", idx), cpu);
  const Tensor hi = torch::stable::to(aten::call("aten::max", "", idx), cpu);
  const int64_t mn = *lo.const_data_ptr<int64_t>(), mx = *hi.const_data_ptr<int64_t>();
  UNITRACK_CHECK(mn >= 0 && mx < T * HW, "indices must be candidates t*H*W + y*W + x in [0, T*H*W) = [0, ", T * HW,
                 "), got values in [", mn, ", ", mx, "]");
}

void check_grid(int64_t total, const char* what) {
  UNITRACK_CHECK(total / 256 < std::numeric_limits<int32_t>::max(), what, " (CUDA): too many elements (", total, ")");
}

Tensor topk_gather_cuda(const Tensor& weights, const Tensor& indices, const Tensor& src) {
  const TopkSelShape s = topk_gather_check_args(weights, indices, src, DeviceType::CUDA);
  const cuda::DeviceGuard guard(weights.get_device_index());
  Tensor out = torch::stable::new_zeros(src, {s.B, s.X, s.H, s.W});
  if (out.numel() == 0 || s.K == 0) return out;
  check_grid(s.B * s.HW, "_topk_gather");
  check_index_range_cuda(indices, s.T, s.HW);
  const Tensor w = torch::stable::contiguous(weights), i = torch::stable::contiguous(indices);
  const Tensor x = torch::stable::contiguous(src);
  const cudaStream_t stream = cuda::current_stream(weights.get_device_index());
  UNITRACK_DISPATCH_FLOAT(weights.scalar_type(), "_topk_gather", [&] {
    UNITRACK_CUDA_CHECK("_topk_gather",
                        cuda::launch_topk_gather<scalar_t>(
                            w.const_data_ptr<scalar_t>(), i.const_data_ptr<int64_t>(), x.const_data_ptr<scalar_t>(),
                            out.mutable_data_ptr<scalar_t>(), s.B, s.T, s.X, s.HW, s.K, stream));
  });
  return out;
}

Tensor topk_gather_dot_cuda(const Tensor& grad, const Tensor& indices, const Tensor& src) {
  const TopkSelShape s = topk_gather_dot_check_args(grad, indices, src, DeviceType::CUDA);
  const cuda::DeviceGuard guard(grad.get_device_index());
  Tensor out = torch::stable::new_zeros(grad, {s.B, s.K, s.HW});
  if (out.numel() == 0) return out;
  check_grid(s.B * s.K * s.HW, "_topk_gather_dot");
  check_index_range_cuda(indices, s.T, s.HW);
  const Tensor g = torch::stable::contiguous(grad), i = torch::stable::contiguous(indices);
  const Tensor x = torch::stable::contiguous(src);
  const cudaStream_t stream = cuda::current_stream(grad.get_device_index());
  UNITRACK_DISPATCH_FLOAT(grad.scalar_type(), "_topk_gather_dot", [&] {
    UNITRACK_CUDA_CHECK("_topk_gather_dot",
                        cuda::launch_topk_gather_dot<scalar_t>(
                            g.const_data_ptr<scalar_t>(), i.const_data_ptr<int64_t>(), x.const_data_ptr<scalar_t>(),
                            out.mutable_data_ptr<scalar_t>(), s.B, s.T, s.X, s.HW, s.K, stream));
  });
  return out;
}

Tensor topk_scatter_cuda(const Tensor& weights, const Tensor& indices, const Tensor& grad, int64_t T) {
  const TopkSelShape s = topk_scatter_check_args(weights, indices, grad, T, DeviceType::CUDA);
  const cuda::DeviceGuard guard(weights.get_device_index());
  Tensor out = torch::stable::new_zeros(grad, {s.B, s.T, s.X, s.H, s.W});
  if (out.numel() == 0 || s.K == 0) return out;
  check_grid(s.B * s.X * s.HW, "_topk_scatter");
  check_index_range_cuda(indices, s.T, s.HW);
  const Tensor w = torch::stable::contiguous(weights), i = torch::stable::contiguous(indices);
  const Tensor g = torch::stable::contiguous(grad);
  const cudaStream_t stream = cuda::current_stream(weights.get_device_index());
  UNITRACK_DISPATCH_FLOAT(weights.scalar_type(), "_topk_scatter", [&] {
    UNITRACK_CUDA_CHECK("_topk_scatter",
                        cuda::launch_topk_scatter<scalar_t>(
                            w.const_data_ptr<scalar_t>(), i.const_data_ptr<int64_t>(), g.const_data_ptr<scalar_t>(),
                            out.mutable_data_ptr<scalar_t>(), s.B, s.T, s.X, s.HW, s.K, stream));
  });
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CUDA, m) {
  m.impl("_topk_gather", TORCH_BOX(&topk_gather_cuda));
  m.impl("_topk_gather_dot", TORCH_BOX(&topk_gather_dot_cuda));
  m.impl("_topk_scatter", TORCH_BOX(&topk_scatter_cuda));
}

}  // namespace unitrack
