#pragma once
// Argument checks of unitrack::topk_affinity / unitrack::topk_propagate, shared by the CPU kernel
// (csrc/cpu/topk_propagate.cpp) and the CUDA launcher (csrc/cuda/topk_propagate_cuda.cpp). Ranks are checked before
// any size is read, so a malformed input never indexes a dimension it does not have.
#include "common/checks.h"
#include "ops/topk_geometry.h"

namespace unitrack {

// Validates the arguments for a kernel on `device`; `labels` is null for topk_affinity. Returns K = min(topk, T*H*W).
inline int64_t topk_check_args(const Tensor& query, const Tensor& keys, const Tensor* labels, int64_t topk,
                               double temperature, double radius, int64_t n_global, DeviceType device) {
  check_defined(query, "query");
  check_defined(keys, "keys");
  check_dim(query, "query", 4, "[B, C, H, W]");
  check_feature_dtype(query, "query", device);
  check_device(query, "query", device);
  check_dim(keys, "keys", 5, "[B, T, C, H, W]");
  check_same_dtype(query, "query", keys, "keys");
  check_same_device(keys, "keys", query, "query");
  if (labels != nullptr) {
    check_defined(*labels, "labels");
    check_dim(*labels, "labels", 5, "[B, T, L, H, W]");
    // Labels in the query's dtype, or float32 with low-precision features (soft labels keep float32 precision).
    if (!(is_low_precision(query.scalar_type()) && labels->scalar_type() == kFloat))
      check_same_dtype(*labels, "labels", query, "query");
    check_same_device(*labels, "labels", query, "query");
  }
  const int64_t B = query.size(0), C = query.size(1), H = query.size(2), W = query.size(3), T = keys.size(1);
  UNITRACK_CHECK(keys.size(0) == B, "keys has batch size ", keys.size(0), " but query has ", B);
  UNITRACK_CHECK(T >= 1, "keys must hold at least one memory frame (T >= 1), got shape ", shape_str(keys));
  UNITRACK_CHECK(keys.size(2) == C, "keys has ", keys.size(2), " channels but query has ", C);
  UNITRACK_CHECK(keys.size(3) == H && keys.size(4) == W, "keys frames are ", keys.size(3), "x", keys.size(4),
                 " but query is ", H, "x", W, " (H x W must match)");
  if (labels != nullptr) {
    UNITRACK_CHECK(labels->size(0) == B && labels->size(1) == T && labels->size(3) == H && labels->size(4) == W,
                   "labels must be [B, T, L, H, W] = [", B, ", ", T, ", L, ", H, ", ", W, "], got shape ",
                   shape_str(*labels));
  }
  UNITRACK_CHECK(topk >= 1, "topk must be >= 1, got ", topk);
  check_temperature(temperature, query.scalar_type());
  UNITRACK_CHECK(!std::isnan(radius), "radius must be a number (<= 0 for unrestricted search), got NaN");
  UNITRACK_CHECK(n_global >= 0, "n_global must be >= 0, got ", n_global);
  // Candidate indices t*H*W + y*W + x and the outputs [B, K, H*W] must be addressable (H, W may be huge when C = 0).
  const int64_t HW = checked_mul(H, W, "the query map H*W");
  const int64_t THW = checked_mul(T, HW, "the number of candidates T*H*W");
  const int64_t K = std::min<int64_t>(topk, THW);
  checked_mul(checked_mul(B, K, "the output size B*K*H*W"), HW, "the output size B*K*H*W");
  if (labels != nullptr)
    checked_mul(checked_mul(B, labels->size(2), "the output size B*L*H*W"), HW, "the output size B*L*H*W");
  return K;
}

}  // namespace unitrack
