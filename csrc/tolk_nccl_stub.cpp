// Built instead of tolk_nccl.cpp where build.rs finds no NCCL / CUDA headers beside libtorch
// (a CPU-only libtorch): the NCCL backend is then reported as not built.

#include <cstdint>

#include "guarded.h"

extern "C" {

bool tolk_nccl_built() { return false; }

void* tolk_pg_new_nccl(const char*, int, int, int, int64_t, int) {
  tolk::last_error_slot() =
      "this tolk was built without NCCL (no nccl.h and CUDA headers beside libtorch); "
      "use training.distributed_backend = \"gloo\"";
  return nullptr;
}

}  // extern "C"
