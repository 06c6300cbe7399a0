// Backward CPU kernels of unitrack::xcorr (issue #16), compiled once per ISA level
// (csrc/cpu/isa/xcorr_backward_<level>.cpp; entry points csrc/cpu/xcorr_backward.cpp). With out[s, r, c] = sum_{k,i,j}
// search[s, k, r+i, c+j] templ[(s,) k, i, j] and g = d loss / d out [S, Ho, Wo]:
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

// One output row segment of grad_search: NB vectors from x0, acc[b] = sum_{i, j} f[i, j] g[(i) * ldg + j + b * N].
template <typename T, int NB>
inline void conv_row(const T* g, int64_t ldg, const T* f, int64_t i_lo, int64_t i_hi, int64_t w, T* out,
                     int64_t n_valid) {
  using V = simd::V<T>;
  constexpr int N = simd::Vec<T>::N;
  V acc[NB];
  for (int b = 0; b < NB; ++b) acc[b] = V{};
  for (int64_t i = i_lo; i < i_hi; ++i) {  // the template rows that meet a row of g (not its zero padding)
    const T* row = g + i * ldg;
    const T* fr = f + i * w;
    for (int64_t j = 0; j < w; ++j) {
      const V fv = simd::splat<V>(fr[j]);
      for (int b = 0; b < NB; ++b) acc[b] = simd::fmadd(fv, simd::load<V>(row + j + b * N), acc[b]);
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t left = n_valid - b * N;
    if (left >= N)
      simd::store(out + b * N, acc[b]);
    else if (left > 0)
      simd::store_n(out + b * N, acc[b], static_cast<int>(left));
  }
}

// out[s, k] [H, W] (H = Ho + h - 1, W = Wo + w - 1) = sum_{i', j'} gp[s][y + i', x + j'] tf[k][i', j'], with gp = g[s]
// zero-padded by h-1 rows and w-1 columns on each side and tf the template flipped in both axes.
template <typename T>
void grad_search_impl(const T* grad, const T* templ, T* out, int64_t S, int64_t C, int64_t Ho, int64_t Wo, int64_t h,
                      int64_t w, bool per_scale) {
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
        // gp row y + i holds g's row y + i - (h - 1) for 0 <= y + i - (h - 1) < Ho
        const int64_t i_lo = std::max<int64_t>(0, h - 1 - y), i_hi = std::min<int64_t>(h, h - 1 + Ho - y);
        for (int64_t x0 = 0; x0 < W; x0 += XB * N) {
          const int64_t n_valid = std::min<int64_t>(XB * N, W - x0);
          const T* gy = g + y * Wp + x0;
          T* oy = o + y * W + x0;
          switch ((n_valid + N - 1) / N) {  // only the vectors the row still needs
            case 1:
              conv_row<T, 1>(gy, Wp, f, i_lo, i_hi, w, oy, n_valid);
              break;
            case 2:
              conv_row<T, 2>(gy, Wp, f, i_lo, i_hi, w, oy, n_valid);
              break;
            case 3:
              conv_row<T, 3>(gy, Wp, f, i_lo, i_hi, w, oy, n_valid);
              break;
            default:
              conv_row<T, XB>(gy, Wp, f, i_lo, i_hi, w, oy, n_valid);
              break;
          }
        }
      }
    }
  });
}

// A vector from p where only `avail` elements may be read (the rest of the vector is then 0).
template <typename V, typename T>
inline V load_guarded(const T* p, int64_t avail) {
  constexpr int64_t N = static_cast<int64_t>(sizeof(V) / sizeof(T));
  return avail >= N ? simd::load<V>(p) : simd::load_n<V>(p, static_cast<int>(std::max<int64_t>(avail, 0)));
}

