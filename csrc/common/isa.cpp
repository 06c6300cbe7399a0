#include "common/isa.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace unitrack {
namespace isa {
namespace {

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
  c.level = decide(std::getenv("UNITRACK_CPU_ISA"), c.cpu, c.error);
  return c;
}

// Picked once, when the library is loaded (static initialisation), never re-read.
const Choice& choice() {
  static const Choice c = choose();
  return c;
}
[[maybe_unused]] const Choice& kChoiceAtLoad = choice();

}  // namespace

Level decide(const char* env, Level cpu, std::string& error) {
  error.clear();
  if (env == nullptr || *env == '\0' || std::string(env) == "auto") return cpu;
  const std::string want(env);
  Level forced;
  if (want == "baseline") {
    forced = Level::kBaseline;
  } else if (want == "avx2") {
    forced = Level::kAvx2;
  } else if (want == "avx512") {
    forced = Level::kAvx512;
  } else {
    error = "UNITRACK_CPU_ISA must be baseline, avx2, avx512 or auto, got '" + want + "' (this CPU's level: " +
            name(cpu) + ")";
    return cpu;
  }
  if (static_cast<int>(forced) > static_cast<int>(cpu)) {
    error = "UNITRACK_CPU_ISA=" + want + " asks for a level this CPU does not support: its level is " +
            std::string(name(cpu)) + " (levels built: " + built_levels() + "); unset the variable or choose a level up to " +
            name(cpu);
    return cpu;
  }
  return forced;
}

const char* name(Level level) {
  switch (level) {
    case Level::kAvx512: return "avx512";
    case Level::kAvx2: return "avx2";
    default: return "baseline";
  }
}

Level cpu_level() { return choice().cpu; }

Level active() {
  const Choice& c = choice();
  if (!c.error.empty()) throw std::runtime_error(c.error);
  return c.level;
}

std::string built_levels() { return UNITRACK_X86 ? "baseline, avx2, avx512" : "baseline"; }

}  // namespace isa
}  // namespace unitrack
