#include "common/isa.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#if UNITRACK_X86 && defined(__GNUC__)
#include <cpuid.h>
#endif
#if defined(__linux__) && UNITRACK_X86
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace unitrack {
#if UNITRACK_X86
namespace cpu::avx512bf16 {
double bf16_dot_rate();  // csrc/cpu/kernels/bf16_probe.h
}
#endif
namespace isa {
namespace {

// AMX tile data is an XSAVE component the Linux kernel (>= 5.16) enables per process on request; without the
// permission the first tile instruction faults. The request is process-wide and idempotent (oneDNN makes the same one).
bool amx_permitted() {
#if defined(__linux__) && UNITRACK_X86 && defined(SYS_arch_prctl)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

// AVX512-BF16 (CPUID leaf 7 subleaf 1: EAX bit 5). Its zmm state is the AVX-512 one, which x86-64-v4 already checks
// the OS enables.
bool avx512_bf16_cpu() {
#if UNITRACK_X86 && defined(__GNUC__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a >> 5) & 1u;
#else
  return false;
#endif
}

// AMX-TILE and AMX-BF16 (CPUID leaf 7 subleaf 0: EDX bits 24 and 22).
bool amx_bf16_cpu() {
#if UNITRACK_X86 && defined(__GNUC__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ((d >> 24) & 1u) && ((d >> 22) & 1u);
#else
  return false;
#endif
}

Level detect() {
#if UNITRACK_X86 && defined(__GNUC__)
  __builtin_cpu_init();
#if defined(__clang__) || __GNUC__ < 12
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  // GCC >= 12 knows the micro-architecture levels (the feature sets of -march=x86-64-v3/v4, OS support included).
  const bool v3 = __builtin_cpu_supports("x86-64-v3");
  const bool v4 = __builtin_cpu_supports("x86-64-v4");
#endif
  const bool bf16 = v4 && avx512_bf16_cpu();
  if (bf16 && amx_bf16_cpu() && amx_permitted()) return Level::kAmx;
  if (bf16) return Level::kAvx512Bf16;
  if (v4) return Level::kAvx512;
  if (v3) return Level::kAvx2;
#endif
  return Level::kBaseline;
}

struct Choice {
  Level cpu = Level::kBaseline;
  Level level = Level::kBaseline;
  std::string error;  // non-empty: UNITRACK_CPU_ISA asks for something unusable
};

Choice choose() {
  Choice c;
  c.cpu = detect();
  // The probe runs only where its answer matters: a CPU whose best level is avx512bf16.
  const double rate = c.cpu == Level::kAvx512Bf16 ? bf16_dot_rate() : kBf16DotMinRate;
  c.level = decide(std::getenv("UNITRACK_CPU_ISA"), c.cpu, c.error, rate);
  return c;
}

// Picked once, when the library is loaded (static initialisation), never re-read.
const Choice& choice() {
  static const Choice c = choose();
  return c;
}
[[maybe_unused]] const Choice& kChoiceAtLoad = choice();

}  // namespace

Level decide(const char* env, Level cpu, std::string& error, double bf16_rate) {
  error.clear();
  if (env == nullptr || *env == '\0' || std::string(env) == "auto") {
    // Chosen, not forced: the avx512bf16 level only where its dot product beats float32 FMAs (bf16_probe.h).
    if (cpu == Level::kAvx512Bf16 && bf16_rate < kBf16DotMinRate) return Level::kAvx512;
    return cpu;
  }
  const std::string want(env);
  Level forced;
  if (want == "baseline") {
    forced = Level::kBaseline;
  } else if (want == "avx2") {
    forced = Level::kAvx2;
  } else if (want == "avx512") {
    forced = Level::kAvx512;
  } else if (want == "avx512bf16") {
    forced = Level::kAvx512Bf16;
  } else if (want == "amx") {
    forced = Level::kAmx;
  } else {
    error = "UNITRACK_CPU_ISA must be baseline, avx2, avx512, avx512bf16, amx or auto, got '" + want +
            "' (this CPU's level: " + name(cpu) + ")";
    return cpu;
  }
  if (static_cast<int>(forced) > static_cast<int>(cpu)) {
    error = "UNITRACK_CPU_ISA=" + want + " asks for a level this CPU does not support: its level is " +
            std::string(name(cpu)) + " (levels built: " + built_levels() +
            "); unset the variable or choose a level up to " + name(cpu);
    return cpu;
  }
  return forced;
}

const char* name(Level level) {
  switch (level) {
    case Level::kAmx:
      return "amx";
    case Level::kAvx512Bf16:
      return "avx512bf16";
    case Level::kAvx512:
      return "avx512";
    case Level::kAvx2:
      return "avx2";
    default:
      return "baseline";
  }
}

Level cpu_level() {
  return choice().cpu;
}

Level active() {
  const Choice& c = choice();
  if (!c.error.empty()) throw std::runtime_error(c.error);
  return c.level;
}

double bf16_dot_rate() {
#if UNITRACK_X86
  static const double rate = detect() >= Level::kAvx512Bf16 ? cpu::avx512bf16::bf16_dot_rate() : 0.0;
  return rate;
#else
  return 0.0;
#endif
}

std::string built_levels() {
  return UNITRACK_X86 ? "baseline, avx2, avx512, avx512bf16, amx" : "baseline";
}

}  // namespace isa
}  // namespace unitrack
