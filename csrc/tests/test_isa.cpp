// C++ test of the ISA-level decision (common/isa.h): UNITRACK_CPU_ISA values against CPUs of every level, including
// the case this CI machine cannot show for real (forcing avx512 on an AVX2-only CPU).
#include <cstdio>
#include <string>

#include "common/isa.h"

int main() {
  using unitrack::isa::Level;
  int failures = 0;
  auto expect = [&](const char* env, Level cpu, Level want, const std::string& needle, double rate = 2.0) {
    std::string err;
    const Level got = unitrack::isa::decide(env, cpu, err, rate);
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
  expect(
      "sse9", Level::kAvx2, Level::kAvx2,
      "UNITRACK_CPU_ISA must be baseline, avx2, avx512, avx512bf16, amx or auto, got 'sse9' (this CPU's level: avx2)");
  expect("amx", Level::kAmx, Level::kAmx, "");
  expect("avx512", Level::kAmx, Level::kAvx512, "");
  expect("amx", Level::kAvx512, Level::kAvx512,
         "UNITRACK_CPU_ISA=amx asks for a level this CPU does not support: its level is avx512");
  expect("avx512bf16", Level::kAmx, Level::kAvx512Bf16, "");
  expect("avx512bf16", Level::kAvx512Bf16, Level::kAvx512Bf16, "");
  expect("avx512", Level::kAvx512Bf16, Level::kAvx512, "");
  expect("amx", Level::kAvx512Bf16, Level::kAvx512Bf16,
         "UNITRACK_CPU_ISA=amx asks for a level this CPU does not support: its level is avx512bf16");
  expect("avx512bf16", Level::kAvx512, Level::kAvx512,
         "UNITRACK_CPU_ISA=avx512bf16 asks for a level this CPU does not support: its level is avx512");
  // Automatic choice on an AVX512-BF16 CPU without AMX: avx512bf16 only where vdpbf16ps beats float32 FMAs.
  expect(nullptr, Level::kAvx512Bf16, Level::kAvx512Bf16, "", 2.0);
  expect("auto", Level::kAvx512Bf16, Level::kAvx512, "", 0.5);
  expect(nullptr, Level::kAvx512Bf16, Level::kAvx512, "", 1.2);
  expect("avx512bf16", Level::kAvx512Bf16, Level::kAvx512Bf16, "", 0.5);  // forced: runs whatever the rate
  expect(nullptr, Level::kAmx, Level::kAmx, "", 0.5);                     // AMX CPUs use their tiles
  const double rate = unitrack::isa::bf16_dot_rate();
  if (!(rate >= 0.0 && rate < 100.0) || ((rate > 0.0) != (unitrack::isa::cpu_level() >= Level::kAvx512Bf16))) {
    std::printf("bf16_dot_rate() = %g on a CPU of level %s\n", rate, unitrack::isa::name(unitrack::isa::cpu_level()));
    ++failures;
  }
  std::printf("test_isa: %s (this CPU: %s, vdpbf16ps rate %.2f)\n", failures ? "FAILED" : "passed",
              unitrack::isa::name(unitrack::isa::cpu_level()), rate);
  return failures ? 1 : 0;
}
