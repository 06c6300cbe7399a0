#pragma once
// Argument checks of the top-K selection primitives behind the topk backward (issue #16), shared by the CPU kernels
// (csrc/cpu/topk_backward.cpp) and the CUDA launcher (csrc/cuda/topk_backward_cuda.cpp):
//   _topk_gather(weights [B, K, HW], indices [B, K, HW], src [B, T, X, H, W])      -> [B, X, H, W]
//   _topk_gather_dot(grad [B, X, H, W], indices [B, K, HW], src [B, T, X, H, W])   -> [B, K, HW]
//   _topk_scatter(weights [B, K, HW], indices [B, K, HW], grad [B, X, H, W], T)    -> [B, T, X, H, W]
// with HW = H * W and every index a candidate t*HW + y*W + x in [0, T*HW) (checked on the data by the entry points:
// topk_check_index_range, since a bad index would read or write out of bounds).
#include "common/checks.h"

namespace unitrack {

struct TopkSelShape {
  int64_t B, K, HW, T, X, H, W;
};

// The selection pair: `coef` [B, K, HW] float and indices [B, K, HW] int64 of the same shape.
inline void topk_check_selection(const Tensor& coef, const char* coef_name, const Tensor& indices, DeviceType device) {
  check_defined(coef, coef_name);
  check_defined(indices, "indices");
  check_dim(coef, coef_name, 3, "[B, K, H*W]");
  check_float(coef, coef_name);
  check_device(coef, coef_name, device);
  check_dim(indices, "indices", 3, "[B, K, H*W]");
  UNITRACK_CHECK(indices.scalar_type() == kLong, "indices must be an int64 tensor [B, K, H*W], got ",
                 dtype_name(indices.scalar_type()));
  check_same_device(indices, "indices", coef, coef_name);
  UNITRACK_CHECK(indices.size(0) == coef.size(0) && indices.size(1) == coef.size(1) && indices.size(2) == coef.size(2),
                 "indices must have the shape of ", coef_name, " ", shape_str(coef), ", got ", shape_str(indices));
}

// A map `x` [B, X, H, W] (the propagated labels' shape) of the selection's batch and H*W.
inline void topk_check_map(const Tensor& x, const char* name, const Tensor& like, const char* like_name, int64_t B,
                           int64_t HW) {
  check_defined(x, name);
  check_dim(x, name, 4, "[B, X, H, W]");
  check_same_dtype(x, name, like, like_name);
  check_same_device(x, name, like, like_name);
  UNITRACK_CHECK(x.size(0) == B, name, " has batch size ", x.size(0), " but ", like_name, " has ", B);
  UNITRACK_CHECK(checked_mul(x.size(2), x.size(3), "H*W") == HW, name, " is ", x.size(2), "x", x.size(3),
                 " but the selection has H*W = ", HW, " columns");
}

// _topk_gather and _topk_gather_dot: src [B, T, X, H, W] (T >= 1) of the selection's batch and H*W.
inline TopkSelShape topk_check_src(const Tensor& src, const Tensor& like, const char* like_name, int64_t B, int64_t K,
                                   int64_t HW) {
  check_defined(src, "src");
  check_dim(src, "src", 5, "[B, T, X, H, W]");
  check_same_dtype(src, "src", like, like_name);
  check_same_device(src, "src", like, like_name);
  UNITRACK_CHECK(src.size(0) == B, "src has batch size ", src.size(0), " but ", like_name, " has ", B);
  UNITRACK_CHECK(src.size(1) >= 1, "src must hold at least one memory frame (T >= 1), got shape ", shape_str(src));
  UNITRACK_CHECK(checked_mul(src.size(3), src.size(4), "H*W") == HW, "src frames are ", src.size(3), "x", src.size(4),
                 " but the selection has H*W = ", HW, " columns");
  checked_mul(checked_mul(src.size(1), HW, "T*H*W"), checked_mul(B, src.size(2), "B*X"), "src's size");
  return {B, K, HW, src.size(1), src.size(2), src.size(3), src.size(4)};
}

inline TopkSelShape topk_gather_check_args(const Tensor& weights, const Tensor& indices, const Tensor& src,
                                           DeviceType device) {
  topk_check_selection(weights, "weights", indices, device);
  return topk_check_src(src, weights, "weights", weights.size(0), weights.size(1), weights.size(2));
}

inline TopkSelShape topk_gather_dot_check_args(const Tensor& grad, const Tensor& indices, const Tensor& src,
                                               DeviceType device) {
  check_defined(grad, "grad");
  check_float(grad, "grad");
  check_device(grad, "grad", device);
  check_defined(indices, "indices");
  check_dim(indices, "indices", 3, "[B, K, H*W]");
  UNITRACK_CHECK(indices.scalar_type() == kLong, "indices must be an int64 tensor [B, K, H*W], got ",
                 dtype_name(indices.scalar_type()));
  check_same_device(indices, "indices", grad, "grad");
  const int64_t B = indices.size(0), K = indices.size(1), HW = indices.size(2);
  topk_check_map(grad, "grad", grad, "grad", B, HW);
  const TopkSelShape s = topk_check_src(src, grad, "grad", B, K, HW);
  UNITRACK_CHECK(src.size(2) == grad.size(1), "src has ", src.size(2), " channels but grad has ", grad.size(1));
  return s;
}

inline TopkSelShape topk_scatter_check_args(const Tensor& weights, const Tensor& indices, const Tensor& grad, int64_t T,
                                            DeviceType device) {
  topk_check_selection(weights, "weights", indices, device);
  const int64_t B = weights.size(0), K = weights.size(1), HW = weights.size(2);
  topk_check_map(grad, "grad", weights, "weights", B, HW);
  UNITRACK_CHECK(T >= 1, "T (memory frames) must be >= 1, got ", T);
  checked_mul(checked_mul(checked_mul(B, T, "the output size B*T*X*H*W"), grad.size(1), "the output size B*T*X*H*W"),
              HW, "the output size B*T*X*H*W");
  return {B, K, HW, T, grad.size(1), grad.size(2), grad.size(3)};
}

}  // namespace unitrack
