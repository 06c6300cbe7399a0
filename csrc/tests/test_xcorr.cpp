// C++ test of unitrack::xcorr through the dispatcher, against at::conv2d (which is a correlation).
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main() {
  auto op = c10::Dispatcher::singleton()
                .findSchemaOrThrow("unitrack::xcorr", "")
                .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  int failures = 0;
  // Both exact CPU methods (direct tiled dot products, FFT) and the automatic choice.
  for (const char* method : {"auto", "direct", "fft"}) {
    setenv("UNITRACK_XCORR_METHOD", method, 1);
    for (auto dtype : {at::kFloat, at::kDouble}) {
      at::manual_seed(0);
      auto search = at::randn({3, 7, 19, 23}, at::TensorOptions().dtype(dtype));
      auto shared = at::randn({7, 5, 4}, at::TensorOptions().dtype(dtype));
      auto per_scale = at::randn({3, 7, 5, 4}, at::TensorOptions().dtype(dtype));
      auto out = op.call(search, shared);
      auto ref = at::conv2d(search, shared.unsqueeze(0)).squeeze(1);
      if (!at::allclose(out, ref, 1e-4, 1e-4)) {
        std::printf("xcorr shared template mismatch\n");
        ++failures;
      }
      auto out2 = op.call(search, per_scale);
      auto ref2 = at::conv2d(search.reshape({1, 21, 19, 23}), per_scale, std::nullopt, at::IntArrayRef{1},
                             at::IntArrayRef{0}, at::IntArrayRef{1}, 3)
                      .squeeze(0);
      if (!at::allclose(out2, ref2, 1e-4, 1e-4)) {
        std::printf("xcorr per-scale template mismatch (%s)\n", method);
        ++failures;
      }
      // SOT-like shape (odd width, channel count not a multiple of the SIMD width) and a channels-last search map.
      auto big = at::randn({3, 37, 33, 29}, at::TensorOptions().dtype(dtype));
      auto bt = at::randn({37, 14, 14}, at::TensorOptions().dtype(dtype));
      auto ref3 = at::conv2d(big, bt.unsqueeze(0)).squeeze(1);
      auto out3 = op.call(big.contiguous(at::MemoryFormat::ChannelsLast), bt);
      if (!at::allclose(out3, ref3, 1e-4, 1e-3)) {
        std::printf("xcorr SOT-like/channels-last mismatch (%s)\n", method);
        ++failures;
      }
    }
  }
  unsetenv("UNITRACK_XCORR_METHOD");
  // A bad argument must raise an error naming the argument, not crash.
  bool raised = false;
  try {
    op.call(at::randn({3, 7, 10, 10}), at::randn({7, 11, 3}));
  } catch (const std::exception& e) {
    raised = std::string(e.what()).find("larger than search") != std::string::npos;
  }
  if (!raised) {
    std::printf("oversized template did not raise the expected error\n");
    ++failures;
  }
  raised = false;
  try {
    op.call(at::randn({7, 10, 10}), at::randn({7, 3, 3}));
  } catch (const std::exception& e) {
    raised = std::string(e.what()).find("search must be a 4-D tensor [S, C, H, W], got shape [7, 10, 10]") !=
             std::string::npos;
  }
  if (!raised) {
    std::printf("3-D search did not raise the expected error\n");
    ++failures;
  }
  std::printf("test_xcorr: %s\n", failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
