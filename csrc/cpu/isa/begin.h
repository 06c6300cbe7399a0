// Start of one ISA-specific translation unit (csrc/cpu/isa/<op>_<level>.cpp). Before including this file the TU
// defines UNITRACK_ISA (the namespace: baseline, avx2, avx512) and UNITRACK_ISA_LEVEL (0, 1, 2).
//
// The classic trap of per-TU ISA flags: an inline function or template instantiated both here and in a baseline TU
// is merged by the linker (one COMDAT copy wins), so a baseline CPU could end up running AVX2 code (SIGILL). So:
//  1. every standard, intrinsic and torch header is included HERE, before the target switch (their inline code keeps
//     the baseline target; the compiler may still inline it into our AVX2 functions, never the other way round);
//  2. everything defined after the switch (the kernel headers, csrc/cpu/simd.h) lives in the namespace
//     unitrack::cpu::UNITRACK_ISA, so its symbols differ per level and nothing is shared between levels.
// tests/test_isa.py checks the result with objdump (no ymm/zmm instruction in the baseline kernels) and runs the op
// tests at every level this CPU has.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/isa.h"
#include "common/stable.h"
#include "cpu/kernels/tables.h"

#if UNITRACK_X86
#include <immintrin.h>
#endif

#if !defined(UNITRACK_ISA) || !defined(UNITRACK_ISA_LEVEL)
#error "define UNITRACK_ISA and UNITRACK_ISA_LEVEL before including cpu/isa/begin.h"
#endif

#if UNITRACK_ISA_LEVEL > 0 && !UNITRACK_X86
#define UNITRACK_ISA_SKIP 1  // not x86: only the baseline level exists
#elif UNITRACK_ISA_LEVEL > 0
#if defined(__clang__)
#if UNITRACK_ISA_LEVEL == 1
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe"))), apply_to = function)
#else
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,avx512f,avx512bw,avx512dq,avx512vl,avx512cd"))), apply_to = function)
#endif
#else
#pragma GCC push_options
#if UNITRACK_ISA_LEVEL == 1
#pragma GCC target("arch=x86-64-v3")
#else
#pragma GCC target("arch=x86-64-v4")
#endif
#endif
#endif
