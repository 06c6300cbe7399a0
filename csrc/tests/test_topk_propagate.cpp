// C++ test of unitrack::topk_affinity / unitrack::topk_propagate through the dispatcher, against a tiny brute force:
// every candidate's logit (admissible: <k, q> / temperature; inadmissible: -1e10 / temperature), a stable sort by
// (logit desc, index asc), the top K, a softmax, and the weighted label sum.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct Case {
  int64_t B, T, C, H, W, L, topk;
  double radius;
  int64_t n_global;
};

// Brute force on float64 copies; returns (weights [B,K,HW], indices [B,K,HW], out [B,L,H,W]).
std::tuple<at::Tensor, at::Tensor, at::Tensor> brute(const at::Tensor& q_, const at::Tensor& k_, const at::Tensor& l_,
                                                     const Case& c, double temperature) {
  auto q = q_.to(at::kDouble).contiguous(), k = k_.to(at::kDouble).contiguous(), lab = l_.to(at::kDouble).contiguous();
  const int64_t HW = c.H * c.W, M = c.T * HW, K = std::min(c.topk, M);
  auto w = at::zeros({c.B, K, HW}, at::kDouble), idx = at::zeros({c.B, K, HW}, at::kLong);
  auto out = at::zeros({c.B, c.L, c.H, c.W}, at::kDouble);
  auto qa = q.accessor<double, 4>();
  auto ka = k.accessor<double, 5>();
  auto la = lab.accessor<double, 5>();
  auto wa = w.accessor<double, 3>();
  auto ia = idx.accessor<int64_t, 3>();
  auto oa = out.accessor<double, 4>();
  for (int64_t b = 0; b < c.B; ++b) {
    for (int64_t n = 0; n < HW; ++n) {
      const int64_t qy = n / c.W, qx = n % c.W;
      std::vector<double> logit(M);
      for (int64_t t = 0; t < c.T; ++t) {
        for (int64_t m = 0; m < HW; ++m) {
          const int64_t ky = m / c.W, kx = m % c.W;
          const bool global = c.radius <= 0 || t < c.n_global;
          const double dist = std::sqrt(double((ky - qy) * (ky - qy) + (kx - qx) * (kx - qx)));
          double a = 0;
          for (int64_t ch = 0; ch < c.C; ++ch) a += ka[b][t][ch][ky][kx] * qa[b][ch][qy][qx];
          logit[t * HW + m] = (global || dist < c.radius) ? a / temperature : -1e10 / temperature;
        }
      }
      std::vector<int64_t> order(M);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return logit[x] > logit[y]; });
      double mx = logit[order[0]], sum = 0;
      for (int64_t s = 0; s < K; ++s) sum += std::exp(logit[order[s]] - mx);
      for (int64_t s = 0; s < K; ++s) {
        const int64_t m = order[s];
        wa[b][s][n] = std::exp(logit[m] - mx) / sum;
        ia[b][s][n] = m;
        for (int64_t l = 0; l < c.L; ++l) oa[b][l][qy][qx] += wa[b][s][n] * la[b][m / HW][l][(m % HW) / c.W][m % c.W];
      }
    }
  }
  return {w, idx, out};
}

}  // namespace

