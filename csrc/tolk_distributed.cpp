// tolk's data-parallel training on PyTorch's distributed engine (c10d), which tch 0.24 does not
// bind: a TCPStore rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT, as torchrun's
// env:// init does) and a ProcessGroupGloo whose collectives run on the CPU tensors (and, with
// Gloo's host staging, CUDA tensors) handed in. The process group is the wheel's own code; this
// file only constructs it and forwards calls, which also serve the ProcessGroupNCCL made in
// tolk_nccl.cpp (both are c10d Backends).
//
// Every entry point catches C++ exceptions (a peer that closed its connection, a collective past
// its timeout) and returns null / false, leaving the message for tolk_last_error().

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "group.h"
#include "guarded.h"

namespace tolk {

c10::intrusive_ptr<c10d::Store> make_store(const char* addr, int port, int rank, int size,
                                           std::chrono::milliseconds timeout) {
  TORCH_CHECK(size >= 1 && rank >= 0 && rank < size, "rank ", rank,
              " out of range for world size ", size);
  TORCH_CHECK(port > 0 && port < 65536, "port ", port, " out of range");
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = size;
  so.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(addr), so);
  return c10::make_intrusive<c10d::PrefixStore>("tolk/", tcp);
}

}  // namespace tolk

namespace {

using tolk::Group;
using tolk::guarded;

std::vector<at::Tensor> tensors_of(at::Tensor** ts, int64_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (int64_t i = 0; i < n; ++i) out.push_back(*ts[i]);
  return out;
}

}  // namespace

extern "C" {

// Joins the group of `size` processes as `rank`: rank 0 serves the TCPStore on `port`, the
// others connect to `addr`:`port`; every later collective fails after `timeout_ms` without its
// peers. The Gloo transport listens on `addr` when it is a loopback address (single machine),
// else on this host's name. Null on error.
void* tolk_pg_new(const char* addr, int port, int rank, int size, int64_t timeout_ms) {
  return guarded(
      [&]() -> void* {
        const std::chrono::milliseconds timeout(timeout_ms);
        auto store = tolk::make_store(addr, port, rank, size, timeout);
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
        const std::string host(addr);
        const bool loopback = host.rfind("127.", 0) == 0 || host == "localhost" || host == "::1";
        opts->devices.push_back(
            loopback ? c10d::ProcessGroupGloo::createDeviceForHostname(host, false)
                     : c10d::ProcessGroupGloo::createDefaultDevice(false));
        c10::intrusive_ptr<c10d::Backend> pg =
            c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
        return new Group{store, pg};
      },
      nullptr);
}

void tolk_pg_free(void* group) { delete static_cast<Group*>(group); }

// Sums each of the `n` tensors element-wise over all ranks, in place: one collective per tensor
// (a c10d tensor list means replicas of one tensor, so each bucket is its own call), all started
// before the first is waited for. False on error.
bool tolk_pg_allreduce_sum(void* group, at::Tensor** ts, int64_t n) {
  return guarded(
      [&] {
        auto pg = static_cast<Group*>(group)->pg;
        std::vector<c10::intrusive_ptr<c10d::Work>> works;
        for (auto& t : tensors_of(ts, n)) {
          std::vector<at::Tensor> one{t};
          works.push_back(pg->allreduce(one));
        }
        for (auto& w : works) w->wait();
        return true;
      },
      false);
}

// Overwrites the `n` tensors on every rank with rank `root`'s, in place. False on error.
bool tolk_pg_broadcast(void* group, at::Tensor** ts, int64_t n, int root) {
  return guarded(
      [&] {
        auto tensors = tensors_of(ts, n);
        c10d::BroadcastOptions opts;
        opts.rootRank = root;
        auto pg = static_cast<Group*>(group)->pg;
        for (auto& t : tensors) {
          std::vector<at::Tensor> one{t};
          pg->broadcast(one, opts)->wait();
        }
        return true;
      },
      false);
}

// Returns when every rank has called it. False on error (a peer gone, or the timeout).
bool tolk_pg_barrier(void* group) {
  return guarded(
      [&] {
        static_cast<Group*>(group)->pg->barrier()->wait();
        return true;
      },
      false);
}

}  // extern "C"
