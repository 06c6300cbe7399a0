#pragma once
// The one convention of the torch-facing CUDA launchers (csrc/cuda/<op>_cuda.cpp), on the LibTorch stable ABI:
//   * checks: csrc/ops/<op>_args.h (shared with the CPU kernels), then UNITRACK_CHECK for launcher-only limits;
//   * DeviceGuard: the stable accelerator guard of the inputs' device, held for the whole launcher;
//   * stream: current_stream(device) -- the stream torch is using on that device (stable C shim);
//   * raw launchers launch_<op>[_<stage>]<T>(..., stream) in csrc/cuda/<op>_kernel.cu return cudaError_t, checked
//     with UNITRACK_CUDA_CHECK (the one CUDA error macro: a RuntimeError naming the op and CUDA's message).
#include <cuda_runtime_api.h>

#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/stable/accelerator.h>

#include "common/stable.h"

namespace unitrack {
namespace cuda {

using DeviceGuard = torch::stable::accelerator::DeviceGuard;

// The current CUDA stream of the device at `device_index` (what torch's own kernels launch on).
inline cudaStream_t current_stream(int32_t device_index) {
  void* stream = nullptr;
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_get_current_cuda_stream(device_index, &stream));
  return static_cast<cudaStream_t>(stream);
}

}  // namespace cuda
}  // namespace unitrack

#define UNITRACK_CUDA_CHECK(what, expr)                                                                      \
  do {                                                                                                       \
    const cudaError_t unitrack_err_ = (expr);                                                                \
    UNITRACK_CHECK(unitrack_err_ == cudaSuccess, what, ": CUDA error: ", cudaGetErrorString(unitrack_err_)); \
  } while (0)