int main() {
  auto& dispatcher = c10::Dispatcher::singleton();
  auto aff = dispatcher.findSchemaOrThrow("unitrack::topk_affinity", "")
                 .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, int64_t, double,
                                                           double, int64_t)>();
  auto prop = dispatcher.findSchemaOrThrow("unitrack::topk_propagate", "")
                  .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, double,
                                    int64_t)>();
  const double temperature = 0.05;
  const std::vector<Case> cases = {
      {1, 3, 8, 6, 7, 2, 5, 2.5, 1},     // global + windowed frames
      {2, 2, 5, 5, 9, 3, 4, 1.5, 0},     // batched, windowed only
      {1, 2, 4, 4, 5, 2, 30, 1.5, 0},    // fewer admissible than topk: zero-weight fill-in slots
      {1, 1, 3, 3, 3, 1, 100, 12.0, 1},  // topk > T*H*W
      {1, 3, 6, 1, 8, 2, 3, 2.0, 1},     // H = 1
      {1, 2, 6, 7, 1, 2, 3, 2.0, 0},     // W = 1
      {1, 2, 17, 9, 8, 2, 6, 0.0, 0},    // radius <= 0: unrestricted
  };
  int failures = 0;
  for (auto dtype : {at::kDouble, at::kFloat}) {
    for (const auto& c : cases) {
      at::manual_seed(1);
      auto opts = at::TensorOptions().dtype(dtype);
      auto q = at::randn({c.B, c.C, c.H, c.W}, opts);
      auto k = at::randn({c.B, c.T, c.C, c.H, c.W}, opts);
      q = q / q.norm(2, 1, true);
      k = k / k.norm(2, 2, true);
      auto lab = at::rand({c.B, c.T, c.L, c.H, c.W}, opts);
      auto [w, i] = aff.call(q, k, c.topk, temperature, c.radius, c.n_global);
      auto out = prop.call(q, k, lab, c.topk, temperature, c.radius, c.n_global);
      auto [bw, bi, bo] = brute(q, k, lab, c, temperature);
      const double tol = dtype == at::kDouble ? 1e-10 : 1e-5;
      const bool ok_w = at::allclose(w.to(at::kDouble), bw, 0, tol);
      const bool ok_o = at::allclose(out.to(at::kDouble), bo, 0, 10 * tol);
      // Indices: exact in float64 (brute force and kernel agree on every logit up to rounding far below the gaps).
      const bool ok_i = dtype == at::kFloat || at::equal(i, bi);
      if (!(ok_w && ok_o && ok_i)) {
        std::printf(
            "mismatch: dtype=%s B=%ld T=%ld C=%ld H=%ld W=%ld topk=%ld radius=%g n_global=%ld (w %d out %d idx %d)\n",
            dtype == at::kDouble ? "f64" : "f32", (long)c.B, (long)c.T, (long)c.C, (long)c.H, (long)c.W, (long)c.topk,
            c.radius, (long)c.n_global, ok_w, ok_o, ok_i);
        ++failures;
      }
    }
  }
  // Bad arguments raise an error naming the argument (std::runtime_error from the stable-ABI kernel).
  auto expect_error = [&](auto fn, const std::string& needle) {
    try {
      fn();
    } catch (const std::exception& e) {
      if (std::string(e.what()).find(needle) != std::string::npos) return;
      std::printf("error message lacks '%s': %s\n", needle.c_str(), e.what());
      ++failures;
      return;
    }
    std::printf("no error raised (expected '%s')\n", needle.c_str());
    ++failures;
  };
  auto q = at::randn({1, 4, 5, 6}), k = at::randn({1, 2, 4, 5, 6}), lab = at::rand({1, 2, 3, 5, 6});
  expect_error([&] { aff.call(q, k, 0, 0.05, 12.0, 1); }, "topk must be >= 1");
  expect_error([&] { aff.call(q, k, 3, -1.0, 12.0, 1); }, "temperature must be");
  expect_error([&] { aff.call(q, k, 3, 0.05, 12.0, -2); }, "n_global must be >= 0");
  expect_error([&] { aff.call(q, at::randn({1, 2, 3, 5, 6}), 3, 0.05, 12.0, 1); }, "keys has 3 channels");
  expect_error([&] { aff.call(q, at::randn({1, 2, 4, 5, 7}), 3, 0.05, 12.0, 1); }, "H x W must match");
  expect_error([&] { prop.call(q, k, at::rand({1, 3, 3, 5, 6}), 3, 0.05, 12.0, 1); }, "labels must be");
  expect_error([&] { prop.call(q, k, lab.to(at::kDouble), 3, 0.05, 12.0, 1); },
               "labels and query must have the same dtype");
  auto bad = q.clone();
  bad.index_put_({0, 0, 0, 0}, std::nan(""));
  expect_error([&] { aff.call(bad, k, 3, 0.05, 12.0, 1); }, "query contains NaN");
  // Ranks are checked before sizes are read: a 2-D query names the query (it used to index labels first).
  expect_error([&] { prop.call(at::randn({4, 30}), k, lab, 3, 0.05, 12.0, 1); },
               "query must be a 4-D tensor [B, C, H, W], got shape [4, 30]");
  expect_error([&] { aff.call(q, at::randn({2, 4, 5, 6}), 3, 0.05, 12.0, 1); }, "keys must be a 5-D tensor");
  expect_error([&] { prop.call(q, k, at::rand({2, 3, 5, 6}), 3, 0.05, 12.0, 1); }, "labels must be a 5-D tensor");
  // An output size B*K*H*W that overflows int64 (zero channels make such inputs empty, so they exist) is rejected
  // with a message, before anything is allocated or indexed.
  expect_error(
      [&] {
        aff.call(at::empty({int64_t(1) << 40, 0, 4096, 4096}), at::empty({int64_t(1) << 40, 1, 0, 4096, 4096}), 10,
                 0.05, 12.0, 1);
      },
      "the output size B*K*H*W is too large");
  // topk far above T*H*W is clamped to K = T*H*W (no read past the candidates).
  {
    auto [w, i] = aff.call(q, k, int64_t(1) << 62, 0.05, 0.0, 1);
    if (w.size(1) != 2 * 5 * 6 || i.max().item<int64_t>() >= 2 * 5 * 6 || i.min().item<int64_t>() < 0) {
      std::printf("huge topk: wrong K or out-of-range indices\n");
      ++failures;
    }
  }
  std::printf("test_topk_propagate: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
