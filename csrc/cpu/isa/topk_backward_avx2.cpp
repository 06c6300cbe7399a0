// The topk_backward CPU kernels for the avx2 ISA level (see csrc/cpu/isa/begin.h).
#define UNITRACK_ISA avx2
#define UNITRACK_ISA_LEVEL 1
#include "cpu/isa/begin.h"
#include "cpu/kernels/topk_backward.h"
#include "cpu/isa/end.h"
