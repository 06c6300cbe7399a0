// C++ test of the ops at the edges (issue #12 points 6 and 7), through the dispatcher: the NaN/inf policy (a
// non-finite input is an error naming it, on every xcorr method; an overflow from finite inputs is not), the
// temperature bound (1 / temperature must be finite in the dtype), and results bitwise independent of the thread count
// (rsm in float64 on its multi-threaded path, xcorr's FFT path, topk). Runs under ASan/UBSan too (make asan).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

int failures = 0;

void expect_error(const std::function<void()>& f, const std::string& needle, const char* what) {
  try {
    f();
  } catch (const std::exception& e) {
    if (std::string(e.what()).find(needle) != std::string::npos) return;
    std::printf("%s: wrong error '%s' (expected '%s')\n", what, e.what(), needle.c_str());
    ++failures;
    return;
  }
  std::printf("%s: no error (expected '%s')\n", what, needle.c_str());
  ++failures;
}

// f() at 1, 2 and 3 threads and once more at 3: bitwise equal results.
void expect_thread_independent(const std::function<std::vector<at::Tensor>()>& f, const char* what) {
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto base = f();
  for (int n : {2, 3, 3}) {
    at::set_num_threads(n);
    const auto res = f();
    for (size_t k = 0; k < base.size(); ++k) {
      if (!at::equal(base[k], res[k])) {
        std::printf("%s: result %zu at %d threads differs from 1 thread\n", what, k, n);
        ++failures;
      }
    }
  }
  at::set_num_threads(before);
}

}  // namespace

int main() {
  auto& dispatcher = c10::Dispatcher::singleton();
  auto xcorr =
      dispatcher.findSchemaOrThrow("unitrack::xcorr", "").typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  auto rsm =
      dispatcher.findSchemaOrThrow("unitrack::rsm", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double)>();
  auto aff = dispatcher.findSchemaOrThrow("unitrack::topk_affinity", "")
                 .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, int64_t, double,
                                                           double, int64_t)>();
  auto prop = dispatcher.findSchemaOrThrow("unitrack::topk_propagate", "")
                  .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, double,
                                    int64_t)>();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();

  // NaN/inf in either xcorr input is an error on every method (the FFT used to smear one NaN over the whole map).
  for (const char* method : {"auto", "direct", "rows", "fft"}) {
    setenv("UNITRACK_XCORR_METHOD", method, 1);
    for (auto dtype : {at::kFloat, at::kDouble}) {
      at::manual_seed(0);
      auto search = at::randn({2, 5, 20, 22}, at::TensorOptions().dtype(dtype));
      auto templ = at::randn({5, 6, 4}, at::TensorOptions().dtype(dtype));
      auto bad_s = search.clone();
      bad_s.index_put_({1, 4, 19, 21}, nan);
      expect_error([&] { xcorr.call(bad_s, templ); }, "search contains NaN or inf values", method);
      auto bad_t = templ.clone();
      bad_t.index_put_({0, 0, 0}, -inf);
      expect_error([&] { xcorr.call(search, bad_t); }, "templ contains NaN or inf values", method);
    }
  }
  unsetenv("UNITRACK_XCORR_METHOD");
  auto overflow = xcorr.call(at::full({1, 1, 4, 4}, 3e38), at::full({1, 2, 2}, 3e38));
  if (!overflow.isinf().all().item<bool>()) {
    std::printf("an overflow from finite inputs must be returned as inf\n");
    ++failures;
  }

  // topk: labels are checked too; a tiny temperature with large features gives the hard maximum, not NaN.
  at::manual_seed(1);
  auto q = at::randn({1, 8, 5, 6}) * 1e3, k = at::randn({1, 3, 8, 5, 6}) * 1e3, lab = at::rand({1, 3, 2, 5, 6});
  auto bad_lab = lab.clone();
  bad_lab.index_put_({0, 2, 1, 4, 5}, nan);
  expect_error([&] { prop.call(q, k, bad_lab, 4, 0.05, 12.0, 1); }, "labels contains NaN or inf values", "topk labels");
  auto [w, idx] = aff.call(q, k, 4, 1e-33, 0.0, 1);
  if (!w.isfinite().all().item<bool>() || !at::equal(w.select(1, 0), at::ones_like(w.select(1, 0)))) {
    std::printf("topk with a tiny temperature must give the hard maximum\n");
    ++failures;
  }

  // Temperatures below 1 / finfo(dtype).max are rejected (rsm returned NaN there).
  auto tp = at::rand({5, 4}), dp = at::rand({3, 4});
  auto ts = at::tensor(at::ArrayRef<int64_t>({2, 3}), at::kLong),
       ds = at::tensor(at::ArrayRef<int64_t>({3}), at::kLong);
  expect_error([&] { rsm.call(tp, ts, dp, ds, 1e-39); }, "temperature must be >= 2.93874e-39 for float32 inputs",
               "rsm float32 temperature");
  expect_error([&] { rsm.call(tp.to(at::kDouble), ts, dp.to(at::kDouble), ds, 5e-309); },
               "temperature must be >= 5.56268e-309 for float64 inputs", "rsm float64 temperature");
  expect_error([&] { aff.call(q, k, 4, 1e-39, 12.0, 1); }, "temperature must be >= 2.93874e-39", "topk temperature");
  if (!rsm.call(tp, ts, dp, ds, 3e-39).isfinite().all().item<bool>()) {
    std::printf("rsm at the smallest valid float32 temperature must be finite\n");
    ++failures;
  }

  // Bitwise the same at 1, 2 and 3 threads.
  at::manual_seed(2);
  for (auto dtype : {at::kFloat, at::kDouble}) {
    auto opts = at::TensorOptions().dtype(dtype);
    auto T = at::relu(at::randn({800, 32}, opts)), D = at::relu(at::randn({760, 32}, opts));  // >= 2^17 affinities
    std::vector<int64_t> tsz(20, 40), dsz(19, 40);
    auto tsizes = at::tensor(at::ArrayRef<int64_t>(tsz), at::kLong),
         dsizes = at::tensor(at::ArrayRef<int64_t>(dsz), at::kLong);
    expect_thread_independent([&] { return std::vector<at::Tensor>{rsm.call(T, tsizes, D, dsizes, 0.01)}; }, "rsm");
    auto wide = at::randn({64, 4096}, opts);
    auto one = at::tensor(at::ArrayRef<int64_t>({64}), at::kLong);
    expect_thread_independent([&] { return std::vector<at::Tensor>{rsm.call(wide, one, wide.flip(0), one, 0.01)}; },
                              "rsm, long channel sum");
    setenv("UNITRACK_XCORR_METHOD", "fft", 1);
    auto s = at::randn({4, 16, 128, 128}, opts), t = at::randn({16, 30, 30}, opts);
    expect_thread_independent([&] { return std::vector<at::Tensor>{xcorr.call(s, t)}; }, "xcorr fft");
    unsetenv("UNITRACK_XCORR_METHOD");
    auto qq = at::randn({2, 16, 13, 17}, opts), kk = at::randn({2, 3, 16, 13, 17}, opts);
    auto ll = at::rand({2, 3, 2, 13, 17}, opts);
    expect_thread_independent([&] { return std::vector<at::Tensor>{prop.call(qq, kk, ll, 7, 0.05, 3.5, 1)}; },
                              "topk_propagate");
  }

  std::printf("test_op_edges: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
