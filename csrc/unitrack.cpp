// The one place where every unitrack op schema is declared (TORCH_LIBRARY may appear only once per namespace).
// Kernels live in csrc/cpu/<op>.cpp and csrc/cuda/<op>.cu, each ending in its TORCH_LIBRARY_IMPL block.
// Fake (meta) kernels for torch.compile / opcheck are Python functions in unitrack_ext/_meta.py.
//
// Shapes (B = batch, T = memory frames, C = channels, L = label channels, K = topk):
//   topk_propagate(query [B,C,H,W], keys [B,T,C,H,W], labels [B,T,L,H,W], topk, temperature, radius, n_global)
//       -> [B,L,H,W]    label propagation with fused top-K affinity (SPEC appendix a)
//   topk_affinity(query [B,C,H,W], keys [B,T,C,H,W], topk, temperature, radius, n_global)
//       -> (weights [B,K,H*W] float, indices [B,K,H*W] int64)   the selected softmax weights and candidates
//   rsm(track_points [sum P,C], track_sizes [N] int64, det_points [sum Q,C], det_sizes [M] int64, temperature)
//       -> [N,M]        reconstruction similarity (s_td + s_dt)/2 (SPEC appendix b)
//   xcorr(search [S,C,H,W], templ [C,h,w] or [S,C,h,w]) -> [S,H-h+1,W-w+1]   valid cross-correlation
#include <torch/library.h>

#include "common/build_info.h"

#ifdef UNITRACK_WITH_PYTHON
#include <Python.h>
// An import-only module: importing unitrack_ext._C runs the static TORCH_LIBRARY initialisers below.
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
#endif

TORCH_LIBRARY(unitrack, m) {
  m.set_python_module("unitrack_ext._meta");
  // Build introspection (no tensor arguments, so these are catch-all kernels).
  m.def("_build_info() -> str", &unitrack::build_info);
  m.def("_cuda_version() -> int", &unitrack::cuda_version);
  m.def("_has_kernel(str op, str device) -> bool", &unitrack::has_kernel);

  m.def(
      "topk_propagate(Tensor query, Tensor keys, Tensor labels, int topk, float temperature, float radius, "
      "int n_global) -> Tensor");
  m.def(
      "topk_affinity(Tensor query, Tensor keys, int topk, float temperature, float radius, int n_global) "
      "-> (Tensor, Tensor)");
  m.def("rsm(Tensor track_points, Tensor track_sizes, Tensor det_points, Tensor det_sizes, float temperature) -> Tensor");
  m.def("xcorr(Tensor search, Tensor templ) -> Tensor");
}
