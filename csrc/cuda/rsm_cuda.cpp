// CUDA kernel of unitrack::rsm (torch-facing wrapper): checks, normalisation, the affinity GEMM (cuBLAS) and both
// softmaxes with ATen, then the Gram blocks and per-pair quadratic forms of csrc/cuda/rsm_kernel.cu.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <cmath>
#include <vector>

#include "common/checks.h"
#include "cuda/rsm_kernel.h"

namespace unitrack {
namespace {

// Validates a sizes tensor (CPU or CUDA; read on the host) and returns the n + 1 offsets.
std::vector<int64_t> offsets_of(const at::Tensor& sizes, const char* name, int64_t rows, const char* points_name) {
  TORCH_CHECK(sizes.scalar_type() == at::kLong, name, " must be an int64 tensor, got ", sizes.scalar_type());
  TORCH_CHECK(sizes.dim() == 1, name, " must be a 1-D tensor [N], got shape ", sizes.sizes());
  auto s = sizes.to(at::kCPU).contiguous();
  const int64_t* sp = s.const_data_ptr<int64_t>();
  std::vector<int64_t> off(static_cast<size_t>(s.size(0)) + 1, 0);
  for (int64_t k = 0; k < s.size(0); ++k) {
    TORCH_CHECK(sp[k] >= 0, name, "[", k, "] = ", sp[k], " is negative: sizes must be >= 0");
    off[k + 1] = off[k] + sp[k];
  }
  TORCH_CHECK(off.back() == rows, name, " sums to ", off.back(), " but ", points_name, " has ", rows,
              " points (rows): the sizes must sum to the number of points");
  return off;
}

std::vector<int64_t> gram_offsets(const std::vector<int64_t>& off) {
  std::vector<int64_t> g(off.size(), 0);
  for (size_t k = 0; k + 1 < off.size(); ++k) {
    const int64_t P = off[k + 1] - off[k];
    g[k + 1] = g[k] + P * P;
  }
  return g;
}

at::Tensor to_device(const std::vector<int64_t>& v, const at::Device& device) {
  return at::tensor(at::ArrayRef<int64_t>(v), at::TensorOptions().dtype(at::kLong)).to(device);
}

at::Tensor rsm_cuda(const at::Tensor& track_points, const at::Tensor& track_sizes, const at::Tensor& det_points,
                    const at::Tensor& det_sizes, double temperature) {
  UNITRACK_CHECK_DIM(track_points, "track_points", 2);
  UNITRACK_CHECK_DIM(det_points, "det_points", 2);
  UNITRACK_CHECK_FLOAT(track_points, "track_points");
  UNITRACK_CHECK_SAME_DTYPE(track_points, "track_points", det_points, "det_points");
  UNITRACK_CHECK_CUDA(track_points, "track_points");
  UNITRACK_CHECK_CUDA(det_points, "det_points");
  TORCH_CHECK(det_points.device() == track_points.device(), "det_points is on ", det_points.device(),
              " but track_points is on ", track_points.device());
  TORCH_CHECK(track_points.size(1) == det_points.size(1), "det_points has ", det_points.size(1),
              " channels but track_points has ", track_points.size(1), ": feature sets must share C");
  TORCH_CHECK(std::isfinite(temperature) && temperature > 0, "temperature must be a finite number > 0, got ",
              temperature);
  const auto toff = offsets_of(track_sizes, "track_sizes", track_points.size(0), "track_points");
  const auto doff = offsets_of(det_sizes, "det_sizes", det_points.size(0), "det_points");
  const int64_t N = track_sizes.size(0), M = det_sizes.size(0);
  c10::cuda::CUDAGuard guard(track_points.device());
  TORCH_CHECK(at::isfinite(track_points).all().item<bool>(), "track_points contains NaN or inf values");
  TORCH_CHECK(at::isfinite(det_points).all().item<bool>(), "det_points contains NaN or inf values");
  at::Tensor out = at::zeros({N, M}, track_points.options());
  if (N == 0 || M == 0) return out;

  const at::Tensor that = (track_points / track_points.norm(2, {1}, true).clamp_min(1e-12)).contiguous();
  const at::Tensor dhat = (det_points / det_points.norm(2, {1}, true).clamp_min(1e-12)).contiguous();
  const at::Tensor A = at::mm(that, dhat.t()).contiguous();
  const at::Tensor logits = A / temperature;
  const at::Tensor Wtd = at::softmax(logits, 1).contiguous();
  const at::Tensor Wdt = at::softmax(logits, 0).contiguous();

  const auto dev = track_points.device();
  const auto tgoff = gram_offsets(toff), dgoff = gram_offsets(doff);
  const at::Tensor toff_d = to_device(toff, dev), doff_d = to_device(doff, dev);
  const at::Tensor tgoff_d = to_device(tgoff, dev), dgoff_d = to_device(dgoff, dev);
  const auto dopts = at::TensorOptions().dtype(at::kDouble).device(dev);
  at::Tensor H = at::empty({tgoff.back()}, dopts), G = at::empty({dgoff.back()}, dopts);
  at::Tensor ttr = at::empty({N}, dopts), dtr = at::empty({M}, dopts);
  const int64_t C = that.size(1), SQ = dhat.size(0);
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();  // = at::cuda::getCurrentCUDAStream()

  AT_DISPATCH_FLOATING_TYPES(track_points.scalar_type(), "rsm_cuda", [&] {
    C10_CUDA_CHECK(cuda::launch_rsm_gram<scalar_t>(that.const_data_ptr<scalar_t>(), C,
                                                   toff_d.const_data_ptr<int64_t>(), tgoff_d.const_data_ptr<int64_t>(),
                                                   N, H.mutable_data_ptr<double>(), ttr.mutable_data_ptr<double>(),
                                                   stream));
    C10_CUDA_CHECK(cuda::launch_rsm_gram<scalar_t>(dhat.const_data_ptr<scalar_t>(), C,
                                                   doff_d.const_data_ptr<int64_t>(), dgoff_d.const_data_ptr<int64_t>(),
                                                   M, G.mutable_data_ptr<double>(), dtr.mutable_data_ptr<double>(),
                                                   stream));
    C10_CUDA_CHECK(cuda::launch_rsm_pairs<scalar_t>(
        A.const_data_ptr<scalar_t>(), Wtd.const_data_ptr<scalar_t>(), Wdt.const_data_ptr<scalar_t>(), SQ,
        toff_d.const_data_ptr<int64_t>(), doff_d.const_data_ptr<int64_t>(), H.const_data_ptr<double>(),
        tgoff_d.const_data_ptr<int64_t>(), G.const_data_ptr<double>(), dgoff_d.const_data_ptr<int64_t>(),
        ttr.const_data_ptr<double>(), dtr.const_data_ptr<double>(), N, M, out.mutable_data_ptr<scalar_t>(),
        stream));
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CUDA, m) { m.impl("rsm", &rsm_cuda); }

}  // namespace unitrack
