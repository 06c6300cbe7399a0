#pragma once
// Argument checks shared by every op entry point (CPU and CUDA), on stable-ABI tensors. Each message names the
// argument, what was expected and what was got. Op-specific checks live in csrc/ops/<op>_args.h and use these.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/stable.h"

namespace unitrack {

inline void check_defined(const Tensor& x, const char* name) {
  UNITRACK_CHECK(x.defined(), name, " must be a tensor, got an undefined tensor");
}

// `layout` describes the dimensions, e.g. "[B, C, H, W]".
inline void check_dim(const Tensor& x, const char* name, int64_t d, const char* layout) {
  UNITRACK_CHECK(x.dim() == d, name, " must be a ", d, "-D tensor ", layout, ", got shape ", shape_str(x));
}

inline void check_float(const Tensor& x, const char* name) {
  UNITRACK_CHECK(x.scalar_type() == kFloat || x.scalar_type() == kDouble, name, " must be float32 or float64, got ",
                 dtype_name(x.scalar_type()));
}

// bfloat16 / float16 features: the ops compute in float32 (products of the low-precision values, float32 sums) and
// return float32.
inline bool is_low_precision(ScalarType t) {
  return t == kBFloat16 || t == kHalf;
}
inline ScalarType output_dtype(ScalarType features) {
  return is_low_precision(features) ? kFloat : features;
}
// x as float32 when it is bfloat16/float16 (a widened copy), else x itself: the conversion path of the kernels that
// have no low-precision variant (the CUDA launchers: not run on a GPU yet, see README).
inline Tensor widen_low_precision(const Tensor& x) {
  return is_low_precision(x.scalar_type()) ? torch::stable::to(x, kFloat) : x;
}

// Features of an op on `device`: float32, float64 or bfloat16 anywhere, float16 on CUDA only.
inline void check_feature_dtype(const Tensor& x, const char* name, DeviceType device) {
  const ScalarType t = x.scalar_type();
  if (device == DeviceType::CPU) {
    UNITRACK_CHECK(t == kFloat || t == kDouble || t == kBFloat16, name,
                   " must be float32, float64 or bfloat16 on the CPU (float16 only on CUDA), got ", dtype_name(t));
  } else {
    UNITRACK_CHECK(t == kFloat || t == kDouble || t == kBFloat16 || t == kHalf, name,
                   " must be float32, float64, bfloat16 or float16, got ", dtype_name(t));
  }
}

inline void check_same_dtype(const Tensor& a, const char* an, const Tensor& b, const char* bn) {
  UNITRACK_CHECK(a.scalar_type() == b.scalar_type(), an, " and ", bn, " must have the same dtype, got ",
                 dtype_name(a.scalar_type()), " and ", dtype_name(b.scalar_type()));
}

// The device a kernel serves: CPU kernels get CPU tensors, CUDA kernels CUDA tensors (all on one device).
inline void check_device(const Tensor& x, const char* name, DeviceType want) {
  const bool ok = want == DeviceType::CPU ? x.is_cpu() : x.is_cuda();
  UNITRACK_CHECK(ok, name, " must be a ", want == DeviceType::CPU ? "CPU" : "CUDA", " tensor, got one on ",
                 device_str(x));
}

inline void check_same_device(const Tensor& a, const char* an, const Tensor& b, const char* bn) {
  UNITRACK_CHECK(a.is_cpu() == b.is_cpu() && a.get_device_index() == b.get_device_index(), an, " is on ", device_str(a),
                 " but ", bn, " is on ", device_str(b), ": all inputs must be on one device");
}

// a * b for non-negative sizes, or an error naming `what` when the product does not fit in int64.
inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  UNITRACK_CHECK(!__builtin_mul_overflow(a, b, &r), what, " is too large: ", a, " * ", b,
                 " does not fit in a 64-bit integer");
  return r;
}

// Offsets [n + 1] of objects packed along the rows of `points_name` ([rows, C]) from their sizes s[0..n): every size
// must be >= 0 and they must sum to `rows` exactly. Never overflows: a size larger than the rows still unassigned is
// reported before it is added (sizes like [2**63 - 1, 2**63 - 1, 7] wrap an int64 sum around to 5).
inline std::vector<int64_t> offsets_from_sizes(const int64_t* s, int64_t n, int64_t rows, const char* name,
                                               const char* points_name) {
  for (int64_t k = 0; k < n; ++k)
    UNITRACK_CHECK(s[k] >= 0, name, "[", k, "] = ", s[k], " is negative: sizes must be >= 0");
  std::vector<int64_t> off(static_cast<size_t>(n) + 1, 0);
  for (int64_t k = 0; k < n; ++k) {
    UNITRACK_CHECK(s[k] <= rows - off[k], name, " sums to more than the ", rows, " rows of ", points_name, " (", name,
                   "[", k, "] = ", s[k], " with ", off[k],
                   " rows already assigned): the sizes must sum to the number "
                   "of points");
    off[k + 1] = off[k] + s[k];
  }
  UNITRACK_CHECK(off.back() == rows, name, " sums to ", off.back(), " but ", points_name, " has ", rows,
                 " points (rows): the sizes must sum to the number of points");
  return off;
}

// The softmax temperature of topk_affinity / topk_propagate / rsm: finite, > 0, and not so small that 1 / temperature
// overflows the inputs' dtype (below 1 / FLT_MAX = 2.93874e-39 in float32 and 1 / DBL_MAX = 5.56268e-309 in float64
// the logits overflow to inf and the softmax is NaN; the reference returns meaningless numbers there too).
inline double min_temperature(ScalarType dtype) {
  return dtype == kDouble ? 1.0 / std::numeric_limits<double>::max()  // bfloat16/float16 compute in float32
                          : 1.0 / static_cast<double>(std::numeric_limits<float>::max());
}
inline void check_temperature(double temperature, ScalarType dtype) {
  UNITRACK_CHECK(std::isfinite(temperature) && temperature > 0, "temperature must be a finite number > 0, got ",
                 temperature);
  UNITRACK_CHECK(temperature >= min_temperature(dtype), "temperature must be >= ", min_temperature(dtype), " for ",
                 dtype_name(dtype), " inputs (1 / temperature must be finite), got ", temperature);
}

}  // namespace unitrack
