// CPU entry points of unitrack::topk_affinity / unitrack::topk_propagate: argument checks (csrc/ops/), allocation, and
// the kernels of the ISA level picked at load time (csrc/cpu/kernels/topk_propagate.h, one copy per level).
#include "common/checks.h"
#include "common/isa.h"
#include "cpu/kernels/tables.h"
#include "ops/topk_propagate_args.h"

#include <tuple>

namespace unitrack {
namespace {

template <typename T>
const cpu::TopkFns<T>& fns(const cpu::TopkKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

const uint16_t* bf16_bits(const Tensor& x) {
  return static_cast<const uint16_t*>(x.const_data_ptr());
}

// bfloat16 query/keys: scores in float32 (AMX-BF16 tiles at the amx level, else widened while packing), float32
// weights.
void topk_affinity_bf16(const cpu::TopkKernels& kernels, const Tensor& q, const Tensor& k, const TopkGeometry& g,
                        double temperature, Tensor& weights, Tensor& indices) {
  const auto& f = kernels.bf16;
  UNITRACK_CHECK(f.all_finite(bf16_bits(q), q.numel()), "query contains NaN or inf values");
  UNITRACK_CHECK(f.all_finite(bf16_bits(k), k.numel()), "keys contains NaN or inf values");
  f.affinity(bf16_bits(q), bf16_bits(k), g, temperature, weights.mutable_data_ptr<float>(),
             indices.mutable_data_ptr<int64_t>(), q.size(0));
}

std::tuple<Tensor, Tensor> topk_affinity_cpu(const Tensor& query, const Tensor& keys, int64_t topk, double temperature,
                                             double radius, int64_t n_global) {
  const int64_t K = topk_check_args(query, keys, nullptr, topk, temperature, radius, n_global, DeviceType::CPU);
  const cpu::TopkKernels& kernels = UNITRACK_SELECT_KERNELS_AMX(kTopkKernels);
  const int64_t B = query.size(0), C = query.size(1), H = query.size(2), W = query.size(3), T = keys.size(1);
  Tensor weights = torch::stable::new_empty(query, {B, K, H * W}, output_dtype(query.scalar_type()));
  Tensor indices = torch::stable::new_empty(query, {B, K, H * W}, kLong);
  if (weights.numel() == 0) return {weights, indices};
  const Tensor q = torch::stable::contiguous(query);
  const Tensor k = torch::stable::contiguous(keys);
  if (query.scalar_type() == kBFloat16) {
    topk_affinity_bf16(kernels, q, k, make_topk_geometry(T, C, H, W, topk, radius, n_global), temperature, weights,
                       indices);
    return {weights, indices};
  }
  UNITRACK_DISPATCH_FLOAT(query.scalar_type(), "topk_affinity", [&] {
    const auto& f = fns<scalar_t>(kernels);
    // The NaN/inf policy (README, "NaN and inf"): a non-finite input is an error naming it (one pass, no temporary).
    UNITRACK_CHECK(f.all_finite(q.const_data_ptr<scalar_t>(), q.numel()), "query contains NaN or inf values");
    UNITRACK_CHECK(f.all_finite(k.const_data_ptr<scalar_t>(), k.numel()), "keys contains NaN or inf values");
    const TopkGeometry g = make_topk_geometry(T, C, H, W, topk, radius, n_global);
    f.affinity(q.const_data_ptr<scalar_t>(), k.const_data_ptr<scalar_t>(), g, temperature,
               weights.mutable_data_ptr<scalar_t>(), indices.mutable_data_ptr<int64_t>(), B);
  });
  return {weights, indices};
}

Tensor topk_propagate_cpu(const Tensor& query, const Tensor& keys, const Tensor& labels, int64_t topk,
                          double temperature, double radius, int64_t n_global) {
  topk_check_args(query, keys, &labels, topk, temperature, radius, n_global, DeviceType::CPU);
  const cpu::TopkKernels& kernels = UNITRACK_SELECT_KERNELS_AMX(kTopkKernels);
  // Low-precision features: float32 weights propagate float32 labels (bf16 labels are widened) into float32.
  const ScalarType out_dtype = output_dtype(query.scalar_type());
  const Tensor lab =
      torch::stable::contiguous(labels.scalar_type() == out_dtype ? labels : torch::stable::to(labels, out_dtype));
  UNITRACK_DISPATCH_FLOAT(out_dtype, "topk_propagate", [&] {
    UNITRACK_CHECK(fns<scalar_t>(kernels).all_finite(lab.const_data_ptr<scalar_t>(), lab.numel()),
                   "labels contains NaN or inf values");
  });
  auto [weights, indices] = topk_affinity_cpu(query, keys, topk, temperature, radius, n_global);
  const int64_t B = query.size(0), H = query.size(2), W = query.size(3), T = keys.size(1), L = labels.size(2);
  Tensor out = torch::stable::new_empty(labels, {B, L, H, W}, out_dtype);
  if (out.numel() == 0) return out;
  UNITRACK_DISPATCH_FLOAT(out_dtype, "topk_propagate", [&] {
    fns<scalar_t>(kernels).propagate(weights.const_data_ptr<scalar_t>(), indices.const_data_ptr<int64_t>(),
                                     lab.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), B, T, L, H * W,
                                     weights.size(1));
  });
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("topk_propagate", TORCH_BOX(&topk_propagate_cpu));
  m.impl("topk_affinity", TORCH_BOX(&topk_affinity_cpu));
}

}  // namespace unitrack
