#pragma once
// Runtime ISA dispatch of the CPU kernels (no -march=native anywhere in a default build).
//
// Every CPU kernel is compiled once per ISA level into its own namespace (unitrack::cpu::baseline / avx2 / avx512):
// one translation unit per (op, level) in csrc/cpu/isa/, which switches the target with csrc/cpu/isa/begin.h and
// includes the op's kernel header csrc/cpu/kernels/<op>.h. Each level exports a table of plain function pointers
// (e.g. TopkKernels, declared in csrc/cpu/kernels/tables.h); the op's entry point (csrc/cpu/<op>.cpp, compiled for
// the baseline ISA) calls select() once per call, which returns the table of the level picked at load time.
//
// Levels (x86-64 micro-architecture levels, as GCC's -march=x86-64-vN):
//   baseline = x86-64 (SSE2)  |  avx2 = x86-64-v3 (AVX2, FMA, BMI2, F16C)  |  avx512 = x86-64-v4 (AVX-512 F/BW/DQ/VL)
//   avx512bf16 = avx512 + AVX512-BF16: native bfloat16 dot products in vectors (vdpbf16ps; AMD Zen 4 and later,
//         Intel Cooper Lake and every AMX CPU). Chosen without UNITRACK_CPU_ISA only on a CPU without AMX whose
//         vdpbf16ps beats float32 FMAs (bf16_dot_rate() below; decide()).
//   amx = avx512bf16 + AMX-TILE + AMX-BF16 with the OS's permission for tile data (Linux >= 5.16,
//         arch_prctl(ARCH_REQ_XCOMP_PERM)): bfloat16 dot products in tiles (Intel Sapphire Rapids and later).
//   Only the ops with bf16 kernels (topk_propagate, xcorr) have tables at the two bf16 levels; the others run their
//   avx512 one there (select() below).
// Other architectures (aarch64, ...) build only the baseline level.
// UNITRACK_CPU_ISA=baseline|avx2|avx512|avx512bf16|amx forces a level; forcing one the CPU lacks is an error (see
// active()).
//
// Adding a level: one enum value + name + CPU test here, one target line in csrc/cpu/isa/begin.h, one
// csrc/cpu/isa/<op>_<level>.cpp per op that has such a kernel, and a pointer in select().
#include <string>

namespace unitrack {
namespace isa {

enum class Level : int { kBaseline = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Bf16 = 3, kAmx = 4 };

const char* name(Level level);
// The best level this CPU (and OS) supports, among those this build compiled.
Level cpu_level();
// The level in use: UNITRACK_CPU_ISA if set, else cpu_level() (avx512 instead of avx512bf16 where vdpbf16ps is
// slow: decide()). Picked once, when _C is loaded; throws (every call) a
// message naming the variable and the CPU's level if the variable asks for a level the CPU lacks or is unknown.
Level active();
// Multiply-adds per second of vdpbf16ps over float32 FMAs from which a CPU whose best level is avx512bf16 runs that
// level without being told to (below it, the avx512 level: bf16 widened to float32).
constexpr double kBf16DotMinRate = 1.25;
// The level for a UNITRACK_CPU_ISA value `env` on a CPU of level `cpu`; sets `error` (and returns `cpu`) for an
// unknown value or a level above the CPU's. null/empty/"auto": the CPU's level, except avx512 for an avx512bf16 CPU
// whose `bf16_rate` (bf16_dot_rate()) is below kBf16DotMinRate. Pure: what active() applies once at load time.
Level decide(const char* env, Level cpu, std::string& error, double bf16_rate = kBf16DotMinRate);
// "baseline" or "baseline, avx2, avx512, avx512bf16, amx": the levels compiled into this build.
std::string built_levels();
// Multiply-adds per second of vdpbf16ps over those of float32 FMAs on this CPU (csrc/cpu/kernels/bf16_probe.h),
// measured once on first use (about 0.2 ms); 0 on a CPU without AVX512-BF16.
double bf16_dot_rate();

// The kernel table of the active level: `avx2` / `avx512` are null where the build has no such level.
template <typename Table>
const Table& select(const Table& baseline, const Table* avx2, const Table* avx512) {
  switch (active()) {
    case Level::kAmx:  // ops without bf16 tables run their avx512 kernels
    case Level::kAvx512Bf16:
    case Level::kAvx512:
      if (avx512) return *avx512;
      [[fallthrough]];
    case Level::kAvx2:
      if (avx2) return *avx2;
      [[fallthrough]];
    default:
      return baseline;
  }
}

// The same for ops that also have avx512bf16 and amx tables (null where the build has no such level).
template <typename Table>
const Table& select(const Table& baseline, const Table* avx2, const Table* avx512, const Table* avx512bf16,
                    const Table* amx) {
  const Level level = active();
  if (level == Level::kAmx && amx) return *amx;
  if ((level == Level::kAmx || level == Level::kAvx512Bf16) && avx512bf16) return *avx512bf16;
  return select(baseline, avx2, avx512);
}

}  // namespace isa
}  // namespace unitrack

#if defined(__x86_64__) || defined(_M_X64)
#define UNITRACK_X86 1
#else
#define UNITRACK_X86 0
#endif
