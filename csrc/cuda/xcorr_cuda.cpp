// CUDA launcher of unitrack::xcorr (stable ABI; convention: csrc/cuda/launch.h): checks (ops/xcorr_args.h),
// allocation, the raw kernel of xcorr_kernel.cu on the current stream.
#include "cuda/launch.h"
#include "cuda/xcorr_kernel.h"
#include "ops/xcorr_args.h"

namespace unitrack {
namespace {

Tensor xcorr_cuda(const Tensor& search, const Tensor& templ) {
  const XcorrShape4 s = xcorr_check_args(search, templ, DeviceType::CUDA);
  const cuda::DeviceGuard guard(search.get_device_index());
  // bfloat16/float16: widened to float32 for the float32 kernel (float32 out).
  const Tensor s_c = torch::stable::contiguous(widen_low_precision(search));
  const Tensor t_c = torch::stable::contiguous(widen_low_precision(templ));
  Tensor out = torch::stable::new_empty(s_c, {s.S, s.H - s.h + 1, s.W - s.w + 1});
  if (out.numel() == 0) return out;
  const cuda::XcorrShape shape{s.S, s.C, s.H, s.W, s.h, s.w, s.per_scale};
  const int splits = cuda::xcorr_num_splits(shape, search.get_device_index());
  Tensor workspace = torch::stable::new_empty(s_c, {static_cast<int64_t>(cuda::xcorr_workspace_elems(shape, splits))});
  const cudaStream_t stream = cuda::current_stream(search.get_device_index());
  UNITRACK_DISPATCH_FLOAT(s_c.scalar_type(), "xcorr", [&] {
    UNITRACK_CUDA_CHECK(
        "xcorr", cuda::launch_xcorr<scalar_t>(s_c.const_data_ptr<scalar_t>(), t_c.const_data_ptr<scalar_t>(),
                                              out.mutable_data_ptr<scalar_t>(), workspace.mutable_data_ptr<scalar_t>(),
                                              shape, splits, stream));
  });
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CUDA, m) {
  m.impl("xcorr", TORCH_BOX(&xcorr_cuda));
}

}  // namespace unitrack
