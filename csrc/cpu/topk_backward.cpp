// CPU entry points of the top-K selection primitives behind the backward of unitrack::topk_affinity /
// unitrack::topk_propagate (issue #16; the autograd formulas are in unitrack_ext/_autograd.py):
//   _topk_gather(weights, indices, src)      out[b, x, n] = sum_k weights[b, k, n] src[b, t, x, mm]
//   _topk_gather_dot(grad, indices, src)     out[b, k, n] = sum_x grad[b, x, n] src[b, t, x, mm]
//   _topk_scatter(weights, indices, grad, T) out[b, t, x, mm] = sum_{(k, n) -> (t, mm)} weights[b, k, n] grad[b, x, n]
// where indices[b, k, n] = t*H*W + mm. Checks: csrc/ops/topk_backward_args.h; kernels: the forward table's
// `propagate` (gather) and csrc/cpu/kernels/topk_backward.h, at the ISA level picked at load time.
#include "common/checks.h"
#include "common/isa.h"
#include "cpu/kernels/tables.h"
#include "ops/topk_backward_args.h"

namespace unitrack {
namespace {

template <typename T>
const cpu::TopkFns<T>& fwd_fns(const cpu::TopkKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}
template <typename T>
const cpu::TopkBackwardFns<T>& bwd_fns(const cpu::TopkBackwardKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

// Every index must be a candidate of the T memory frames: a bad one would read or write out of bounds.
void check_index_range(const Tensor& idx, int64_t T, int64_t HW) {
  const int64_t n = idx.numel(), limit = T * HW;
  const int64_t* p = idx.const_data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    UNITRACK_CHECK(p[i] >= 0 && p[i] < limit, "indices must be candidates t*H*W + y*W + x in [0, T*H*W) = [0, ", limit,
                   "), got ", p[i], " at flat position ", i);
  }
}

Tensor topk_gather_cpu(const Tensor& weights, const Tensor& indices, const Tensor& src) {
  const TopkSelShape s = topk_gather_check_args(weights, indices, src, DeviceType::CPU);
  const cpu::TopkKernels& kernels = UNITRACK_SELECT_KERNELS(kTopkKernels);
  Tensor out = torch::stable::new_zeros(src, {s.B, s.X, s.H, s.W});
  if (out.numel() == 0 || s.K == 0) return out;
  const Tensor w = torch::stable::contiguous(weights), i = torch::stable::contiguous(indices);
  const Tensor x = torch::stable::contiguous(src);
  check_index_range(i, s.T, s.HW);
  UNITRACK_DISPATCH_FLOAT(weights.scalar_type(), "_topk_gather", [&] {
    fwd_fns<scalar_t>(kernels).propagate(w.const_data_ptr<scalar_t>(), i.const_data_ptr<int64_t>(),
                                         x.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), s.B, s.T, s.X,
                                         s.HW, s.K);
  });
  return out;
}

Tensor topk_gather_dot_cpu(const Tensor& grad, const Tensor& indices, const Tensor& src) {
  const TopkSelShape s = topk_gather_dot_check_args(grad, indices, src, DeviceType::CPU);
  const cpu::TopkBackwardKernels& kernels = UNITRACK_SELECT_KERNELS(kTopkBackwardKernels);
  Tensor out = torch::stable::new_zeros(grad, {s.B, s.K, s.HW});
  if (out.numel() == 0) return out;
  const Tensor g = torch::stable::contiguous(grad), i = torch::stable::contiguous(indices);
  const Tensor x = torch::stable::contiguous(src);
  check_index_range(i, s.T, s.HW);
  UNITRACK_DISPATCH_FLOAT(grad.scalar_type(), "_topk_gather_dot", [&] {
    bwd_fns<scalar_t>(kernels).gather_dot(g.const_data_ptr<scalar_t>(), i.const_data_ptr<int64_t>(),
                                          x.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), s.B, s.T, s.X,
                                          s.HW, s.K);
  });
  return out;
}

Tensor topk_scatter_cpu(const Tensor& weights, const Tensor& indices, const Tensor& grad, int64_t T) {
  const TopkSelShape s = topk_scatter_check_args(weights, indices, grad, T, DeviceType::CPU);
  const cpu::TopkBackwardKernels& kernels = UNITRACK_SELECT_KERNELS(kTopkBackwardKernels);
  Tensor out = torch::stable::new_empty(grad, {s.B, s.T, s.X, s.H, s.W});
  if (out.numel() == 0) return out;
  const Tensor w = torch::stable::contiguous(weights), i = torch::stable::contiguous(indices);
  const Tensor g = torch::stable::contiguous(grad);
  check_index_range(i, s.T, s.HW);
  UNITRACK_DISPATCH_FLOAT(weights.scalar_type(), "_topk_scatter", [&] {
    bwd_fns<scalar_t>(kernels).scatter(w.const_data_ptr<scalar_t>(), i.const_data_ptr<int64_t>(),
                                       g.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), s.B, s.T, s.X,
                                       s.HW, s.K);
  });
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("_topk_gather", TORCH_BOX(&topk_gather_cpu));
  m.impl("_topk_gather_dot", TORCH_BOX(&topk_gather_dot_cpu));
  m.impl("_topk_scatter", TORCH_BOX(&topk_scatter_cpu));
}

}  // namespace unitrack
