#include "isa.h"
#define VL 4
#define MR 6
#define IG_MR1 6
#define IG_MR2 6
#define WG_MAX1 8
#define WG_MAX2 4
#define ISA_NAME "generic"
#define ISA_FN isa_generic
#include "micro_kernel_impl.h"
