#pragma once
// Argument checks of unitrack::_xcorr_grad_search / _xcorr_grad_templ (issue #16), shared by the CPU kernels
// (csrc/cpu/xcorr_backward.cpp) and any device kernel:
//   _xcorr_grad_search(grad [S, Ho, Wo], templ [C, h, w] | [S, C, h, w]) -> [S, C, Ho+h-1, Wo+w-1]
//   _xcorr_grad_templ(search [S, C, H, W], grad [S, Ho, Wo], per_scale) -> [C, H-Ho+1, W-Wo+1] | [S, C, ...]
#include "common/checks.h"

namespace unitrack {

struct XcorrGradShape {
  int64_t S, C, H, W, Ho, Wo, h, w;
  bool per_scale;
};

inline void xcorr_check_grad(const Tensor& grad, DeviceType device) {
  check_defined(grad, "grad");
  check_dim(grad, "grad", 3, "[S, Ho, Wo]");
  check_float(grad, "grad");
  check_device(grad, "grad", device);
  UNITRACK_CHECK(grad.size(1) >= 1 && grad.size(2) >= 1, "grad must have a positive spatial size, got shape ",
                 shape_str(grad));
}

inline XcorrGradShape xcorr_grad_search_check_args(const Tensor& grad, const Tensor& templ, DeviceType device) {
  xcorr_check_grad(grad, device);
  check_defined(templ, "templ");
  UNITRACK_CHECK(templ.dim() == 3 || templ.dim() == 4,
                 "templ must be a 3-D tensor [C, h, w] or a 4-D tensor "
                 "[S, C, h, w], got shape ",
                 shape_str(templ));
  check_same_dtype(templ, "templ", grad, "grad");
  check_same_device(templ, "templ", grad, "grad");
  const bool per_scale = templ.dim() == 4;
  const int64_t S = grad.size(0), Ho = grad.size(1), Wo = grad.size(2), h = templ.size(-2), w = templ.size(-1);
  UNITRACK_CHECK(!per_scale || templ.size(0) == S, "templ has ", templ.size(0), " scales but grad has ", S);
  UNITRACK_CHECK(h >= 1 && w >= 1, "templ must have a positive spatial size, got ", h, "x", w);
  const int64_t C = templ.size(-3), H = Ho + h - 1, W = Wo + w - 1;
  checked_mul(checked_mul(checked_mul(S, C, "the output size S*C*H*W"), H, "the output size S*C*H*W"), W,
              "the output size S*C*H*W");
  return {S, C, H, W, Ho, Wo, h, w, per_scale};
}

inline XcorrGradShape xcorr_grad_templ_check_args(const Tensor& search, const Tensor& grad, bool per_scale,
                                                  DeviceType device) {
  check_defined(search, "search");
  check_dim(search, "search", 4, "[S, C, H, W]");
  check_float(search, "search");
  check_device(search, "search", device);
  xcorr_check_grad(grad, device);
  check_same_dtype(grad, "grad", search, "search");
  check_same_device(grad, "grad", search, "search");
  const int64_t S = search.size(0), C = search.size(1), H = search.size(2), W = search.size(3);
  const int64_t Ho = grad.size(1), Wo = grad.size(2);
  UNITRACK_CHECK(grad.size(0) == S, "grad has ", grad.size(0), " scales but search has ", S);
  UNITRACK_CHECK(Ho <= H && Wo <= W, "grad (", Ho, "x", Wo, ") must not be larger than search (", H, "x", W, ")");
  return {S, C, H, W, Ho, Wo, H - Ho + 1, W - Wo + 1, per_scale};
}

}  // namespace unitrack
