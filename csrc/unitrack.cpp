// The one place where every unitrack op schema is declared (STABLE_TORCH_LIBRARY may appear only once per namespace),
// plus the build-introspection ops. Kernels: csrc/cpu/<op>.cpp (entry points, ISA kernels in csrc/cpu/kernels/) and
// csrc/cuda/<op>_cuda.cpp (launchers of csrc/cuda/<op>_kernel.cu), each ending in its STABLE_TORCH_LIBRARY_IMPL block.
// Argument checks: csrc/ops/<op>_args.h, shared by both. Fake (meta) kernels: unitrack_ext/_meta.py.
//
// Everything is written against the LibTorch stable ABI (common/stable.h), so _C.abi3.so loads under every torch from
// TORCH_TARGET_VERSION (2.10) on; Python's limited API (Py_LIMITED_API, abi3) makes it independent of the CPython
// minor version too.
//
// Shapes (B = batch, T = memory frames, C = channels, L = label channels, K = topk):
//   topk_propagate(query [B,C,H,W], keys [B,T,C,H,W], labels [B,T,L,H,W], topk, temperature, radius, n_global)
//       -> [B,L,H,W]    label propagation with fused top-K affinity (SPEC appendix a)
//   topk_affinity(query [B,C,H,W], keys [B,T,C,H,W], topk, temperature, radius, n_global)
//       -> (weights [B,K,H*W] float, indices [B,K,H*W] int64)   the selected softmax weights and candidates
//   rsm(track_points [sum P,C], track_sizes [N] int64, det_points [sum Q,C], det_sizes [M] int64, temperature)
//       -> [N,M]        reconstruction similarity (s_td + s_dt)/2 (SPEC appendix b)
//   xcorr(search [S,C,H,W], templ [C,h,w] or [S,C,h,w]) -> [S,H-h+1,W-w+1]   valid cross-correlation
#include "common/isa.h"
#include "common/stable.h"

#ifdef UNITRACK_WITH_PYTHON
#include <Python.h>
// An import-only module: importing unitrack_ext._C runs the static STABLE_TORCH_LIBRARY initialisers below.
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
#endif

namespace unitrack {
std::string build_info();
int64_t cuda_version();
namespace {
std::string cpu_isa() {
  return isa::name(isa::active());
}  // throws if UNITRACK_CPU_ISA is unusable
std::string cpu_isa_supported() {
  return isa::name(isa::cpu_level());
}
std::string cpu_isa_built() {
  return isa::built_levels();
}
double bf16_dot_rate() {
  return isa::bf16_dot_rate();
}
}  // namespace
}  // namespace unitrack

STABLE_TORCH_LIBRARY(unitrack, m) {
  // Build introspection (no tensor arguments).
  m.def("_build_info() -> str");
  m.def("_cuda_version() -> int");
  m.def("_cpu_isa() -> str");
  m.def("_cpu_isa_supported() -> str");
  m.def("_cpu_isa_built() -> str");
  m.def("_bf16_dot_rate() -> float");

  m.def(
      "topk_propagate(Tensor query, Tensor keys, Tensor labels, int topk, float temperature, float radius, "
      "int n_global) -> Tensor");
  m.def(
      "topk_affinity(Tensor query, Tensor keys, int topk, float temperature, float radius, int n_global) "
      "-> (Tensor, Tensor)");
  m.def(
      "rsm(Tensor track_points, Tensor track_sizes, Tensor det_points, Tensor det_sizes, float temperature) -> Tensor");
  m.def("xcorr(Tensor search, Tensor templ) -> Tensor");

  // Backward primitives (issue #16; autograd formulas in unitrack_ext/_autograd.py, shapes in the kernels' headers):
  //   _topk_gather(weights [B,K,HW], indices [B,K,HW] int64, src [B,T,X,H,W]) -> [B,X,H,W]    (topk_propagate's
  //       label gather), _topk_gather_dot(grad [B,X,H,W], indices, src) -> [B,K,HW] and
  //       _topk_scatter(weights, indices, grad [B,X,H,W], T) -> [B,T,X,H,W]: its adjoints
  //   _rsm_backward(grad [N,M], track_points, track_sizes, det_points, det_sizes, temperature) -> (grad_track_points,
  //       grad_det_points)
  //   _xcorr_grad_search(grad [S,Ho,Wo], templ) -> [S,C,H,W], _xcorr_grad_templ(search, grad, per_scale) -> templ
  m.def("_topk_gather(Tensor weights, Tensor indices, Tensor src) -> Tensor");
  m.def("_topk_gather_dot(Tensor grad, Tensor indices, Tensor src) -> Tensor");
  m.def("_topk_scatter(Tensor weights, Tensor indices, Tensor grad, int T) -> Tensor");
  m.def(
      "_rsm_backward(Tensor grad, Tensor track_points, Tensor track_sizes, Tensor det_points, Tensor det_sizes, "
      "float temperature) -> (Tensor, Tensor)");
  m.def("_xcorr_grad_search(Tensor grad, Tensor templ) -> Tensor");
  m.def("_xcorr_grad_templ(Tensor search, Tensor grad, bool per_scale) -> Tensor");
}

STABLE_TORCH_LIBRARY_IMPL(unitrack, CompositeExplicitAutograd, m) {
  m.impl("_build_info", TORCH_BOX(&unitrack::build_info));
  m.impl("_cuda_version", TORCH_BOX(&unitrack::cuda_version));
  m.impl("_cpu_isa", TORCH_BOX(&unitrack::cpu_isa));
  m.impl("_cpu_isa_supported", TORCH_BOX(&unitrack::cpu_isa_supported));
  m.impl("_cpu_isa_built", TORCH_BOX(&unitrack::cpu_isa_built));
  m.impl("_bf16_dot_rate", TORCH_BOX(&unitrack::bf16_dot_rate));
}
