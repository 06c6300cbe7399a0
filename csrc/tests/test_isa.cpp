// C++ test of the ISA-level decision (common/isa.h): UNITRACK_CPU_ISA values against CPUs of every level, including
// the case this CI machine cannot show for real (forcing avx512 on an AVX2-only CPU).
#include <cstdio>
#include <string>

#include "common/isa.h"

int main() {
  using unitrack::isa::Level;
  int failures = 0;
  auto expect = [&](const char* env, Level cpu, Level want, const std::string& needle) {
    std::string err;
    const Level got = unitrack::isa::decide(env, cpu, err);
    const bool ok = needle.empty() ? (err.empty() && got == want) : err.find(needle) != std::string::npos;
    if (!ok) {
      std::printf("decide(%s, %s): got %s, error '%s' (wanted %s / '%s')\n", env ? env : "null",
                  unitrack::isa::name(cpu), unitrack::isa::name(got), err.c_str(), unitrack::isa::name(want),
                  needle.c_str());
      ++failures;
    }
  };
  expect(nullptr, Level::kAvx2, Level::kAvx2, "");
  expect("", Level::kAvx512, Level::kAvx512, "");
  expect("auto", Level::kBaseline, Level::kBaseline, "");
  expect("baseline", Level::kAvx512, Level::kBaseline, "");
  expect("avx2", Level::kAvx512, Level::kAvx2, "");
  expect("avx2", Level::kAvx2, Level::kAvx2, "");
  expect("avx512", Level::kAvx2, Level::kAvx2,
         "UNITRACK_CPU_ISA=avx512 asks for a level this CPU does not support: its level is avx2");
  expect("avx2", Level::kBaseline, Level::kBaseline, "its level is baseline");
  expect("sse9", Level::kAvx2, Level::kAvx2,
         "UNITRACK_CPU_ISA must be baseline, avx2, avx512, amx or auto, got 'sse9' (this CPU's level: avx2)");
  expect("amx", Level::kAmx, Level::kAmx, "");
  expect("avx512", Level::kAmx, Level::kAvx512, "");
  expect("amx", Level::kAvx512, Level::kAvx512,
         "UNITRACK_CPU_ISA=amx asks for a level this CPU does not support: its level is avx512");
  std::printf("test_isa: %s (this CPU: %s)\n", failures ? "FAILED" : "passed",
              unitrack::isa::name(unitrack::isa::cpu_level()));
  return failures ? 1 : 0;
}
