#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace convnets {

const Isa& isa() {
  static const Isa& chosen = [] () -> const Isa& {
    const char* want = std::getenv("CONVNETS_NATIVE_ISA");
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (want && std::strcmp(want, "generic") == 0) return isa_generic();
    if (want && std::strcmp(want, "avx2") == 0 && avx2) return isa_avx2();
    if (avx512 && !(want && std::strcmp(want, "avx2") == 0)) return isa_avx512();
    if (avx2) return isa_avx2();
    return isa_generic();
  }();
  return chosen;
}

}  // namespace convnets
