// The topk_propagate CPU kernels for the amx ISA level (see csrc/cpu/isa/begin.h).
#define UNITRACK_ISA amx
#define UNITRACK_ISA_LEVEL 4
#include "cpu/isa/begin.h"
#include "cpu/kernels/topk_propagate.h"
#include "cpu/isa/end.h"
