// C++ test of unitrack::xcorr through the dispatcher, against at::conv2d (which is a correlation).
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdio>

int main() {
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("unitrack::xcorr", "").typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  int failures = 0;
  for (auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(0);
    auto search = at::randn({3, 7, 19, 23}, at::TensorOptions().dtype(dtype));
    auto shared = at::randn({7, 5, 4}, at::TensorOptions().dtype(dtype));
    auto per_scale = at::randn({3, 7, 5, 4}, at::TensorOptions().dtype(dtype));
    auto out = op.call(search, shared);
    auto ref = at::conv2d(search, shared.unsqueeze(0)).squeeze(1);
    if (!at::allclose(out, ref, 1e-4, 1e-4)) { std::printf("xcorr shared template mismatch\n"); ++failures; }
    auto out2 = op.call(search, per_scale);
    auto ref2 = at::conv2d(search.reshape({1, 21, 19, 23}), per_scale, std::nullopt, at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, 3).squeeze(0);
    if (!at::allclose(out2, ref2, 1e-4, 1e-4)) { std::printf("xcorr per-scale template mismatch\n"); ++failures; }
  }
  // A bad argument must raise a c10::Error naming the argument, not crash.
  bool raised = false;
  try {
    op.call(at::randn({3, 7, 10, 10}), at::randn({7, 11, 3}));
  } catch (const c10::Error& e) {
    raised = std::string(e.what()).find("larger than search") != std::string::npos;
  }
  if (!raised) { std::printf("oversized template did not raise the expected error\n"); ++failures; }
  std::printf("test_xcorr: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
