// Build introspection for `unitrack env`: compiler, flags, stable-ABI target, ISA levels, CUDA.
#include <cstdint>
#include <sstream>
#include <string>

#include "common/isa.h"
#include "common/stable.h"

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
#ifdef TORCH_TARGET_VERSION
  const uint64_t v = TORCH_TARGET_VERSION;
  os << "stable ABI target: torch >= " << (v >> 56) << "." << ((v >> 48) & 0xff) << "\n";
#else
  os << "stable ABI target: the building torch\n";
#endif
  os << "built against torch headers: " << (TORCH_ABI_VERSION >> 56) << "." << ((TORCH_ABI_VERSION >> 48) & 0xff)
     << "\n";
#ifdef WITH_CUDA
  os << "cuda: yes (runtime " << CUDART_VERSION << ")\n";
#else
  os << "cuda: no\n";
#endif
  // The ISA the entry points themselves were compiled for (the kernels are compiled once per level).
#if defined(__AVX512F__)
  os << "baseline flags: avx512 (not portable)\n";
#elif defined(__AVX2__)
  os << "baseline flags: avx2 (not portable)\n";
#else
  os << "baseline flags: portable\n";
#endif
  os << "cpu isa levels built: " << isa::built_levels() << "\n";
  os << "cpu isa supported: " << isa::name(isa::cpu_level());
  return os.str();
}

int64_t cuda_version() {
#ifdef WITH_CUDA
  return CUDART_VERSION;
#else
  return -1;
#endif
}

}  // namespace unitrack
