// The one SIMD abstraction of the CPU kernels: GCC/Clang vector extensions, as wide as the ISA level of the
// translation unit that includes it (csrc/cpu/isa/begin.h sets the target first): 16 bytes for the baseline
// (SSE2 / NEON), 32 for avx2, 64 for avx512. Arithmetic is plain C++ on the vector types; the few operations that
// need an instruction the operators do not express (fused multiply-add, compare-to-bitmask) have intrinsic
// specialisations here and a portable fallback. No include guard and no non-namespaced code: it is included once per
// ISA translation unit and everything lives in unitrack::cpu::UNITRACK_ISA::simd (see begin.h for why).
namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace simd {

#if UNITRACK_SIMD_AVX512
constexpr int kBytes = 64;
#elif UNITRACK_SIMD_AVX2
constexpr int kBytes = 32;
#else
constexpr int kBytes = 16;
#endif

// A vector of NB bytes of T (NB may exceed the hardware width: the compiler splits it, e.g. 32-byte vectors on SSE2).
template <typename T, int NB>
struct VecN {
  typedef T type __attribute__((vector_size(NB)));
  static constexpr int N = NB / static_cast<int>(sizeof(T));
};
template <typename T>
using Vec = VecN<T, kBytes>;  // the native width of the level
template <typename T>
using V = typename Vec<T>::type;

template <typename VT, typename T>
inline VT load(const T* p) {
  VT v;
  std::memcpy(&v, p, sizeof(VT));  // unaligned load
  return v;
}
template <typename VT, typename T>
inline void store(T* p, const VT& v) {
  std::memcpy(p, &v, sizeof(VT));
}
// The first n lanes from p, the others 0 (reads exactly n elements).
template <typename VT, typename T>
inline VT load_n(const T* p, int n) {
  VT v = {};
  std::memcpy(&v, p, sizeof(T) * static_cast<size_t>(n));
  return v;
}
template <typename VT, typename T>
inline void store_n(T* p, const VT& v, int n) {
  std::memcpy(p, &v, sizeof(T) * static_cast<size_t>(n));
}
// Every lane x: one broadcast instruction. (Not `VT{} + x`: 0 + x is not folded for floats, so that costs an extra
// add per broadcast; nor a lane loop, which GCC 12 turns into one insert per lane.)
template <typename VT, typename T>
inline VT splat(T x) {
#if UNITRACK_SIMD_AVX512
  if constexpr (sizeof(VT) == 64 && std::is_same_v<T, float>) return _mm512_set1_ps(x);
  if constexpr (sizeof(VT) == 64 && std::is_same_v<T, double>) return _mm512_set1_pd(x);
#endif
#if UNITRACK_SIMD_AVX2
  if constexpr (sizeof(VT) == 32 && std::is_same_v<T, float>) return _mm256_set1_ps(x);
  if constexpr (sizeof(VT) == 32 && std::is_same_v<T, double>) return _mm256_set1_pd(x);
#endif
#if UNITRACK_SIMD_SSE2
  if constexpr (sizeof(VT) == 16 && std::is_same_v<T, float>) return _mm_set1_ps(x);
  if constexpr (sizeof(VT) == 16 && std::is_same_v<T, double>) return _mm_set1_pd(x);
#endif
  return VT{} + x;
}

// a * b + c, fused where the level has FMA (ISO C++ mode does not contract a * b + c by itself).
template <typename VT>
inline VT fmadd(const VT& a, const VT& b, const VT& c) {
#if UNITRACK_SIMD_AVX2
  using E = std::remove_reference_t<decltype(a[0])>;
  if constexpr (sizeof(VT) == 32 && std::is_same_v<E, float>) return _mm256_fmadd_ps(a, b, c);
  if constexpr (sizeof(VT) == 32 && std::is_same_v<E, double>) return _mm256_fmadd_pd(a, b, c);
#if UNITRACK_SIMD_AVX512
  if constexpr (sizeof(VT) == 64 && std::is_same_v<E, float>) return _mm512_fmadd_ps(a, b, c);
  if constexpr (sizeof(VT) == 64 && std::is_same_v<E, double>) return _mm512_fmadd_pd(a, b, c);
#endif
#endif
  return a * b + c;
}

// Bit l set where v[l] > thr (ordered: NaN lanes are 0).
template <typename VT, typename T>
inline uint64_t gt_mask(const VT& v, T thr) {
  constexpr int N = static_cast<int>(sizeof(VT) / sizeof(T));
#if UNITRACK_SIMD_AVX512
  if constexpr (sizeof(VT) == 64 && std::is_same_v<T, float>)
    return static_cast<uint64_t>(_mm512_cmp_ps_mask(v, _mm512_set1_ps(thr), _CMP_GT_OQ));
  if constexpr (sizeof(VT) == 64 && std::is_same_v<T, double>)
    return static_cast<uint64_t>(_mm512_cmp_pd_mask(v, _mm512_set1_pd(thr), _CMP_GT_OQ));
#endif
#if UNITRACK_SIMD_AVX2
  if constexpr (sizeof(VT) == 32 && std::is_same_v<T, float>)
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(thr), _CMP_GT_OQ)));
  if constexpr (sizeof(VT) == 32 && std::is_same_v<T, double>)
    return static_cast<uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(v, _mm256_set1_pd(thr), _CMP_GT_OQ)));
