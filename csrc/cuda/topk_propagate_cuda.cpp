// Torch-facing CUDA wrappers of unitrack::topk_affinity / unitrack::topk_propagate: check, allocate, launch the raw
// kernels of topk_propagate_kernel.cu on the current stream.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "common/checks.h"
#include "cuda/topk_propagate_kernel.h"

namespace unitrack {
namespace {

void check_common_cuda(const at::Tensor& query, const at::Tensor& keys, int64_t topk, double temperature,
                       double radius, int64_t n_global) {
  UNITRACK_CHECK_DIM(query, "query", 4);
  UNITRACK_CHECK_DIM(keys, "keys", 5);
  UNITRACK_CHECK_FLOAT(query, "query");
  UNITRACK_CHECK_SAME_DTYPE(query, "query", keys, "keys");
  UNITRACK_CHECK_CUDA(query, "query");
  UNITRACK_CHECK_CUDA(keys, "keys");
  TORCH_CHECK(keys.device() == query.device(), "keys is on ", keys.device(), " but query is on ", query.device());
  TORCH_CHECK(keys.size(0) == query.size(0), "keys has batch size ", keys.size(0), " but query has ", query.size(0));
  TORCH_CHECK(keys.size(1) >= 1, "keys must hold at least one memory frame (T >= 1), got shape ", keys.sizes());
  TORCH_CHECK(keys.size(2) == query.size(1), "keys has ", keys.size(2), " channels but query has ", query.size(1));
  TORCH_CHECK(keys.size(3) == query.size(2) && keys.size(4) == query.size(3), "keys frames are ", keys.size(3), "x",
              keys.size(4), " but query is ", query.size(2), "x", query.size(3), " (H x W must match)");
  TORCH_CHECK(topk >= 1, "topk must be >= 1, got ", topk);
  TORCH_CHECK(temperature > 0 && std::isfinite(temperature), "temperature must be a finite number > 0, got ",
              temperature);
  TORCH_CHECK(!std::isnan(radius), "radius must not be NaN");
  TORCH_CHECK(n_global >= 0, "n_global must be >= 0, got ", n_global);
  TORCH_CHECK(keys.size(1) * query.size(2) * query.size(3) < std::numeric_limits<int32_t>::max() &&
                  query.size(1) < std::numeric_limits<int32_t>::max(),
              "topk_affinity (CUDA): T*H*W and C must fit in int32, got keys of shape ", keys.sizes());
  TORCH_CHECK(at::isfinite(query).all().item<bool>(), "query contains NaN or inf values");
  TORCH_CHECK(at::isfinite(keys).all().item<bool>(), "keys contains NaN or inf values");
}

std::tuple<at::Tensor, at::Tensor> topk_affinity_cuda(const at::Tensor& query, const at::Tensor& keys, int64_t topk,
                                                      double temperature, double radius, int64_t n_global) {
  check_common_cuda(query, keys, topk, temperature, radius, n_global);
  const c10::cuda::CUDAGuard device_guard(query.device());
  const int64_t B = query.size(0), C = query.size(1), H = query.size(2), W = query.size(3), T = keys.size(1);
  std::vector<int> table;
  cuda::TopkParams p;
  p.B = B;
  p.T = T;
  p.C = C;
  p.H = H;
  p.W = W;
  p.K = std::min<int64_t>(topk, T * H * W);
  p.n_global = n_global;
  p.restricted = radius > 0;
  p.maxdy = cuda::topk_radius_table(H, W, radius, table);
  p.temperature = temperature;
  auto hw = at::tensor(table, at::TensorOptions().dtype(at::kInt)).to(query.device());
  auto q = query.contiguous();
  auto k = keys.contiguous();
  auto weights = at::empty({B, p.K, H * W}, query.options());
  auto indices = at::empty({B, p.K, H * W}, query.options().dtype(at::kLong));
  auto stream = c10::cuda::getCurrentCUDAStream();
  cudaError_t err;
  if (query.scalar_type() == at::kFloat) {
    err = cuda::launch_topk_affinity_f32(q.const_data_ptr<float>(), k.const_data_ptr<float>(),
                                         hw.const_data_ptr<int>(), p, weights.mutable_data_ptr<float>(),
                                         indices.mutable_data_ptr<int64_t>(), stream);
  } else {
    err = cuda::launch_topk_affinity_f64(q.const_data_ptr<double>(), k.const_data_ptr<double>(),
                                         hw.const_data_ptr<int>(), p, weights.mutable_data_ptr<double>(),
                                         indices.mutable_data_ptr<int64_t>(), stream);
  }
  C10_CUDA_CHECK(err);
  return {weights, indices};
}

at::Tensor topk_propagate_cuda(const at::Tensor& query, const at::Tensor& keys, const at::Tensor& labels, int64_t topk,
                               double temperature, double radius, int64_t n_global) {
  UNITRACK_CHECK_DIM(labels, "labels", 5);
  UNITRACK_CHECK_CUDA(labels, "labels");
  TORCH_CHECK(labels.device() == query.device(), "labels is on ", labels.device(), " but query is on ",
              query.device());
  TORCH_CHECK(labels.scalar_type() == query.scalar_type(), "labels and query must have the same dtype, got ",
              labels.scalar_type(), " and ", query.scalar_type());
  TORCH_CHECK(labels.size(0) == query.size(0) && labels.size(1) == keys.size(1) && labels.size(3) == query.size(2) &&
                  labels.size(4) == query.size(3),
              "labels must be [B, T, L, H, W] = [", query.size(0), ", ", keys.size(1), ", L, ", query.size(2), ", ",
              query.size(3), "], got shape ", labels.sizes());
  auto [weights, indices] = topk_affinity_cuda(query, keys, topk, temperature, radius, n_global);
  const c10::cuda::CUDAGuard device_guard(query.device());
  const int64_t B = query.size(0), H = query.size(2), W = query.size(3), T = keys.size(1), L = labels.size(2);
  auto lab = labels.contiguous();
  auto out = at::empty({B, L, H, W}, labels.options());
  auto stream = c10::cuda::getCurrentCUDAStream();
  cudaError_t err;
  if (query.scalar_type() == at::kFloat) {
    err = cuda::launch_topk_gather_f32(weights.const_data_ptr<float>(), indices.const_data_ptr<int64_t>(),
                                       lab.const_data_ptr<float>(), out.mutable_data_ptr<float>(), B, T, L, H * W,
                                       weights.size(1), stream);
  } else {
    err = cuda::launch_topk_gather_f64(weights.const_data_ptr<double>(), indices.const_data_ptr<int64_t>(),
                                       lab.const_data_ptr<double>(), out.mutable_data_ptr<double>(), B, T, L, H * W,
                                       weights.size(1), stream);
  }
  C10_CUDA_CHECK(err);
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CUDA, m) {
  m.impl("topk_propagate", &topk_propagate_cuda);
  m.impl("topk_affinity", &topk_affinity_cuda);
}

}  // namespace unitrack
