// Backward CPU kernels of unitrack::xcorr (issue #16), compiled once per ISA level (csrc/cpu/isa/xcorr_backward_<level>.cpp;
// entry points csrc/cpu/xcorr_backward.cpp). With out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] templ[(s,) k, i, j]
// and g = d loss / d out [S, Ho, Wo]:
//   d/d search[s, k, y, x] = sum_{i,j} g[s, y-i, x-j] templ[(s,) k, i, j]     the full convolution of g[s] with each
//                                                                               template channel (grad_search)
//   d/d templ[(s,) k, i, j] = sum_{(s,) r, c} g[s, r, c] search[s, k, r+i, c+j] the valid correlation of each search
//                                                                               channel with g[s] (grad_templ; a shared
//                                                                               template sums over s)
// Both are linear in each argument, and their adjoints are xcorr itself and each other, which gives xcorr a double
// backward (unitrack_ext/_autograd.py). Direct sums, vectorised with the level's vectors (csrc/cpu/simd.h), one task
// per output plane and a fixed summation order (the same result at every thread count). Cost: S*C*Ho*Wo*h*w
// multiply-adds each, like the direct forward (no FFT path: large templates cost what the direct forward costs).
#ifndef UNITRACK_ISA_SKIP
#include "cpu/simd.h"

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace xcorr_backward {

// out[s, k] [H, W] (H = Ho + h - 1, W = Wo + w - 1) = sum_{i', j'} gp[s][y + i', x + j'] tf[k][i', j'], with gp = g[s]
// zero-padded by h-1 rows and w-1 columns on each side and tf the template flipped in both axes.
template <typename T>
void grad_search_impl(const T* grad, const T* templ, T* out, int64_t S, int64_t C, int64_t Ho, int64_t Wo, int64_t h,
                      int64_t w, bool per_scale) {
  using V = simd::V<T>;
  constexpr int N = simd::Vec<T>::N;
  constexpr int XB = 4;  // output vectors per row step
  const int64_t H = Ho + h - 1, W = Wo + w - 1;
  if (S * C * H * W == 0) return;
  const int64_t Hp = H + h - 1, Wp = W + w - 1 + XB * N;  // room for the last block's over-read (zeros)
  std::vector<T> gp(static_cast<size_t>(S * Hp * Wp), T(0));
  for (int64_t s = 0; s < S; ++s)
    for (int64_t r = 0; r < Ho; ++r)
      std::copy(grad + (s * Ho + r) * Wo, grad + (s * Ho + r + 1) * Wo, gp.data() + (s * Hp + r + h - 1) * Wp + w - 1);
  const int64_t n_templ = per_scale ? S * C : C;
  std::vector<T> tf(static_cast<size_t>(n_templ * h * w));
  for (int64_t t = 0; t < n_templ; ++t)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) tf[(t * h + h - 1 - i) * w + w - 1 - j] = templ[(t * h + i) * w + j];
  torch::stable::parallel_for(0, S * C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t s = task / C, k = task % C;
      const T* g = gp.data() + s * Hp * Wp;
      const T* f = tf.data() + (per_scale ? task : k) * h * w;
      T* o = out + task * H * W;
      for (int64_t y = 0; y < H; ++y) {
        for (int64_t x0 = 0; x0 < W; x0 += XB * N) {
          V acc[XB];
          for (int b = 0; b < XB; ++b) acc[b] = V{};
          for (int64_t i = 0; i < h; ++i) {
            const T* row = g + (y + i) * Wp + x0;
            const T* fr = f + i * w;
            for (int64_t j = 0; j < w; ++j) {
              const V fv = simd::splat<V>(fr[j]);
              for (int b = 0; b < XB; ++b) acc[b] = simd::fmadd(fv, simd::load<V>(row + j + b * N), acc[b]);
            }
          }
          for (int b = 0; b < XB; ++b) {
            const int64_t x = x0 + b * N;
            if (x >= W) break;
            if (x + N <= W)
              simd::store(o + y * W + x, acc[b]);
            else
              simd::store_n(o + y * W + x, acc[b], static_cast<int>(W - x));
          }
        }
      }
    }
  });
}

// out[(s,) k, i, j] = sum_{(s,) r, c} g[s, r, c] search[s, k, r + i, c + j]   (h = H - Ho + 1, w = W - Wo + 1)
template <typename T>
void grad_templ_impl(const T* search, const T* grad, T* out, int64_t S, int64_t C, int64_t H, int64_t W, int64_t Ho,
                     int64_t Wo, bool per_scale) {
  using V = simd::V<T>;
  constexpr int N = simd::Vec<T>::N;
  constexpr int JB = 4;  // template columns per pass (they share each loaded vector of g)
  const int64_t h = H - Ho + 1, w = W - Wo + 1;
  const int64_t tasks = per_scale ? S * C : C;
  if (tasks * h * w == 0) return;
  const int64_t full = Wo / N * N;
  const int tail = static_cast<int>(Wo - full);
  torch::stable::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t k = task % C;
      const int64_t s0 = per_scale ? task / C : 0, s1 = per_scale ? s0 + 1 : S;
      T* o = out + task * h * w;
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j0 = 0; j0 < w; j0 += JB) {
          const int jn = static_cast<int>(std::min<int64_t>(JB, w - j0));
          V acc[JB];
          for (int b = 0; b < JB; ++b) acc[b] = V{};
          for (int64_t s = s0; s < s1; ++s) {
            const T* gs = grad + s * Ho * Wo;
            const T* xs = search + (s * C + k) * H * W;
            for (int64_t r = 0; r < Ho; ++r) {
              const T* grow = gs + r * Wo;
              const T* xrow = xs + (r + i) * W + j0;
              for (int64_t c = 0; c < full; c += N) {
                const V gv = simd::load<V>(grow + c);
                for (int b = 0; b < jn; ++b) acc[b] = simd::fmadd(gv, simd::load<V>(xrow + c + b), acc[b]);
              }
              if (tail) {
                const V gv = simd::load_n<V>(grow + full, tail);
                for (int b = 0; b < jn; ++b) acc[b] = simd::fmadd(gv, simd::load_n<V>(xrow + full + b, tail), acc[b]);
              }
            }
          }
          for (int b = 0; b < jn; ++b) o[i * w + j0 + b] = simd::hsum(acc[b]);
        }
      }
    }
  });
}

}  // namespace xcorr_backward

extern const XcorrBackwardKernels kXcorrBackwardKernels;
const XcorrBackwardKernels kXcorrBackwardKernels = {
    {&xcorr_backward::grad_search_impl<float>, &xcorr_backward::grad_templ_impl<float>},
    {&xcorr_backward::grad_search_impl<double>, &xcorr_backward::grad_templ_impl<double>},
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
