// Start of one ISA-specific translation unit (csrc/cpu/isa/<op>_<level>.cpp). Before including this file the TU
// defines UNITRACK_ISA (the namespace: baseline, avx2, avx512, avx512bf16, amx) and UNITRACK_ISA_LEVEL (0 .. 4).
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
#include <chrono>
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
#elif UNITRACK_ISA_LEVEL == 2
#pragma clang attribute push(                                                                                  \
    __attribute__((target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,avx512f,avx512bw,avx512dq,avx512vl,avx512cd"))), \
    apply_to = function)
#elif UNITRACK_ISA_LEVEL == 3
#pragma clang attribute push(                                                                                  \
    __attribute__((                                                                                            \
        target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512bf16"))), \
    apply_to = function)
#else
#pragma clang attribute push(                                                                                             \
    __attribute__((target(                                                                                                \
        "avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512bf16,amx-tile,amx-bf16"))), \
    apply_to = function)
#endif
#else
// ISA extensions only, never "arch=x86-64-v3": GCC refuses to inline a function whose arch or tune differs from the
// caller's, so with arch= every std::min / vector::operator[] / std::fma in a kernel became a real call (2-13x slower).
// The feature sets are those of the x86-64-v3 / x86-64-v4 levels that common/isa.cpp tests for.
#pragma GCC push_options
#if UNITRACK_ISA_LEVEL == 1
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse4.2,avx")
#elif UNITRACK_ISA_LEVEL == 2
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse4.2,avx")
#elif UNITRACK_ISA_LEVEL == 3
#pragma GCC target( \
    "avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse4.2,avx,avx512bf16")
#else
#pragma GCC target( \
    "avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse4.2,avx,avx512bf16,amx-tile,amx-bf16")
#endif
#endif
#endif

// What the kernels may use. GCC's target pragma does NOT define __AVX2__ / __FMA__ / __AVX512F__ (checked: g++ 12 in
// C++ mode), so the kernel headers test these instead; a -march=native build (UNITRACK_NATIVE=1) also sets them from
// the compiler's own macros.
#if !defined(UNITRACK_ISA_SKIP) && (UNITRACK_ISA_LEVEL >= 1 || (defined(__AVX2__) && defined(__FMA__)))
#define UNITRACK_SIMD_AVX2 1  // AVX2 + FMA (+ BMI2, F16C, ...): x86-64-v3
#else
#define UNITRACK_SIMD_AVX2 0
#endif
#if !defined(UNITRACK_ISA_SKIP) && (UNITRACK_ISA_LEVEL >= 2 || defined(__AVX512F__))
#define UNITRACK_SIMD_AVX512 1  // AVX-512 F/BW/DQ/VL: x86-64-v4
#else
#define UNITRACK_SIMD_AVX512 0
#endif
#if !defined(UNITRACK_ISA_SKIP) && UNITRACK_ISA_LEVEL >= 3
#define UNITRACK_SIMD_AVX512BF16 1  // + AVX512-BF16 (vdpbf16ps): the avx512bf16 and amx levels
#else
#define UNITRACK_SIMD_AVX512BF16 0
#endif
#if !defined(UNITRACK_ISA_SKIP) && UNITRACK_ISA_LEVEL >= 4
#define UNITRACK_SIMD_AMX 1  // + AMX-TILE, AMX-BF16 (the amx level; tile permission checked at load)
#else
#define UNITRACK_SIMD_AMX 0
#endif
#define UNITRACK_SIMD_SSE2 UNITRACK_X86  // part of x86-64 itself