#endif
#if UNITRACK_SIMD_SSE2
  if constexpr (sizeof(VT) == 16 && std::is_same_v<T, float>)
    return static_cast<uint32_t>(_mm_movemask_ps(_mm_cmpgt_ps(v, _mm_set1_ps(thr))));
  if constexpr (sizeof(VT) == 16 && std::is_same_v<T, double>)
    return static_cast<uint32_t>(_mm_movemask_pd(_mm_cmpgt_pd(v, _mm_set1_pd(thr))));
#endif
  uint64_t m = 0;
  for (int l = 0; l < N; ++l) m |= static_cast<uint64_t>(v[l] > thr) << l;
  return m;
}

// bfloat16, stored as its raw bits (uint16_t): the upper half of a float32, so widening is exact (a shift).
inline float bf16_to_float(uint16_t x) {
  const uint32_t b = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
// x as T: bf16 bits (uint16_t) widened to float (kept as bits when T is uint16_t too), other types converted.
template <typename T, typename S>
inline T widen(S x) {
  if constexpr (std::is_same_v<S, T>)
    return x;
  else if constexpr (std::is_same_v<S, uint16_t>)
    return static_cast<T>(bf16_to_float(x));
  else
    return static_cast<T>(x);
}
// A float vector VT from as many bf16 values at p (exact: zero-extend to 32 bits and shift, e.g. vpmovzxwd+vpslld).
template <typename VT>
inline VT load_bf16(const uint16_t* p) {
  constexpr int N = static_cast<int>(sizeof(VT) / sizeof(float));
  using U16 = typename VecN<uint16_t, N * 2>::type;
  using U32 = typename VecN<uint32_t, N * 4>::type;
  U16 h;
  std::memcpy(&h, p, sizeof h);
  const U32 w = __builtin_convertvector(h, U32) << 16;
  VT v;
  std::memcpy(&v, &w, sizeof v);
  return v;
}
// A vector of T from p (storage S): bf16 bits widened to float, else a plain load.
template <typename VT, typename S>
inline VT load_widen(const S* p) {
  if constexpr (std::is_same_v<S, uint16_t>)
    return load_bf16<VT>(p);
  else
    return load<VT>(p);
}
// Whether a bf16 value is finite (its exponent is not all ones).
inline bool bf16_isfinite(uint16_t x) {
  return (x & 0x7F80u) != 0x7F80u;
}

// Sum of the lanes in a fixed pairwise order (the same at every thread count).
template <typename VT>
inline auto hsum(const VT& v) {
  using E = std::remove_cv_t<std::remove_reference_t<decltype(v[0])>>;
  constexpr int N = static_cast<int>(sizeof(VT) / sizeof(E));
  E lanes[N];
  std::memcpy(lanes, &v, sizeof(VT));
  for (int w = N / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) lanes[l] += lanes[l + w];
  return lanes[0];
}

// 8-float vectors with the first n (0..8) lanes from / to p, touching no memory past p[n - 1] (AVX2: masked
// loads/stores, no copy; elsewhere a copy through the vector).
using V8f = VecN<float, 32>::type;
inline V8f load8_n(const float* p, int n) {
#if UNITRACK_SIMD_AVX2
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_maskload_ps(p, m);
#else
  return load_n<V8f>(p, n);
#endif
}
inline void store8_n(float* p, const V8f& v, int n) {
#if UNITRACK_SIMD_AVX2
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  _mm256_maskstore_ps(p, m, v);
#else
  store_n(p, v, n);
#endif
}

#if UNITRACK_SIMD_AVX2
// The 8 x 8 float transpose of r in registers: three shuffle stages; out[j] holds column j of the block.
inline void transpose8x8_regs(__m256 r[8], __m256 out[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    out[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    out[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
}
// 8 bf16 at p widened to 8 floats, and back (the upper halves of the floats' bits: exact for bf16 values).
inline __m256 load8_bf16(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline void store8_bf16(uint16_t* p, __m256 v) {
  const __m256i w = _mm256_srli_epi32(_mm256_castps_si256(v), 16);
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(w, w), 0x08);  // lanes 0..7 in the low half
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
}
#endif

#if UNITRACK_SIMD_AVX2
// bf16 [16 channels][8 pixels] (row stride lds) -> [8 pixels][16 channels] (row stride ldd): channel rows are
// interleaved in pairs (one 32-bit lane = the pair of a pixel), then the 8 x 8 lanes are transposed as floats.
inline void transpose16x8_bf16(const uint16_t* src, int64_t lds, uint16_t* dst, int64_t ldd) {
  __m256 r[8], out[8];
  for (int i = 0; i < 8; ++i) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (2 * i) * lds));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (2 * i + 1) * lds));
    r[i] = _mm256_castsi256_ps(_mm256_set_m128i(_mm_unpackhi_epi16(a, b), _mm_unpacklo_epi16(a, b)));
  }
  transpose8x8_regs(r, out);
  for (int j = 0; j < 8; ++j) _mm256_storeu_ps(reinterpret_cast<float*>(dst + j * ldd), out[j]);
}
#endif

