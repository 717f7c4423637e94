#pragma GCC target("avx2,fma")
#include "isa.h"
#define VL 8
#define MR 6
#define IG_MR1 6
#define IG_MR2 6
#define WG_MAX1 8
#define WG_MAX2 4
#define ISA_NAME "avx2"
#define ISA_FN isa_avx2
#include "micro_kernel_impl.h"
