#pragma once
// The torch headers of the extension: only the LibTorch stable ABI (torch/csrc/stable, torch/headeronly). Nothing here
// references a C++ symbol of libtorch (at::, c10::, torch::), so the compiled _C.abi3.so loads under every torch from
// TORCH_TARGET_VERSION on (setup.py / CMakeLists.txt set it to 2.10). Also the one error macro of csrc/.
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace unitrack {

using torch::stable::Tensor;
using ScalarType = torch::headeronly::ScalarType;
using DeviceType = torch::headeronly::DeviceType;
constexpr ScalarType kFloat = ScalarType::Float;
constexpr ScalarType kDouble = ScalarType::Double;
constexpr ScalarType kLong = ScalarType::Long;
constexpr ScalarType kInt = ScalarType::Int;
constexpr ScalarType kBFloat16 = ScalarType::BFloat16;
constexpr ScalarType kHalf = ScalarType::Half;

// Message assembly for UNITRACK_CHECK (anything with operator<<).
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  ((os << args), ...);
  return os.str();
}

// "[2, 3, 4]" -- shapes in messages, like torch prints them.
inline std::string shape_str(const Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < t.dim(); ++d) os << (d ? ", " : "") << t.size(d);
  os << "]";
  return os.str();
}

inline const char* dtype_name(ScalarType t) {
  switch (t) {
    case ScalarType::Float:
      return "float32";
    case ScalarType::Double:
      return "float64";
    case ScalarType::Half:
      return "float16";
    case ScalarType::BFloat16:
      return "bfloat16";
    case ScalarType::Long:
      return "int64";
    case ScalarType::Int:
      return "int32";
    case ScalarType::Short:
      return "int16";
    case ScalarType::Char:
      return "int8";
    case ScalarType::Byte:
      return "uint8";
    case ScalarType::Bool:
      return "bool";
    default:
      return torch::headeronly::toString(t);
  }
}

inline std::string device_str(const Tensor& t) {
  if (t.is_cpu()) return "cpu";
  if (t.is_cuda()) return str("cuda:", static_cast<int>(t.get_device_index()));
  return "a non-CPU, non-CUDA device";
}

}  // namespace unitrack

// The one error macro of csrc/: throws std::runtime_error (Python: RuntimeError) with exactly the message given --
// no file/line prefix, since every message names the argument and what was expected. Used by all checks, CPU and CUDA.
#define UNITRACK_CHECK(cond, ...)                             \
  do {                                                        \
    if (__builtin_expect(!(cond), 0)) {                       \
      throw std::runtime_error(::unitrack::str(__VA_ARGS__)); \
    }                                                         \
  } while (0)

// Dispatch on float32/float64: runs BODY with `scalar_t` bound (the stable-ABI stand-in for
// AT_DISPATCH_FLOATING_TYPES).
#define UNITRACK_DISPATCH_FLOAT(dtype, what, ...)                                                               \
  [&] {                                                                                                         \
    switch (dtype) {                                                                                            \
      case ::unitrack::kFloat: {                                                                                \
        using scalar_t = float;                                                                                 \
        return __VA_ARGS__();                                                                                   \
      }                                                                                                         \
      case ::unitrack::kDouble: {                                                                               \
        using scalar_t = double;                                                                                \
        return __VA_ARGS__();                                                                                   \
      }                                                                                                         \
      default:                                                                                                  \
        throw std::runtime_error(::unitrack::str(what, ": unsupported dtype ", ::unitrack::dtype_name(dtype))); \
    }                                                                                                           \
  }()
