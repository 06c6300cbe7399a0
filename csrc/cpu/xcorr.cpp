// CPU entry point of unitrack::xcorr -- valid multi-scale cross-correlation (no flip, no scaling):
//   out[s, r, c] = sum_{k,i,j} search[s, k, r+i, c+j] * templ[(s,) k, i, j]
// Argument checks (csrc/ops/xcorr_args.h), the choice between three exact methods by a cost model, and the kernels of
// the ISA level picked at load time (csrc/cpu/kernels/xcorr.h: "direct" channels-last tiles, "rows" on NCHW) or the
// FFT through ATen's FFT ops (dispatcher shim, common/aten.h):
//   out = irfft2( sum_k rfft2(search_k) * conj(rfft2(templ_k, s=(H,W))) )[:H-h+1, :W-w+1]
// (circular correlation of size H x W equals the valid correlation on those entries; rounding differs from the direct
// sum by ~1e-6 (float32) / 1e-15 (float64) of max|out|).
#include <cmath>
#include <cstdlib>
#include <string>

#include "common/aten.h"
#include "common/checks.h"
#include "common/isa.h"
#include "cpu/kernels/tables.h"
#include "ops/xcorr_args.h"

namespace unitrack {
namespace {

template <typename T>
const cpu::XcorrFns<T>& fns(const cpu::XcorrKernels& k) {
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

// The FFT path: ATen's rfft2 / irfft2 (pocketfft, one thread per transform: the same result at any thread count) and
// the channel sum in a fixed order (spectrum_dot; ATen's sum over the channel dimension split it between threads).
template <typename T>
Tensor xcorr_fft(const Tensor& search, const Tensor& templ, int64_t Ho, int64_t Wo, const cpu::XcorrFns<T>& f,
                 bool per_scale) {
  const int64_t S = search.size(0), C = search.size(1), H = search.size(2), W = search.size(3), Wf = W / 2 + 1;
  const std::vector<int64_t> size{H, W};
  const Tensor Xf = torch::stable::contiguous(aten::fft_rfft2(search, size));  // [S, C, H, Wf] complex
  const Tensor Tf = torch::stable::contiguous(aten::fft_rfft2(templ, size));   // [(S,) C, H, Wf] (zero-padded)
  Tensor K = torch::stable::new_empty(Xf, {S, H, Wf});
  f.spectrum_dot(static_cast<const T*>(Xf.const_data_ptr()), static_cast<const T*>(Tf.const_data_ptr()),
                 static_cast<T*>(K.mutable_data_ptr()), S, C, H * Wf, per_scale);
  Tensor full = aten::fft_irfft2(K, size);  // [S, H, W] circular correlation
  Tensor rows = torch::stable::narrow(full, 1, 0, Ho);
  return torch::stable::contiguous(torch::stable::narrow(rows, 2, 0, Wo));
}

enum class Method { Direct, Rows, FFT };

// Cost model in units of one direct multiply-add. Calibrated on x86-64 (AVX2, 2 cores, ATen's MKL/pocketfft
// rfft2): the tiled direct kernel runs at 0.05-0.3 ns per MAC (better for wider templates), while a real H x W
// transform through ATen costs 4-11 ns per H*W*log2(H*W) unit, i.e. ~40 direct MACs. The FFT therefore only wins
// for large templates over large maps (e.g. 128x128 over 256x256); UniTrack's 14x14 over 65x65 is ~8x cheaper direct.
// The NCHW "rows" kernel (float32, SIMD levels) skips the channels-last copy but multiplies at about half the direct
// kernel's rate; it wins for templates of at most 3x3 when the search is not already channels-last (measured: 3x3
// over 3x256x65x65 2.4 ms vs 3.9 ms, 6x6 over 256x31x31 0.44 ms vs 0.38 ms, 14x14 20 ms vs 11 ms).
Method xcorr_method(int64_t S, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale, bool rows_ok) {
  constexpr double kFFTCost = 40.0;
  constexpr double kCMulCost = 20.0;
  const double Ho = static_cast<double>(H - h + 1), Wo = static_cast<double>(W - w + 1);
  const double direct = static_cast<double>(S) * C * Ho * Wo * h * w;
  const double hw = static_cast<double>(H) * W;
  const double n_fft = static_cast<double>(S) + (per_scale ? S : 1) + S / static_cast<double>(std::max<int64_t>(C, 1));
  const double fft = n_fft * C * kFFTCost * hw * std::log2(std::max(hw, 2.0)) + kCMulCost * S * C * H * (W / 2 + 1.0);
  if (direct > fft && h * w >= 16) return Method::FFT;
  return rows_ok && h * w <= 9 ? Method::Rows : Method::Direct;
}

// UNITRACK_XCORR_METHOD=direct|rows|fft forces a method (tests and benchmarks exercise all; "rows" needs float32 and
// a SIMD level, else it runs direct); unset or "auto" -> cost model. Read on every call: no cached global state.
Method choose_method(int64_t S, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, bool per_scale, bool rows_ok) {
  if (const char* env = std::getenv("UNITRACK_XCORR_METHOD")) {
    const std::string m(env);
    if (m == "direct") return Method::Direct;
    if (m == "rows") return Method::Rows;
    if (m == "fft") return Method::FFT;
    UNITRACK_CHECK(m.empty() || m == "auto", "UNITRACK_XCORR_METHOD must be direct, rows, fft or auto, got '", m, "'");
  }
  return xcorr_method(S, C, H, W, h, w, per_scale, rows_ok);
}

// Whether x [B, C, H, W] is laid out channels-last ([B, H, W, C] contiguous) in memory (size-1 dims: any stride).
bool is_channels_last(const Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto ok = [&](int64_t dim, int64_t want) { return x.size(dim) == 1 || x.stride(dim) == want; };
  return ok(1, 1) && ok(3, C) && ok(2, W * C) && ok(0, H * W * C) && B >= 0;
}

// The data of x [B, C, H, W] channels-last: x itself when it already is, else a transposed copy in `keep`.
template <typename T>
const T* channels_last_data(const Tensor& x, const cpu::XcorrFns<T>& f, Tensor& keep) {
  if (is_channels_last(x)) return x.const_data_ptr<T>();
  const Tensor xc = torch::stable::contiguous(x);
  const int64_t B = x.size(0), C = x.size(1), P = x.size(2) * x.size(3);
  keep = torch::stable::new_empty(xc, {B, x.size(2), x.size(3), C});
  f.to_channels_last(xc.const_data_ptr<T>(), keep.mutable_data_ptr<T>(), B, C, P);
  return keep.const_data_ptr<T>();
}

template <typename T>
bool all_finite(const Tensor& x) {
  const Tensor c = torch::stable::contiguous(x);
  const T* p = c.const_data_ptr<T>();
  const int64_t n = c.numel();
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(p[i]);
  return ok;
}

// The NaN/inf policy (README, "NaN and inf"): a non-finite input is an error naming it. Every input value enters at
// least one output of a valid correlation (all of them through the FFT) and a sum with a NaN or inf term is never
// finite, so the inputs need to be examined only when the output has a non-finite value: the check costs one pass
// over the (small) output, not one over the search. An output that overflowed from finite inputs is returned as it
// is, as the reference returns it. bfloat16 inputs are examined as their float32 values (the output's dtype).
void check_finite_inputs(const Tensor& out, const Tensor& search, const Tensor& templ) {
  const ScalarType dt = out.scalar_type();
  auto as_out = [dt](const Tensor& x) { return x.scalar_type() == dt ? x : torch::stable::to(x, dt); };
  UNITRACK_DISPATCH_FLOAT(dt, "xcorr", [&] {
    if (all_finite<scalar_t>(out)) return;
    UNITRACK_CHECK(all_finite<scalar_t>(as_out(search)), "search contains NaN or inf values");
    UNITRACK_CHECK(all_finite<scalar_t>(as_out(templ)), "templ contains NaN or inf values");
  });
}

// bfloat16 search and template -> float32: the FFT on their float32 values, else the level's bf16 direct kernel
// (AMX-BF16 tiles at the amx level; elsewhere the values are widened to float32 on the way into the dot products).
Tensor xcorr_bf16_cpu(const cpu::XcorrKernels& kernels, const Tensor& search, const Tensor& templ, const XcorrShape4& s,
                      Tensor& out) {
  const int64_t Ho = out.size(1), Wo = out.size(2);
  if (choose_method(s.S, s.C, s.H, s.W, s.h, s.w, s.per_scale, false) == Method::FFT)
    return xcorr_fft<float>(torch::stable::to(search, kFloat), torch::stable::to(templ, kFloat), Ho, Wo, kernels.f32,
                            s.per_scale);
  const bool cl = is_channels_last(search);
  const Tensor sc = cl ? search : torch::stable::contiguous(search), tc = torch::stable::contiguous(templ);
  kernels.bf16.direct(static_cast<const uint16_t*>(sc.const_data_ptr()), cl,
                      static_cast<const uint16_t*>(tc.const_data_ptr()), out.mutable_data_ptr<float>(), s.S, s.C, s.H,
                      s.W, s.h, s.w, s.per_scale);
  return out;
}

Tensor xcorr_compute(const Tensor& search, const Tensor& templ, const XcorrShape4& s) {
  const cpu::XcorrKernels& kernels = UNITRACK_SELECT_KERNELS_AMX(kXcorrKernels);
  const int64_t Ho = s.H - s.h + 1, Wo = s.W - s.w + 1;
  Tensor out = torch::stable::new_empty(search, {s.S, Ho, Wo}, output_dtype(search.scalar_type()));
  if (out.numel() == 0) return out;
  if (search.scalar_type() == kBFloat16) return xcorr_bf16_cpu(kernels, search, templ, s, out);
  const bool rows_ok = search.scalar_type() == kFloat && kernels.f32.rows != nullptr &&
                       !is_channels_last(search);  // a channels-last search needs no copy
  const Method method = choose_method(s.S, s.C, s.H, s.W, s.h, s.w, s.per_scale, rows_ok);
  if (method == Method::FFT) {
    return UNITRACK_DISPATCH_FLOAT(search.scalar_type(), "xcorr", [&] {
      return xcorr_fft<scalar_t>(search, templ, Ho, Wo, fns<scalar_t>(kernels), s.per_scale);
    });
  }
  if (method == Method::Rows && search.scalar_type() == kFloat && kernels.f32.rows != nullptr) {
    const Tensor sc = torch::stable::contiguous(search), tc = torch::stable::contiguous(templ);
    kernels.f32.rows(sc.const_data_ptr<float>(), tc.const_data_ptr<float>(), out.mutable_data_ptr<float>(), s.S, s.C,
                     s.H, s.W, s.h, s.w, s.per_scale);
    return out;
  }
  UNITRACK_DISPATCH_FLOAT(search.scalar_type(), "xcorr", [&] {
    const auto& f = fns<scalar_t>(kernels);
    // Channels-last data (no copy when the producer already wrote channels-last, e.g. a conv net run with
    // memory_format=torch.channels_last).
    Tensor s_keep, t_keep;
    const scalar_t* s_cl = channels_last_data<scalar_t>(search, f, s_keep);  // [S, H, W, C]
    const Tensor t4 = s.per_scale ? templ : torch::stable::unsqueeze(templ, 0);
    const scalar_t* t_cl = channels_last_data<scalar_t>(t4, f, t_keep);  // [1 or S, h, w, C]
    f.direct(s_cl, t_cl, out.mutable_data_ptr<scalar_t>(), s.S, s.C, s.H, s.W, s.h, s.w, s.per_scale);
  });
  return out;
}

Tensor xcorr_cpu(const Tensor& search, const Tensor& templ) {
  const XcorrShape4 s = xcorr_check_args(search, templ, DeviceType::CPU);
  Tensor out = xcorr_compute(search, templ, s);
  check_finite_inputs(out, search, templ);
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(unitrack, CPU, m) {
  m.impl("xcorr", TORCH_BOX(&xcorr_cpu));
}

}  // namespace unitrack
