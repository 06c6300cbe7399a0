#pragma once
// ATen ops that torch/csrc/stable/ops.h (torch 2.10-2.13) does not wrap, called through the stable dispatcher shim
// (torch_call_dispatcher), exactly as ops.h itself does: the op is looked up by name at run time, so no C++ symbol of
// libtorch is referenced. Missing from the stable ops at TORCH_TARGET_VERSION 2.10 and used here:
//   fft_rfft2 / fft_irfft2 (xcorr's FFT path), mul, conj, isfinite, all, softmax, linalg_vector_norm, clamp_min, div,
//   logical_and, where (the CUDA launchers' ATen parts). Each wrapper names the aten schema it calls.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "common/stable.h"

namespace unitrack {
namespace aten {

template <typename... Args>
Tensor call(const char* op, const char* overload, const Args&... args) {
  std::array<StableIValue, std::max<size_t>(sizeof...(Args), 1)> stack{torch::stable::detail::from(args)...};
  STABLE_TORCH_ERROR_CODE_CHECK(torch_call_dispatcher(op, overload, stack.data(), TORCH_ABI_VERSION));
  return torch::stable::detail::to<Tensor>(stack[0]);
}

using IntList = torch::headeronly::IntHeaderOnlyArrayRef;

// aten::fft_rfft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2,-1], str? norm=None)
inline Tensor fft_rfft2(const Tensor& x, const std::vector<int64_t>& s) {
  const std::vector<int64_t> dim{-2, -1};
  return call("aten::fft_rfft2", "", x, std::optional<IntList>(IntList(s)), IntList(dim), std::optional<std::string>());
}
// aten::fft_irfft2(Tensor self, SymInt[1]? s=None, int[1] dim=[-2,-1], str? norm=None)
inline Tensor fft_irfft2(const Tensor& x, const std::vector<int64_t>& s) {
  const std::vector<int64_t> dim{-2, -1};
  return call("aten::fft_irfft2", "", x, std::optional<IntList>(IntList(s)), IntList(dim),
              std::optional<std::string>());
}
// aten::mul.Tensor(Tensor self, Tensor other)
inline Tensor mul(const Tensor& a, const Tensor& b) {
  return call("aten::mul", "Tensor", a, b);
}
// aten::div.Tensor(Tensor self, Tensor other)
inline Tensor div(const Tensor& a, const Tensor& b) {
  return call("aten::div", "Tensor", a, b);
}
// aten::conj(Tensor(a) self) -> Tensor(a)   (a lazy view: mul resolves the conjugate bit)
inline Tensor conj(const Tensor& a) {
  return call("aten::conj", "", a);
}
// aten::isfinite(Tensor self)
inline Tensor isfinite(const Tensor& a) {
  return call("aten::isfinite", "", a);
}
// aten::all(Tensor self)
inline Tensor all(const Tensor& a) {
  return call("aten::all", "", a);
}
// aten::_softmax(Tensor self, int dim, bool half_to_float)
inline Tensor softmax(const Tensor& a, int64_t dim) {
  return call("aten::_softmax", "", a, dim, false);
}
// aten::linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None)
// ord is passed as a double Scalar.
inline Tensor row_norms(const Tensor& a) {
  const std::vector<int64_t> dim{1};
  return call("aten::linalg_vector_norm", "", a, 2.0, std::optional<IntList>(IntList(dim)), true,
              std::optional<ScalarType>());
}
// aten::clamp_min(Tensor self, Scalar min)
inline Tensor clamp_min(const Tensor& a, double lo) {
  return call("aten::clamp_min", "", a, lo);
}
// aten::div.Scalar(Tensor self, Scalar other)
inline Tensor div_scalar(const Tensor& a, double b) {
  return call("aten::div", "Scalar", a, b);
}

// aten::logical_and(Tensor self, Tensor other)
inline Tensor logical_and(const Tensor& a, const Tensor& b) {
  return call("aten::logical_and", "", a, b);
}
// aten::where.ScalarOther(Tensor condition, Tensor self, Scalar other): self where condition, else other.
inline Tensor where_scalar(const Tensor& cond, const Tensor& self, double other) {
  return call("aten::where", "ScalarOther", cond, self, other);
}
// Whether every element of x is finite: a 0-dim bool tensor on x's device (no device-to-host copy, no sync).
inline Tensor all_finite(const Tensor& x) {
  return all(isfinite(x));
}

}  // namespace aten
}  // namespace unitrack
