#pragma GCC target("avx512f,avx512vl,avx2,fma")
#include "isa.h"
#define VL 16
#define MR 8
#define IG_MR1 8
#define IG_MR2 8
#define WG_MAX1 16
#define WG_MAX2 8
#define ISA_NAME "avx512"
#define ISA_FN isa_avx512
#include "micro_kernel_impl.h"
