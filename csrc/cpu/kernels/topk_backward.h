// Backward CPU kernels of unitrack::topk_affinity / topk_propagate (issue #16), compiled once per ISA level
// (csrc/cpu/isa/topk_backward_<level>.cpp after csrc/cpu/isa/begin.h; entry points csrc/cpu/topk_backward.cpp).
//
// The forward keeps, per query n, only its K selected candidates m_k = indices[k, n] and their softmax weights
// w_k = weights[k, n] (O(K * HW)), and propagates out[:, n] = sum_k w_k labels[m_k] ("gather", the forward table's
// `propagate`). Its gradients never need the dense affinity: with g = d loss / d out,
//   d loss / d w_k          = <g[:, n], labels[m_k]>                                   gather_dot (this file)
//   d loss / d labels[m]    = sum over (k, n) with m_k = m of w_k g[:, n]                scatter    (this file)
// and, through the softmax over the K selected logits s_k = <query[:, n], keys[m_k]> / temperature (the selection
// itself is piecewise constant, so -- as for torch.topk -- the gradient flows through the selected values only),
//   gs_k = w_k (gw_k - sum_j w_j gw_j) / temperature                                   (elementwise, O(K * HW))
//   d loss / d query[:, n]  = sum_k gs_k keys[m_k]                                       gather (forward kernel)
//   d loss / d keys[m]      = sum over (k, n) with m_k = m of gs_k query[:, n]           scatter
// These three primitives are closed under differentiation (gather_dot and scatter are gather's adjoints, and each
// one's adjoints are the other two), which is what gives topk_propagate a double backward for free
// (unitrack_ext/_autograd.py).
//
// scatter is the transposition of the selection: a counting sort builds, per batch item, the list of (n, k) entries
// of every candidate (CSR, O(T*HW + K*HW) integers), in increasing (n, k) order; then every output element is
// written once by exactly one task, summing its entries in that order. No atomics, no per-thread partial buffers:
// the result is bitwise the same at every thread count, and candidates no query selected get exactly 0.
#ifndef UNITRACK_ISA_SKIP

namespace unitrack {
namespace cpu {
namespace UNITRACK_ISA {
namespace topk_backward {

// out[b, k, n] = sum_x grad[b, x, n] * src[b, t, x, mm]   with indices[b, k, n] = t*HW + mm.
template <typename T>
void gather_dot_impl(const T* grad, const int64_t* idx, const T* src, T* out, int64_t B, int64_t T_, int64_t X,
                     int64_t HW, int64_t K) {
  if (B * HW == 0 || K == 0) return;
  torch::stable::parallel_for(0, B * HW, 256, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = p / HW, n = p % HW;
      const T* g = grad + b * X * HW + n;
      const T* sb = src + b * T_ * X * HW;
      const int64_t* ib = idx + b * K * HW + n;
      T* ob = out + b * K * HW + n;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t m = ib[k * HW];
        const T* s = sb + (m / HW) * X * HW + m % HW;
        T acc = T(0);
        for (int64_t x = 0; x < X; ++x) acc += g[x * HW] * s[x * HW];
        ob[k * HW] = acc;
      }
    }
  });
}

// out[b, t, x, mm] = sum over (k, n) with indices[b, k, n] = t*HW + mm of coef[b, k, n] * grad[b, x, n].
template <typename T>
void scatter_impl(const T* coef, const int64_t* idx, const T* grad, T* out, int64_t B, int64_t T_, int64_t X,
                  int64_t HW, int64_t K) {
  const int64_t M = T_ * HW;  // candidates per batch item
  if (B * M * X == 0) return;
  const int64_t E = K * HW;  // (k, n) entries per batch item
  // CSR per batch item: start[b][m] .. start[b][m + 1] index ent[b][.], the flat entries e = k*HW + n selecting m.
  std::vector<int64_t> start(static_cast<size_t>(B * (M + 1)));
  std::vector<int64_t> ent(static_cast<size_t>(std::max<int64_t>(B * E, 1)));
  torch::stable::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<int64_t> next(static_cast<size_t>(M));
    for (int64_t b = b0; b < b1; ++b) {
      int64_t* st = start.data() + b * (M + 1);
      const int64_t* ib = idx + b * E;
      int64_t* eb = ent.data() + b * E;
      std::fill(st, st + M + 1, 0);
      for (int64_t e = 0; e < E; ++e) ++st[ib[e] + 1];
      for (int64_t m = 0; m < M; ++m) st[m + 1] += st[m];
      std::copy(st, st + M, next.begin());
      for (int64_t n = 0; n < HW; ++n)  // (n, k) order: the summation order of every output element
        for (int64_t k = 0; k < K; ++k) {
          const int64_t e = k * HW + n;
          eb[next[static_cast<size_t>(ib[e])]++] = e;
        }
    }
  });
  constexpr int64_t kChunk = 64;  // candidates (consecutive columns of one frame) per task
  const int64_t chunks = (HW + kChunk - 1) / kChunk;
  torch::stable::parallel_for(0, B * T_ * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> qn;  // the chunk's entries: query n and coefficient, in CSR order
    std::vector<T> qc;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / (T_ * chunks), t = (task / chunks) % T_, c = task % chunks;
      const int64_t mm0 = c * kChunk, mm1 = std::min(HW, mm0 + kChunk);
      const int64_t* st = start.data() + b * (M + 1) + t * HW;
      const int64_t* eb = ent.data() + b * E;
      const T* cb = coef + b * E;
      qn.clear();
      qc.clear();
      for (int64_t pos = st[mm0]; pos < st[mm1]; ++pos) {
        qn.push_back(eb[pos] % HW);
        qc.push_back(cb[eb[pos]]);
      }
      const T* gb = grad + b * X * HW;
      T* ob = out + (b * T_ + t) * X * HW;
      for (int64_t x = 0; x < X; ++x) {
        const T* gx = gb + x * HW;
        T* ox = ob + x * HW;
        int64_t pos = 0;
        for (int64_t mm = mm0; mm < mm1; ++mm) {
          const int64_t cnt = st[mm + 1] - st[mm];
          T acc = T(0);
          for (int64_t r = 0; r < cnt; ++r, ++pos)
            acc += qc[static_cast<size_t>(pos)] * gx[qn[static_cast<size_t>(pos)]];
          ox[mm] = acc;
        }
      }
    }
  });
}

}  // namespace topk_backward

extern const TopkBackwardKernels kTopkBackwardKernels;
const TopkBackwardKernels kTopkBackwardKernels = {
    {&topk_backward::gather_dot_impl<float>, &topk_backward::scatter_impl<float>},
    {&topk_backward::gather_dot_impl<double>, &topk_backward::scatter_impl<double>},
};

}  // namespace UNITRACK_ISA
}  // namespace cpu
}  // namespace unitrack
#endif  // UNITRACK_ISA_SKIP
