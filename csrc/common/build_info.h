#pragma once
#include <cstdint>
#include <string>

namespace unitrack {
// A human-readable summary of how _C was built (compiler, flags, CUDA, parallel backend).
std::string build_info();
// CUDA runtime version the CUDA kernels were compiled against (e.g. 13000), or -1 for a CPU-only build.
int64_t cuda_version();
// Whether a compiled kernel of `op` (e.g. "topk_propagate") is registered for `device` ("cpu" or "cuda").
bool has_kernel(const std::string& op, const std::string& device);
}  // namespace unitrack
