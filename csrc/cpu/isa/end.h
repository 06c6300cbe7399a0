// End of one ISA-specific translation unit (see begin.h).
#if UNITRACK_ISA_LEVEL > 0 && !defined(UNITRACK_ISA_SKIP)
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
#undef UNITRACK_SIMD_AVX2
#undef UNITRACK_SIMD_AVX512
#undef UNITRACK_SIMD_AVX512BF16
#undef UNITRACK_SIMD_AMX
#undef UNITRACK_SIMD_SSE2
