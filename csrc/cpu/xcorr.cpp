// CPU kernel of unitrack::xcorr -- valid multi-scale cross-correlation (no flip, no scaling).
//   out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * templ[k, i, j]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "common/checks.h"

namespace unitrack {
namespace {

template <typename scalar_t>
void xcorr_direct(const scalar_t* search, const scalar_t* templ, scalar_t* out, int64_t S, int64_t C, int64_t H,
                  int64_t W, int64_t h, int64_t w, bool per_scale) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  // One task per (scale, output row): independent outputs, no synchronisation needed.
  at::parallel_for(0, S * Ho, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t s = idx / Ho, r = idx % Ho;
      scalar_t* o = out + (s * Ho + r) * Wo;
      for (int64_t c = 0; c < Wo; ++c) o[c] = 0;
      const scalar_t* t_s = templ + (per_scale ? s * C * h * w : 0);
      for (int64_t k = 0; k < C; ++k) {
        for (int64_t i = 0; i < h; ++i) {
          const scalar_t* srow = search + ((s * C + k) * H + (r + i)) * W;
          const scalar_t* trow = t_s + (k * h + i) * w;
          for (int64_t j = 0; j < w; ++j) {
            const scalar_t t = trow[j];
            const scalar_t* sp = srow + j;
            for (int64_t c = 0; c < Wo; ++c) o[c] += sp[c] * t;
          }
        }
      }
    }
  });
}

at::Tensor xcorr_cpu(const at::Tensor& search, const at::Tensor& templ) {
  UNITRACK_CHECK_DIM(search, "search", 4);
  TORCH_CHECK(templ.dim() == 3 || templ.dim() == 4, "templ must be [C, h, w] or [S, C, h, w], got shape ",
              templ.sizes());
  UNITRACK_CHECK_FLOAT(search, "search");
  UNITRACK_CHECK_SAME_DTYPE(search, "search", templ, "templ");
  UNITRACK_CHECK_CPU(search, "search");
  UNITRACK_CHECK_CPU(templ, "templ");
  const int64_t S = search.size(0), C = search.size(1), H = search.size(2), W = search.size(3);
  const bool per_scale = templ.dim() == 4;
  TORCH_CHECK(!per_scale || templ.size(0) == S, "templ has ", templ.size(0), " scales but search has ", S);
  TORCH_CHECK(templ.size(-3) == C, "templ has ", templ.size(-3), " channels but search has ", C);
  const int64_t h = templ.size(-2), w = templ.size(-1);
  TORCH_CHECK(h <= H && w <= W, "templ (", h, "x", w, ") must not be larger than search (", H, "x", W, ")");
  auto s_c = search.contiguous();
  auto t_c = templ.contiguous();
  auto out = at::empty({S, H - h + 1, W - w + 1}, search.options());
  AT_DISPATCH_FLOATING_TYPES(search.scalar_type(), "xcorr_cpu", [&] {
    xcorr_direct<scalar_t>(s_c.const_data_ptr<scalar_t>(), t_c.const_data_ptr<scalar_t>(),
                           out.mutable_data_ptr<scalar_t>(), S, C, H, W, h, w, per_scale);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(unitrack, CPU, m) { m.impl("xcorr", &xcorr_cpu); }

}  // namespace unitrack
