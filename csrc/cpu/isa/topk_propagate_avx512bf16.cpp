// The topk_propagate CPU kernels for the avx512bf16 ISA level (see csrc/cpu/isa/begin.h).
#define UNITRACK_ISA avx512bf16
#define UNITRACK_ISA_LEVEL 3
#include "cpu/isa/begin.h"
#include "cpu/kernels/topk_propagate.h"
#include "cpu/isa/end.h"
