// CPU entry points of the unitrack::xcorr backward (issue #16; kernels csrc/cpu/kernels/xcorr_backward.h, checks
// csrc/ops/xcorr_backward_args.h):
//   _xcorr_grad_search(grad [S, Ho, Wo], templ [C, h, w] | [S, C, h, w]) -> d loss / d search [S, C, H, W]
//   _xcorr_grad_templ(search [S, C, H, W], grad [S, Ho, Wo], per_scale) -> d loss / d templ [C, h, w] | [S, C, h, w]
#include "common/checks.h"
#include "common/isa.h"
#include "cpu/kernels/tables.h"
#include "ops/xcorr_backward_args.h"

namespace unitrack {
namespace {

template <typename T>
const cpu::XcorrBackwardFns<T>& fns(const cpu::XcorrBackwardKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

Tensor xcorr_grad_search_cpu(const Tensor& grad, const Tensor& templ) {
  const XcorrGradShape s = xcorr_grad_search_check_args(grad, templ, DeviceType::CPU);
  const cpu::XcorrBackwardKernels& kernels = UNITRACK_SELECT_KERNELS(kXcorrBackwardKernels);
  Tensor out = torch::stable::new_empty(grad, {s.S, s.C, s.H, s.W});
  if (out.numel() == 0) return out;
  const Tensor g = torch::stable::contiguous(grad), t = torch::stable::contiguous(templ);
  UNITRACK_DISPATCH_FLOAT(grad.scalar_type(), "_xcorr_grad_search", [&] {
    fns<scalar_t>(kernels).grad_search(g.const_data_ptr<scalar_t>(), t.const_data_ptr<scalar_t>(),
                                       out.mutable_data_ptr<scalar_t>(), s.S, s.C, s.Ho, s.Wo, s.h, s.w, s.per_scale);
  });
  return out;
}

Tensor xcorr_grad_templ_cpu(const Tensor& search, const Tensor& grad, bool per_scale) {
  const XcorrGradShape s = xcorr_grad_templ_check_args(search, grad, per_scale, DeviceType::CPU);
  const cpu::XcorrBackwardKernels& kernels = UNITRACK_SELECT_KERNELS(kXcorrBackwardKernels);
  Tensor out = per_scale ? torch::stable::new_zeros(search, {s.S, s.C, s.h, s.w})
                         : torch::stable::new_zeros(search, {s.C, s.h, s.w});
  if (out.numel() == 0 || s.S == 0) return out;
  const Tensor x = torch::stable::contiguous(search), g = torch::stable::contiguous(grad);
  UNITRACK_DISPATCH_FLOAT(search.scalar_type(), "_xcorr_grad_templ", [&] {
    fns<scalar_t>(kernels).grad_templ(x.const_data_ptr<scalar_t>(), g.const_data_ptr<scalar_t>(),
                                      out.mutable_data_ptr<scalar_t>(), s.S, s.C, s.H, s.W, s.Ho, s.Wo, s.per_scale);
  });
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("_xcorr_grad_search", TORCH_BOX(&xcorr_grad_search_cpu));
  m.impl("_xcorr_grad_templ", TORCH_BOX(&xcorr_grad_templ_cpu));
}

}  // namespace unitrack
