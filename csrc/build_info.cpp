#include "common/build_info.h"

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <sstream>

#ifdef WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace unitrack {

std::string build_info() {
  std::ostringstream os;
#if defined(__clang__)
  os << "compiler: clang " << __clang_major__ << "." << __clang_minor__ << "." << __clang_patchlevel__ << "\n";
#elif defined(__GNUC__)
  os << "compiler: gcc " << __GNUC__ << "." << __GNUC_MINOR__ << "." << __GNUC_PATCHLEVEL__ << "\n";
#else
  os << "compiler: unknown\n";
#endif
  os << "c++ standard: " << __cplusplus << "\n";
#ifdef __OPTIMIZE__
  os << "optimised: yes\n";
#else
  os << "optimised: no\n";
#endif
#ifdef WITH_CUDA
  os << "cuda: yes (runtime " << CUDART_VERSION << ")\n";
#else
  os << "cuda: no\n";
#endif
#if defined(__AVX512F__)
  os << "simd: avx512\n";
#elif defined(__AVX2__)
  os << "simd: avx2\n";
#elif defined(__SSE4_2__)
  os << "simd: sse4.2\n";
#else
  os << "simd: baseline\n";
#endif
  os << "parallel: " << at::get_parallel_info();
  return os.str();
}

int64_t cuda_version() {
#ifdef WITH_CUDA
  return CUDART_VERSION;
#else
  return -1;
#endif
}

bool has_kernel(const std::string& op, const std::string& device) {
  auto handle = c10::Dispatcher::singleton().findOp(c10::OperatorName("unitrack::" + op, ""));
  if (!handle.has_value()) return false;
  c10::DispatchKey key;
  if (device == "cpu") {
    key = c10::DispatchKey::CPU;
  } else if (device == "cuda") {
    key = c10::DispatchKey::CUDA;
  } else {
    TORCH_CHECK(false, "_has_kernel: device must be 'cpu' or 'cuda', got '", device, "'");
  }
  return handle->hasKernelForDispatchKey(key);
}

}  // namespace unitrack
