// The topk_backward CPU kernels for the avx512 ISA level (see csrc/cpu/isa/begin.h).
#define UNITRACK_ISA avx512
#define UNITRACK_ISA_LEVEL 2
#include "cpu/isa/begin.h"
#include "cpu/kernels/topk_backward.h"
#include "cpu/isa/end.h"
