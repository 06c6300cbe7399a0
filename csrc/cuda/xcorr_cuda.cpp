// Torch-facing CUDA wrapper of unitrack::xcorr: checks, allocation, launch on the current stream.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "common/checks.h"
#include "cuda/xcorr_kernel.h"

namespace unitrack {
namespace {

at::Tensor xcorr_cuda(const at::Tensor& search, const at::Tensor& templ) {
  UNITRACK_CHECK_DIM(search, "search", 4);
  TORCH_CHECK(templ.dim() == 3 || templ.dim() == 4, "templ must be [C, h, w] or [S, C, h, w], got shape ",
              templ.sizes());
  UNITRACK_CHECK_FLOAT(search, "search");
  UNITRACK_CHECK_SAME_DTYPE(search, "search", templ, "templ");
  UNITRACK_CHECK_CUDA(search, "search");
  UNITRACK_CHECK_CUDA(templ, "templ");
  TORCH_CHECK(search.device() == templ.device(), "search and templ must be on the same device, got ",
              search.device(), " and ", templ.device());
  const int64_t S = search.size(0), C = search.size(1), H = search.size(2), W = search.size(3);
  const bool per_scale = templ.dim() == 4;
  TORCH_CHECK(!per_scale || templ.size(0) == S, "templ has ", templ.size(0), " scales but search has ", S);
  TORCH_CHECK(templ.size(-3) == C, "templ has ", templ.size(-3), " channels but search has ", C);
  const int64_t h = templ.size(-2), w = templ.size(-1);
  TORCH_CHECK(h >= 1 && w >= 1, "templ must have a positive spatial size, got ", h, "x", w);
  TORCH_CHECK(h <= H && w <= W, "templ (", h, "x", w, ") must not be larger than search (", H, "x", W, ")");
  const c10::cuda::CUDAGuard guard(search.device());
  auto s_c = search.contiguous();
  auto t_c = templ.contiguous();
  auto out = at::empty({S, H - h + 1, W - w + 1}, search.options());
  if (out.numel() == 0) return out;
  const cuda::XcorrShape shape{S, C, H, W, h, w, per_scale};
  const int splits = cuda::xcorr_num_splits(shape, search.get_device());
  auto workspace = at::empty({static_cast<int64_t>(cuda::xcorr_workspace_elems(shape, splits))}, search.options());
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  cudaError_t err;
  if (search.scalar_type() == at::kFloat) {
    err = cuda::xcorr_launch_float(s_c.const_data_ptr<float>(), t_c.const_data_ptr<float>(),
                                   out.mutable_data_ptr<float>(), workspace.mutable_data_ptr<float>(), shape, splits,
                                   stream);
  } else {
    err = cuda::xcorr_launch_double(s_c.const_data_ptr<double>(), t_c.const_data_ptr<double>(),
                                    out.mutable_data_ptr<double>(), workspace.mutable_data_ptr<double>(), shape,
                                    splits, stream);
  }
  TORCH_CHECK(err == cudaSuccess, "xcorr CUDA kernel launch failed: ", cudaGetErrorString(err));
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CUDA, m) { m.impl("xcorr", &xcorr_cuda); }

}  // namespace unitrack
