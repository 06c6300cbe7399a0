// The rsm_backward CPU kernels for the baseline ISA level (see csrc/cpu/isa/begin.h).
#define UNITRACK_ISA baseline
#define UNITRACK_ISA_LEVEL 0
#include "cpu/isa/begin.h"
#include "cpu/kernels/rsm_backward.h"
#include "cpu/isa/end.h"
