#pragma once
// Argument checks of unitrack::xcorr, shared by the CPU kernel (csrc/cpu/xcorr.cpp) and the CUDA launcher
// (csrc/cuda/xcorr_cuda.cpp).
#include "common/checks.h"

namespace unitrack {

struct XcorrShape4 {
  int64_t S, C, H, W, h, w;
  bool per_scale;
};

inline XcorrShape4 xcorr_check_args(const Tensor& search, const Tensor& templ, DeviceType device) {
  check_defined(search, "search");
  check_defined(templ, "templ");
  check_dim(search, "search", 4, "[S, C, H, W]");
  check_feature_dtype(search, "search", device);
  check_device(search, "search", device);
  UNITRACK_CHECK(templ.dim() == 3 || templ.dim() == 4,
                 "templ must be a 3-D tensor [C, h, w] or a 4-D tensor "
                 "[S, C, h, w], got shape ",
                 shape_str(templ));
  check_same_dtype(search, "search", templ, "templ");
  check_same_device(templ, "templ", search, "search");
  XcorrShape4 s{search.size(0), search.size(1), search.size(2),  search.size(3),
                templ.size(-2), templ.size(-1), templ.dim() == 4};
  UNITRACK_CHECK(!s.per_scale || templ.size(0) == s.S, "templ has ", templ.size(0), " scales but search has ", s.S);
  UNITRACK_CHECK(templ.size(-3) == s.C, "templ has ", templ.size(-3), " channels but search has ", s.C);
  UNITRACK_CHECK(s.h >= 1 && s.w >= 1, "templ must have a positive spatial size, got ", s.h, "x", s.w);
  UNITRACK_CHECK(s.h <= s.H && s.w <= s.W, "templ (", s.h, "x", s.w, ") must not be larger than search (", s.H, "x",
                 s.W, ")");
  return s;
}

}  // namespace unitrack
