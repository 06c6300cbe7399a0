// CUDA kernels of unitrack::xcorr (see xcorr_kernel.h). CUDA runtime + std only.
//
// Tiled kernel: a block owns a kTile x kTile tile of outputs of one scale and a contiguous range of channels. It stages
// kc channels at a time of the (kTile+h-1) x (kTile+w-1) search patch and of the h x w template in shared memory;
// each thread accumulates one output. Template reads are warp broadcasts, search reads are consecutive per warp row.
// Shapes whose patch + template do not fit in shared memory for one channel fall back to a global-memory kernel.
#include "cuda/xcorr_kernel.h"

#include <algorithm>

namespace unitrack {
namespace cuda {
namespace {

constexpr int kTile = 16;
constexpr size_t kSmemBudget = 48 * 1024;  // default dynamic shared memory limit, no opt-in needed
constexpr int kMaxChunk = 8;

template <typename T>
__global__ void xcorr_tiled_kernel(const T* __restrict__ search, const T* __restrict__ templ, T* __restrict__ out,
                                   int64_t S, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale,
                                   int splits, int64_t c_per_split, int kc) {
  extern __shared__ unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  const int64_t PH = kTile + h - 1, PW = kTile + w - 1;
  T* patch = smem;               // [kc, PH, PW]
  T* tsh = smem + kc * PH * PW;  // [kc, h, w]
  const int64_t s = blockIdx.z / splits;
  const int split = static_cast<int>(blockIdx.z % splits);
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kTile, c0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  const int64_t k_begin = split * c_per_split, k_end = min(C, k_begin + c_per_split);
  const T* search_s = search + s * C * H * W;
  const T* templ_s = templ + (per_scale ? s * C * h * w : 0);
  T acc = 0;
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kc) {
    const int n = static_cast<int>(min(static_cast<int64_t>(kc), k_end - k0));
    __syncthreads();
    for (int64_t e = tid; e < n * PH * PW; e += kTile * kTile) {
      const int64_t kk = e / (PH * PW), rem = e % (PH * PW), py = rem / PW, px = rem % PW;
      const int64_t y = r0 + py, x = c0 + px;
      patch[e] = (y < H && x < W) ? search_s[((k0 + kk) * H + y) * W + x] : T(0);
    }
    for (int64_t e = tid; e < n * h * w; e += kTile * kTile) tsh[e] = templ_s[k0 * h * w + e];
    __syncthreads();
    for (int kk = 0; kk < n; ++kk) {
      const T* p = patch + (kk * PH + ty) * PW + tx;
      const T* t = tsh + kk * h * w;
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) acc += p[i * PW + j] * t[i * w + j];
      }
    }
  }
  const int64_t r = r0 + ty, c = c0 + tx;
  if (r < Ho && c < Wo) out[((static_cast<int64_t>(split) * S + s) * Ho + r) * Wo + c] = acc;
}

template <typename T>
__global__ void xcorr_global_kernel(const T* __restrict__ search, const T* __restrict__ templ, T* __restrict__ out,
                                    int64_t S, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale,
                                    int splits, int64_t c_per_split) {
  const int64_t Ho = H - h + 1, Wo = W - w + 1;
  const int64_t s = blockIdx.z / splits;
  const int split = static_cast<int>(blockIdx.z % splits);
  const int64_t r = static_cast<int64_t>(blockIdx.y) * kTile + threadIdx.y;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kTile + threadIdx.x;
  if (r >= Ho || c >= Wo) return;
  const int64_t k_begin = split * c_per_split, k_end = min(C, k_begin + c_per_split);
  const T* templ_s = templ + (per_scale ? s * C * h * w : 0);
  T acc = 0;
  for (int64_t k = k_begin; k < k_end; ++k) {
    const T* sp = search + ((s * C + k) * H + r) * W + c;
    const T* tp = templ_s + k * h * w;
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) acc += sp[i * W + j] * tp[i * w + j];
  }
  out[((static_cast<int64_t>(split) * S + s) * Ho + r) * Wo + c] = acc;
}

// out[e] = sum_{split} partial[split, e] in split order.
template <typename T>
__global__ void xcorr_reduce_kernel(const T* __restrict__ partial, T* __restrict__ out, int64_t n, int splits) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  T acc = 0;
  for (int sp = 0; sp < splits; ++sp) acc += partial[sp * n + e];
  out[e] = acc;
}

template <typename T>
cudaError_t launch(const T* search, const T* templ, T* out, T* workspace, const XcorrShape& sh, int splits,
                   cudaStream_t stream) {
  const int64_t Ho = sh.H - sh.h + 1, Wo = sh.W - sh.w + 1;
  const int64_t n = sh.S * Ho * Wo;
  if (n == 0) return cudaSuccess;
  splits = std::max(1, splits);
  if (sh.C == 0) return cudaMemsetAsync(out, 0, n * sizeof(T), stream);
  const int64_t c_per_split = (sh.C + splits - 1) / splits;
  T* dst = splits > 1 ? workspace : out;
  const dim3 block(kTile, kTile);
  const dim3 grid(static_cast<unsigned>((Wo + kTile - 1) / kTile), static_cast<unsigned>((Ho + kTile - 1) / kTile),
                  static_cast<unsigned>(sh.S * splits));
  const size_t per_channel = static_cast<size_t>((kTile + sh.h - 1) * (kTile + sh.w - 1) + sh.h * sh.w) * sizeof(T);
  if (per_channel <= kSmemBudget) {
    const int kc = static_cast<int>(std::min<size_t>(kMaxChunk, kSmemBudget / per_channel));
    xcorr_tiled_kernel<T><<<grid, block, kc * per_channel, stream>>>(search, templ, dst, sh.S, sh.C, sh.H, sh.W, sh.h,
                                                                     sh.w, sh.per_scale, splits, c_per_split, kc);
  } else {
    xcorr_global_kernel<T><<<grid, block, 0, stream>>>(search, templ, dst, sh.S, sh.C, sh.H, sh.W, sh.h, sh.w,
                                                       sh.per_scale, splits, c_per_split);
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess || splits == 1) return err;
  xcorr_reduce_kernel<T><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(workspace, out, n, splits);
  return cudaGetLastError();
}

}  // namespace

int xcorr_num_splits(const XcorrShape& sh, int device) {
  int sms = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || sms <= 0) sms = 80;
  const int64_t Ho = sh.H - sh.h + 1, Wo = sh.W - sh.w + 1;
  const int64_t blocks = ((Ho + kTile - 1) / kTile) * ((Wo + kTile - 1) / kTile) * std::max<int64_t>(sh.S, 1);
  int64_t splits = (2 * sms + blocks - 1) / blocks;
  splits = std::min<int64_t>(splits, std::max<int64_t>(1, sh.C / 8));  // at least 8 channels per split
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(splits, 64)));
}

size_t xcorr_workspace_elems(const XcorrShape& sh, int splits) {
  if (splits <= 1) return 0;
  return static_cast<size_t>(splits) * sh.S * (sh.H - sh.h + 1) * (sh.W - sh.w + 1);
}

template <typename T>
cudaError_t launch_xcorr(const T* search, const T* templ, T* out, T* workspace, const XcorrShape& shape, int splits,
                         cudaStream_t stream) {
  return launch<T>(search, templ, out, workspace, shape, splits, stream);
}
template cudaError_t launch_xcorr<float>(const float*, const float*, float*, float*, const XcorrShape&, int,
                                         cudaStream_t);
template cudaError_t launch_xcorr<double>(const double*, const double*, double*, double*, const XcorrShape&, int,
                                          cudaStream_t);

}  // namespace cuda
}  // namespace unitrack
