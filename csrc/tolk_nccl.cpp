// c10d's ProcessGroupNCCL for data-parallel training on GPUs: the wheel's own NCCL backend
// (compiled into libtorch_cuda.so), built against the NCCL and CUDA headers that the torch
// wheel's nvidia-* dependencies carry. build.rs compiles this file only when it finds them,
// with USE_C10D_NCCL defined; otherwise tolk_nccl_stub.cpp answers that NCCL is not built.
// The collectives are those of tolk_distributed.cpp (through c10d::Backend); NCCL needs CUDA
// tensors on this rank's device.

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <chrono>

#include "group.h"
#include "guarded.h"

extern "C" {

// True: this build can make NCCL process groups.
bool tolk_nccl_built() { return true; }

// Joins the rendezvous as tolk_pg_new does and makes a ProcessGroupNCCL of `size` ranks bound
// to CUDA device `device_index` (one GPU a rank). Its communicators are created by the first
// collective; NCCL's watchdog aborts a collective past `timeout_ms`. Null on error.
void* tolk_pg_new_nccl(const char* addr, int port, int rank, int size, int64_t timeout_ms,
                       int device_index) {
  return tolk::guarded(
      [&]() -> void* {
        const int visible = c10::cuda::device_count();
        TORCH_CHECK(device_index >= 0 && device_index < visible, "CUDA device ", device_index,
                    " does not exist (", visible, " visible)");
        const std::chrono::milliseconds timeout(timeout_ms);
        c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
        auto store = tolk::make_store(addr, port, rank, size, timeout);
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = timeout;
        auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
        nccl->setBoundDeviceId(
            at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index)));
        c10::intrusive_ptr<c10d::Backend> pg = nccl;
        return new tolk::Group{store, pg};
      },
      nullptr);
}

}  // extern "C"
