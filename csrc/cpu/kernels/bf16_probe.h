// How fast this CPU runs vdpbf16ps, relative to float32 FMAs (compiled at the avx512bf16 level only:
// csrc/cpu/isa/bf16_probe_avx512bf16.cpp). common/isa.cpp asks once, at load, on a CPU whose best level is
// avx512bf16, and keeps the widening kernels of the avx512 level when the bf16 dot product is not clearly faster.
//
// Why measure: the instruction's rate differs by a factor of four between cores that have it. On the Intel Xeon this
// project is developed on (Sapphire Rapids class), a 512-bit vdpbf16ps retires once per ~2 cycles (0.60 ns, against
// 0.15 ns for a vfmadd231ps with the same 12 independent accumulators), so per multiply-add it runs at half the
// float32 rate, and the bf16 kernels of this level were 1.1-1.5x slower than float32 there; AMX tiles are the native
// path on those CPUs. A core that runs it at the FMA's instruction rate would measure 2.0 (twice the float32
// multiply-adds per cycle). The threshold (isa::kBf16DotMinRate = 1.25, common/isa.h) lies 2.5x above the 0.5
// measured here and 1.6x below 2.0, far outside the probe's noise (0.50-0.52 in repeated runs); it takes ~0.2 ms.
#ifndef UNITRACK_ISA_SKIP
#if UNITRACK_SIMD_AVX512BF16 && !UNITRACK_SIMD_AMX
namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace probe {

constexpr int kChains = 12;  // independent accumulators: more than latency x throughput of either instruction

// Seconds for `iters` x kChains independent `acc = op(acc, x, y)` on zmm registers.
template <typename X, typename Op>
inline double time_chains(int64_t iters, X x, X y, Op op) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = op(acc[i], x, y);
    __asm__ volatile("" : "+v"(x), "+v"(y));  // keep the loop: x and y could change
  }
  const auto t1 = std::chrono::steady_clock::now();
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  volatile float sink = s[0];
  (void)sink;
  return std::chrono::duration<double>(t1 - t0).count();
}

inline double time_dpbf16(int64_t iters) {
  return time_chains(iters, (__m512bh)_mm512_set1_epi32(0x3f803f80), (__m512bh)_mm512_set1_epi32(0x3f803f81),
                     [](__m512 a, __m512bh x, __m512bh y) { return _mm512_dpbf16_ps(a, x, y); });
}
inline double time_fma(int64_t iters) {
  return time_chains(iters, _mm512_set1_ps(1.0f), _mm512_set1_ps(0.5f),
                     [](__m512 a, __m512 x, __m512 y) { return _mm512_fmadd_ps(a, x, y); });
}

}  // namespace probe

// Multiply-adds per second of vdpbf16ps (32 per instruction) over those of float32 FMAs (16 per instruction): the
// fastest of 7 interleaved runs of each, after a warm-up (the first 512-bit instructions may run at a lower rate
// while the core powers its vector units up).
double bf16_dot_rate() {
  constexpr int64_t kIters = 4000;
  probe::time_fma(kIters);
  probe::time_dpbf16(kIters);
  double best_dp = 1e30, best_fma = 1e30;
  for (int r = 0; r < 7; ++r) {
    best_fma = std::min(best_fma, probe::time_fma(kIters));
    best_dp = std::min(best_dp, probe::time_dpbf16(kIters));
  }
  return best_dp > 0 ? 2.0 * best_fma / best_dp : 0.0;
}

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif
#endif  // UNITRACK_ISA_SKIP
