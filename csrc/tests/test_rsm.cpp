// C++ test of unitrack::rsm through the dispatcher, against a literal reconstruction computed here with ATen ops
// (per pair: reconstruct every point from the other object's block of the joint softmax, flattened cosine with the
// 1e-12 eps clamps of SPEC appendix b).
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <cstdio>
#include <utility>
#include <string>
#include <vector>

namespace {

at::Tensor literal_rsm(const std::vector<int64_t>& tsz, const at::Tensor& tp, const std::vector<int64_t>& dsz,
                       const at::Tensor& dp, double tau) {
  const int64_t N = static_cast<int64_t>(tsz.size()), M = static_cast<int64_t>(dsz.size());
  auto t = tp / tp.norm(2, {1}, true).clamp_min(1e-12);
  auto d = dp / dp.norm(2, {1}, true).clamp_min(1e-12);
  auto logits = at::mm(t, d.t()) / tau;
  auto wtd = at::softmax(logits, 1), wdt = at::softmax(logits, 0);
  auto out = at::zeros({N, M}, tp.options());
  int64_t p0 = 0;
  for (int64_t i = 0; i < N; ++i) {
    int64_t q0 = 0;
    auto ti = t.narrow(0, p0, tsz[i]);
    for (int64_t j = 0; j < M; ++j) {
      auto dj = d.narrow(0, q0, dsz[j]);
      auto r_td = at::mm(wtd.narrow(0, p0, tsz[i]).narrow(1, q0, dsz[j]), dj).flatten();      // [P_i * C]
      auto r_dt = at::mm(wdt.narrow(0, p0, tsz[i]).narrow(1, q0, dsz[j]).t(), ti).flatten();  // [Q_j * C]
      auto s_td = (r_td * ti.flatten()).sum() / (r_td.norm().clamp_min(1e-12) * ti.norm().clamp_min(1e-12));
      auto s_dt = (r_dt * dj.flatten()).sum() / (r_dt.norm().clamp_min(1e-12) * dj.norm().clamp_min(1e-12));
      out[i][j] = (s_td + s_dt) / 2;
      q0 += dsz[j];
    }
    p0 += tsz[i];
  }
  return out;
}

template <typename F>
bool raises(F&& f, const std::string& needle) {
  try {
    f();
  } catch (const std::exception& e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

}  // namespace

int main() {
  auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("unitrack::rsm", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double)>();
  int failures = 0;
  const std::vector<int64_t> tsz = {4, 1, 9, 6}, dsz = {7, 3, 5};
  for (auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(0);
    auto opts = at::TensorOptions().dtype(dtype);
    auto tp = at::relu(at::randn({20, 12}, opts));
    auto dp = at::relu(at::randn({15, 12}, opts));
    auto ts = at::tensor(at::ArrayRef<int64_t>(tsz), at::kLong);
    auto ds = at::tensor(at::ArrayRef<int64_t>(dsz), at::kLong);
    for (double tau : {0.01, 0.5}) {
      auto out = op.call(tp, ts, dp, ds, tau);
      auto ref = literal_rsm(tsz, tp, dsz, dp, tau);
      const double tol = dtype == at::kFloat ? 1e-5 : 1e-10;
      if (out.sizes() != ref.sizes() || !at::allclose(out, ref, tol, tol)) {
        std::printf("rsm mismatch (dtype %s, tau %g): max abs diff %g\n", c10::toString(dtype), tau,
                    (out - ref).abs().max().item<double>());
        ++failures;
      }
    }
    // N = 0 and M = 0 give empty results.
    auto e1 = op.call(tp.narrow(0, 0, 0), at::zeros({0}, at::kLong), dp, ds, 0.01);
    auto e2 = op.call(tp, ts, dp.narrow(0, 0, 0), at::zeros({0}, at::kLong), 0.01);
    if (e1.size(0) != 0 || e1.size(1) != 3 || e2.size(0) != 4 || e2.size(1) != 0) {
      std::printf("empty sets: wrong shapes\n");
      ++failures;
    }
  }
  // Bad arguments raise an error (std::runtime_error from the stable-ABI kernel) that names the argument.
  auto tp = at::rand({5, 4}), dp = at::rand({3, 4});
  auto ok_t = at::tensor(at::ArrayRef<int64_t>({5}), at::kLong),
       ok_d = at::tensor(at::ArrayRef<int64_t>({3}), at::kLong);
  if (!raises([&] { op.call(tp, at::tensor(at::ArrayRef<int64_t>({1, 3}), at::kLong), dp, ok_d, 0.01); },
              "track_sizes sums to 4")) {
    std::printf("sizes/points mismatch did not raise the expected error\n");
    ++failures;
  }
  if (!raises([&] { op.call(tp, ok_t, at::rand({3, 2}), ok_d, 0.01); }, "channels")) {
    std::printf("channel mismatch did not raise the expected error\n");
    ++failures;
  }
  if (!raises([&] { op.call(tp, ok_t, dp, at::tensor(at::ArrayRef<int64_t>({4, -1}), at::kLong), 0.01); },
              "det_sizes[1] = -1 is negative")) {
    std::printf("negative size did not raise the expected error\n");
    ++failures;
  }
  // Memory safety (issue #12): packed sizes whose int64 sum wraps around must be rejected before any row is read
  // (they used to segfault or throw std::length_error), as must sizes that are not a 1-D int64 tensor.
  const int64_t big = INT64_MAX;
  const std::vector<std::pair<std::vector<int64_t>, std::string>> wrapping = {
      {{big, big, 7}, "track_sizes sums to more than the 5 rows"},  // wraps to 5: the row count
      {{int64_t(1) << 62, int64_t(1) << 62, int64_t(1) << 62, int64_t(1) << 62, 3}, "track_sizes sums to more than"},
      {{big, 1}, "track_sizes sums to more than"},
      {{INT64_MIN, 5}, "track_sizes[0] = -9223372036854775808 is negative"},
  };
  for (const auto& [sizes, needle] : wrapping) {
    if (!raises([&] { op.call(tp, at::tensor(at::ArrayRef<int64_t>(sizes), at::kLong), dp, ok_d, 0.01); }, needle)) {
      std::printf("wrapping sizes did not raise '%s'\n", needle.c_str());
      ++failures;
    }
  }
  if (!raises([&] { op.call(tp, at::tensor(at::ArrayRef<int64_t>({2, 3}), at::kLong).to(at::kFloat), dp, ok_d, 0.01); },
              "track_sizes must be an int64 tensor [N], got float32")) {
    std::printf("float sizes did not raise the expected error\n");
    ++failures;
  }
  if (!raises([&] { op.call(tp, at::ones({5, 1}, at::kLong), dp, ok_d, 0.01); },
              "track_sizes must be a 1-D tensor [N]")) {
    std::printf("2-D sizes did not raise the expected error\n");
    ++failures;
  }
  if (!raises([&] { op.call(tp.unsqueeze(0), ok_t, dp, ok_d, 0.01); },
              "track_points must be a 2-D tensor [sum P, C]")) {
    std::printf("3-D points did not raise the expected error\n");
    ++failures;
  }
  std::printf("test_rsm: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