// NB template rows i0 .. i0+NB-1 and the template columns j0 .. j0+N-1 (lanes beyond w hold discarded values) of
// out[i, j] = sum_{s, r, c} g[s, r, c] x[s, r + i, c + j]: each loaded g value feeds NB fused multiply-adds.
template <typename T, int NB>
inline void corr_rows(const T* x, int64_t xs_stride, const T* g, int64_t s0, int64_t s1, int64_t H, int64_t W,
                      int64_t Ho, int64_t Wo, int64_t i0, int64_t j0, int64_t jn, T* out, int64_t w, const T* x_end) {
  using V = simd::V<T>;
  V acc[NB];
  for (int b = 0; b < NB; ++b) acc[b] = V{};
  for (int64_t s = s0; s < s1; ++s) {
    const T* gs = g + s * Ho * Wo;
    const T* xs = x + s * xs_stride;
    for (int64_t r = 0; r < Ho; ++r) {
      const T* grow = gs + r * Wo;
      const T* xr[NB];
      for (int b = 0; b < NB; ++b) xr[b] = xs + (r + i0 + b) * W + j0;
      // The last rows of the last plane: a full vector could read past the tensor (x_end), so guard those loads.
      const bool guard = xr[NB - 1] + Wo - 1 + simd::Vec<T>::N > x_end;
      if (!guard) {
        for (int64_t c = 0; c < Wo; ++c) {
          const V gv = simd::splat<V>(grow[c]);
          for (int b = 0; b < NB; ++b) acc[b] = simd::fmadd(gv, simd::load<V>(xr[b] + c), acc[b]);
        }
      } else {
        for (int64_t c = 0; c < Wo; ++c) {
          const V gv = simd::splat<V>(grow[c]);
          for (int b = 0; b < NB; ++b)
            acc[b] = simd::fmadd(gv, load_guarded<V>(xr[b] + c, static_cast<int64_t>(x_end - (xr[b] + c))), acc[b]);
        }
      }
    }
  }
  for (int b = 0; b < NB; ++b) simd::store_n(out + (i0 + b) * w + j0, acc[b], static_cast<int>(jn));
}

// out[(s,) k, i, j] = sum_{(s,) r, c} g[s, r, c] search[s, k, r + i, c + j]   (h = H - Ho + 1, w = W - Wo + 1):
// vectorised along the template columns j, four template rows at a time.
template <typename T>
void grad_templ_impl(const T* search, const T* grad, T* out, int64_t S, int64_t C, int64_t H, int64_t W, int64_t Ho,
                     int64_t Wo, bool per_scale) {
  constexpr int N = simd::Vec<T>::N;
  constexpr int IB = 4;
  const int64_t h = H - Ho + 1, w = W - Wo + 1;
  const int64_t tasks = per_scale ? S * C : C;
  if (tasks * h * w == 0) return;
  const T* x_end = search + S * C * H * W;
  torch::stable::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t k = task % C;
      const int64_t s0 = per_scale ? task / C : 0, s1 = per_scale ? s0 + 1 : S;
      const T* x = search + k * H * W;  // plane (s, k) at x + s * C * H * W
      T* o = out + task * h * w;
      for (int64_t j0 = 0; j0 < w; j0 += N) {
        const int64_t jn = std::min<int64_t>(N, w - j0);
        for (int64_t i0 = 0; i0 < h; i0 += IB) {
          switch (std::min<int64_t>(IB, h - i0)) {
            case 1:
              corr_rows<T, 1>(x, C * H * W, grad, s0, s1, H, W, Ho, Wo, i0, j0, jn, o, w, x_end);
              break;
            case 2:
              corr_rows<T, 2>(x, C * H * W, grad, s0, s1, H, W, Ho, Wo, i0, j0, jn, o, w, x_end);
              break;
            case 3:
              corr_rows<T, 3>(x, C * H * W, grad, s0, s1, H, W, Ho, Wo, i0, j0, jn, o, w, x_end);
              break;
            default:
              corr_rows<T, IB>(x, C * H * W, grad, s0, s1, H, W, Ho, Wo, i0, j0, jn, o, w, x_end);
              break;
          }
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
