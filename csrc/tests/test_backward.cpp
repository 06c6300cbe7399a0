// C++ test of the backward ops (issue #16) through the dispatcher, at every ISA level ctest runs (and under
// ASan/UBSan with `make asan`): the topk primitives against gather / index_add built here with ATen, the xcorr
// gradients against at::conv_transpose2d / at::conv2d, and _rsm_backward against central finite differences of
// unitrack::rsm in float64. Shapes with odd widths, tails and per-scale templates exercise the kernels' edges.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>

namespace {

template <typename F>
bool raises(F&& f, const std::string& needle) {
  try {
    f();
  } catch (const std::exception& e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

int check(bool ok, const char* what) {
  if (!ok) std::printf("FAILED: %s\n", what);
  return ok ? 0 : 1;
}

int test_topk() {
  using T3 = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&);
  auto& d = c10::Dispatcher::singleton();
  auto gather = d.findSchemaOrThrow("unitrack::_topk_gather", "").typed<T3>();
  auto gather_dot = d.findSchemaOrThrow("unitrack::_topk_gather_dot", "").typed<T3>();
  auto scatter = d.findSchemaOrThrow("unitrack::_topk_scatter", "")
                     .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t)>();
  int failures = 0;
  for (auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(1);
    const int64_t B = 2, T = 3, X = 5, H = 7, W = 9, K = 6, HW = H * W;
    auto opt = at::TensorOptions().dtype(dtype);
    auto idx = at::randint(0, T * HW, {B, K, HW}, at::TensorOptions().dtype(at::kLong));
    auto w = at::randn({B, K, HW}, opt), src = at::randn({B, T, X, H, W}, opt), g = at::randn({B, X, H, W}, opt);
    // src as [B, X, T*HW] so that candidate m is column m
    auto flat = src.reshape({B, T, X, HW}).permute({0, 2, 1, 3}).reshape({B, X, T * HW});
    auto gathered = at::gather(flat, 2, idx.reshape({B, 1, K * HW}).expand({B, X, K * HW})).reshape({B, X, K, HW});
    auto want_gather = (gathered * w.unsqueeze(1)).sum(2).reshape({B, X, H, W});
    failures += check(at::allclose(gather.call(w, idx, src), want_gather, 1e-5, 1e-5), "_topk_gather");
    auto want_dot = (gathered * g.reshape({B, X, 1, HW})).sum(1);
    failures += check(at::allclose(gather_dot.call(g, idx, src), want_dot, 1e-5, 1e-5), "_topk_gather_dot");
    auto contrib = (w.unsqueeze(1) * g.reshape({B, X, 1, HW})).reshape({B, X, K * HW});
    auto want_scatter =
        at::zeros({B, X, T * HW}, opt).scatter_add(2, idx.reshape({B, 1, K * HW}).expand({B, X, K * HW}), contrib);
    want_scatter = want_scatter.reshape({B, X, T, H, W}).permute({0, 2, 1, 3, 4});
    failures += check(at::allclose(scatter.call(w, idx, g, T), want_scatter, 1e-5, 1e-5), "_topk_scatter");
  }
  auto w = at::rand({1, 2, 6}), src = at::rand({1, 2, 3, 2, 3});
  auto idx = at::zeros({1, 2, 6}, at::TensorOptions().dtype(at::kLong));
  failures += check(raises([&] { gather.call(w, idx + 12, src); }, "indices must be candidates"), "index range");
  failures += check(raises([&] { scatter.call(w, idx, at::rand({1, 3, 2, 3}), 0); }, "T (memory frames)"), "T >= 1");
  return failures;
}

int test_xcorr() {
  auto& d = c10::Dispatcher::singleton();
  auto grad_search =
      d.findSchemaOrThrow("unitrack::_xcorr_grad_search", "").typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  auto grad_templ = d.findSchemaOrThrow("unitrack::_xcorr_grad_templ", "")
                        .typed<at::Tensor(const at::Tensor&, const at::Tensor&, bool)>();
  int failures = 0;
  for (auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(2);
    auto opt = at::TensorOptions().dtype(dtype);
    const int64_t S = 3, C = 5, H = 21, W = 37, h = 6, w = 17, Ho = H - h + 1, Wo = W - w + 1;
    auto search = at::randn({S, C, H, W}, opt), g = at::randn({S, Ho, Wo}, opt);
    auto shared = at::randn({C, h, w}, opt), per_scale = at::randn({S, C, h, w}, opt);
    auto want = at::conv_transpose2d(g.unsqueeze(1), shared.unsqueeze(0));
    failures += check(at::allclose(grad_search.call(g, shared), want, 1e-4, 1e-4), "_xcorr_grad_search shared");
    auto want_ps = at::conv_transpose2d(g.unsqueeze(0), per_scale, {}, 1, 0, 0, S).reshape({S, C, H, W});
    failures +=
        check(at::allclose(grad_search.call(g, per_scale), want_ps, 1e-4, 1e-4), "_xcorr_grad_search per-scale");
    auto x = search.transpose(0, 1);
    auto want_t = at::conv2d(x, g.unsqueeze(0)).select(1, 0);
    failures += check(at::allclose(grad_templ.call(search, g, false), want_t, 1e-3, 1e-3), "_xcorr_grad_templ shared");
    auto want_tps = at::conv2d(x, g.unsqueeze(1), {}, at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, S)
                        .transpose(0, 1);
    failures +=
        check(at::allclose(grad_templ.call(search, g, true), want_tps, 1e-3, 1e-3), "_xcorr_grad_templ per-scale");
  }
  failures += check(raises([&] { grad_templ.call(at::rand({2, 3, 5, 5}), at::rand({2, 6, 2}), false); },
                           "must not be larger than search"),
                    "oversized grad");
  return failures;
}

int test_rsm() {
  auto& d = c10::Dispatcher::singleton();
  auto rsm =
      d.findSchemaOrThrow("unitrack::rsm", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double)>();
  auto bwd = d.findSchemaOrThrow("unitrack::_rsm_backward", "")
                 .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                           const at::Tensor&, const at::Tensor&, double)>();
  at::manual_seed(3);
  auto opt = at::TensorOptions().dtype(at::kDouble);
  auto ts = at::tensor({3, 0, 2}, at::TensorOptions().dtype(at::kLong));
  auto ds = at::tensor({2, 3}, at::TensorOptions().dtype(at::kLong));
  auto tp = at::randn({5, 4}, opt), dp = at::randn({5, 4}, opt), g = at::randn({3, 2}, opt);
  const double tau = 0.3, h = 1e-6;
  auto [gt, gd] = bwd.call(g, tp, ts, dp, ds, tau);
  int failures = 0;
  for (int side = 0; side < 2; ++side) {
    at::Tensor pts = side == 0 ? tp : dp;
    at::Tensor got = side == 0 ? gt : gd;
    auto fd = at::zeros_like(pts);
    for (int64_t r = 0; r < pts.size(0); ++r)
      for (int64_t c = 0; c < pts.size(1); ++c) {
        auto plus = pts.clone(), minus = pts.clone();
        plus[r][c] += h;
        minus[r][c] -= h;
        auto fp = side == 0 ? rsm.call(plus, ts, dp, ds, tau) : rsm.call(tp, ts, plus, ds, tau);
        auto fm = side == 0 ? rsm.call(minus, ts, dp, ds, tau) : rsm.call(tp, ts, minus, ds, tau);
        fd[r][c] = ((fp - fm) * g).sum() / (2 * h);
      }
    failures += check(at::allclose(got, fd, 1e-5, 1e-6), side == 0 ? "_rsm_backward tracks" : "_rsm_backward dets");
  }
  failures += check(raises([&] { bwd.call(at::randn({2, 2}, opt), tp, ts, dp, ds, tau); }, "grad must be [N, M]"),
                    "grad shape");
  return failures;
}

}  // namespace

int main() {
  const int failures = test_topk() + test_xcorr() + test_rsm();
  std::printf("test_backward: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
