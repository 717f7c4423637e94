#include "isa.h"
#define VL 4
#define MR 6
#define ISA_NAME "generic"
#define ISA_FN isa_generic
#include "micro_kernel_impl.h"
