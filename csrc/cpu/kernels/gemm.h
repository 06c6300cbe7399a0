// A matrix product in a fixed reduction order, for CPU kernels whose results must not depend on the thread count
// (included by an op's kernel header, so it is compiled once per ISA level like the kernel; see csrc/cpu/isa/begin.h).
//
//   out[i, j] = sum_c X[i, c] * Y[j, c]        X [m, K], Y [n, K] row-major; out [m, n] row-major
//
// Why not BLAS: a GEMM through ATen (MKL here) may split the K sum between threads when m or n is small, so its result
// depends on the thread count (measured with MKL in torch 2.13: [64, 4096] x [4096, 64] and [1, 256] x [256, 1000]
// differ in the last bits between 1 and 2 threads). Here every output is ONE fused multiply-add chain over
// c = 0 .. K-1 started from 0, in one SIMD lane, whatever tile, task or thread computes it, so the result is the same
// at any thread count and in every run (it differs between ISA levels: FMA vs separate multiply and add).
//
// Schedule: Y is packed once into panels of NR rows, channel-major ([K][NR], zero tail), X into blocks of MR rows
// ([K][MR]); a register tile of MR x NR accumulators (MR x NV vectors of the level) multiplies one block by one panel.
// Tasks are (chunk of X blocks, panel): the chunk stays in L2, the panel (K * NR values, 32 KB for K = 256 floats at
// AVX-512) in L1 while the chunk's blocks stream through it.
#include "cpu/kernels/workspace.h"
#ifndef UNITRACK_ISA_SKIP

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace gemm {

template <typename T>
struct Tile {
  static constexpr int kLanes = simd::Vec<T>::N;
  static constexpr int NV = 2;            // vectors per tile row
  static constexpr int NR = NV * kLanes;  // panel width (outputs per tile row)
#if UNITRACK_SIMD_AVX512
  static constexpr int MR = 12;  // 24 of the 32 zmm registers hold accumulators
#else
  static constexpr int MR = 6;  // 12 of the 16 xmm/ymm registers hold accumulators
#endif
  static_assert(MR * NV + NV + 1 <= (UNITRACK_SIMD_AVX512 ? 32 : 16), "the register tile fits the register file");
};

// out[i * ldo + j] (i < mr, j < nr) = sum_c xp[c * MR + i] * yp[c * NR + j]: one MR x NR register tile.
template <typename T>
inline void micro_kernel(const T* __restrict__ xp, const T* __restrict__ yp, int64_t K, T* __restrict__ out,
                         int64_t ldo, int mr, int nr) {
  using V = simd::V<T>;
  constexpr int N = Tile<T>::kLanes, NV = Tile<T>::NV, NR = Tile<T>::NR, MR = Tile<T>::MR;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  for (int64_t c = 0; c < K; ++c) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = simd::load<V>(yp + c * NR + v * N);
    const T* a = xp + c * MR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V ai = simd::splat<V>(a[i]);
      for (int v = 0; v < NV; ++v) acc[i][v] = simd::fmadd(ai, b[v], acc[i][v]);
    }
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) simd::store(out + i * ldo + v * N, acc[i][v]);
    return;
  }
  alignas(64) T tile[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) simd::store(tile + i * NR + v * N, acc[i][v]);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) out[i * ldo + j] = tile[i * NR + j];
}

// dst[blk][c][r] = src[(blk * R + r) * K + c] (0 past the `rows` rows): rows packed channel-major in blocks of R.
template <typename T>
void pack_blocks(const T* src, int64_t rows, int64_t K, int64_t R, T* dst) {
  const int64_t blocks = (rows + R - 1) / R;
  torch::stable::parallel_for(0, blocks, 16, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      T* d = dst + blk * K * R;
      const int64_t r1 = std::min<int64_t>(R, rows - blk * R);
      for (int64_t r = 0; r < r1; ++r) {
        const T* s = src + (blk * R + r) * K;
        for (int64_t c = 0; c < K; ++c) d[c * R + r] = s[c];
      }
      for (int64_t r = r1; r < R; ++r)
        for (int64_t c = 0; c < K; ++c) d[c * R + r] = T(0);
    }
  });
}

// out [m, n] (row stride n) = X [m, K] Y [n, K]^T, in the fixed order described above.
template <typename T>
void gemm_nt(const T* X, int64_t m, const T* Y, int64_t n, int64_t K, T* out) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  if (m == 0 || n == 0) return;
  if (K == 0) {
    std::fill(out, out + m * n, T(0));
    return;
  }
  const int64_t xblocks = (m + MR - 1) / MR, panels = (n + NR - 1) / NR;
  // The packs live in the calling thread's workspace (csrc/cpu/kernels/workspace.h): a fresh std::vector is
  // zero-filled first (one more pass over the packs) and may be a fresh mapping (page faults). Measured same-run,
  // interleaved, on rsm: masks N=M=30 at 0.91-0.92 of the time, box shapes within the noise, outputs bitwise equal.
  struct Packs;
  const size_t xsize = static_cast<size_t>(xblocks * K * MR), ysize = static_cast<size_t>(panels * K * NR);
  T* xp = ThreadWorkspace<T, Packs>::get(xsize + ysize);
  T* yp = xp + xsize;
  pack_blocks(X, m, K, MR, xp);
  pack_blocks(Y, n, K, NR, yp);
  // A task multiplies one chunk of X blocks (about 256 KB: it stays in L2) by one Y panel; tasks are chunk-major, so
  // the consecutive tasks of a thread reuse the chunk and stream the panels (Y is read once per chunk).
  const int64_t chunk_blocks = std::max<int64_t>(1, (int64_t{256} << 10) / (MR * K * static_cast<int64_t>(sizeof(T))));
  const int64_t chunks = (xblocks + chunk_blocks - 1) / chunk_blocks;
  torch::stable::parallel_for(0, panels * chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; ++task) {
      const int64_t chunk = task / panels, panel = task % panels;
      const int64_t j0 = panel * NR;
      const int nr = static_cast<int>(std::min<int64_t>(NR, n - j0));
      const T* ypanel = yp + panel * K * NR;
      for (int64_t blk = chunk * chunk_blocks; blk < std::min(xblocks, (chunk + 1) * chunk_blocks); ++blk) {
        const int64_t i0 = blk * MR;
        const int mr = static_cast<int>(std::min<int64_t>(MR, m - i0));
        micro_kernel<T>(xp + blk * K * MR, ypanel, K, out + i0 * n + j0, n, mr, nr);
      }
    }
  });
  ThreadWorkspace<T, Packs>::release_if_large();
}

}  // namespace gemm
}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