// dst[j * ldd + i] = src[i * lds + j] for an 8 x 8 block: floats, bf16 widened to float, or bf16 moved as bf16
// (Src/Dst = float/float, uint16_t/float, uint16_t/uint16_t). Register transposes at the AVX2 levels, element by
// element elsewhere.
template <typename Src, typename Dst>
inline void transpose8x8(const Src* src, int64_t lds, Dst* dst, int64_t ldd) {
#if UNITRACK_SIMD_AVX2
  __m256 r[8], out[8];
  for (int i = 0; i < 8; ++i) {
    if constexpr (std::is_same_v<Src, uint16_t>)
      r[i] = load8_bf16(src + i * lds);
    else
      r[i] = _mm256_loadu_ps(src + i * lds);
  }
  transpose8x8_regs(r, out);
  for (int j = 0; j < 8; ++j) {
    if constexpr (std::is_same_v<Dst, uint16_t>)
      store8_bf16(dst + j * ldd, out[j]);
    else
      _mm256_storeu_ps(dst + j * ldd, out[j]);
  }
#else
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) {
      if constexpr (std::is_same_v<Src, Dst>)
        dst[j * ldd + i] = src[i * lds + j];
      else
        dst[j * ldd + i] = widen<Dst>(src[i * lds + j]);
    }
#endif
}

#if UNITRACK_SIMD_AMX
// The AMX tile configuration of the bf16 tile kernels (per thread): tmm0 = 16 x 16 float32 scores, tmm1 = A (16 rows
// of 32 bf16), tmm2 = B (16 rows of 16 VNNI pairs). tiles_begin() loads it, tiles_end() releases the tile state.
inline void tiles_begin() {
  struct alignas(64) Config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
  } cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int t = 0; t < 3; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
}
inline void tiles_end() {
  _tile_release();
}
#endif

}  // namespace simd
}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
