#pragma once
// Input checks with messages that name the argument, what was expected and what was got.
#include <ATen/ATen.h>

#define UNITRACK_CHECK_DIM(x, name, d) \
  TORCH_CHECK((x).dim() == (d), name " must be a " #d "-D tensor, got shape ", (x).sizes())
#define UNITRACK_CHECK_FLOAT(x, name)                                                                   \
  TORCH_CHECK((x).scalar_type() == at::kFloat || (x).scalar_type() == at::kDouble,                     \
              name " must be float32 or float64, got ", (x).scalar_type())
#define UNITRACK_CHECK_CPU(x, name) TORCH_CHECK((x).device().is_cpu(), name " must be a CPU tensor, got ", (x).device())
#define UNITRACK_CHECK_CUDA(x, name) \
  TORCH_CHECK((x).device().is_cuda(), name " must be a CUDA tensor, got ", (x).device())
#define UNITRACK_CHECK_SAME_DTYPE(a, an, b, bn)                                                         \
  TORCH_CHECK((a).scalar_type() == (b).scalar_type(), an " and " bn " must have the same dtype, got ", \
              (a).scalar_type(), " and ", (b).scalar_type())
