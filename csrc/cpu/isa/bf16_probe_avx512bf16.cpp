// The vdpbf16ps rate probe, compiled for the avx512bf16 ISA level (see csrc/cpu/kernels/bf16_probe.h).
#define UNITRACK_ISA avx512bf16
#define UNITRACK_ISA_LEVEL 3
#include "cpu/isa/begin.h"
#include "cpu/kernels/bf16_probe.h"
#include "cpu/isa/end.h"
