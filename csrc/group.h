// A joined c10d process group as tolk's shim holds it: the rendezvous store and the backend
// (ProcessGroupGloo from tolk_distributed.cpp, or ProcessGroupNCCL from tolk_nccl.cpp); the
// collectives of tolk_distributed.cpp run on either through c10d::Backend's interface.
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

namespace tolk {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> pg;
};

// The rendezvous of `size` processes: rank 0 serves a TCPStore on `port`, the others connect to
// `addr`:`port`; keys are prefixed "tolk/". Throws on a bad rank or port, or a timeout.
c10::intrusive_ptr<c10d::Store> make_store(const char* addr, int port, int rank, int size,
                                           std::chrono::milliseconds timeout);

}  // namespace tolk
