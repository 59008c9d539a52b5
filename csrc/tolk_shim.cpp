// tolk's C++ shim over libtorch: what tch 0.24 does not bind.
//
//  - Autocast regions on the CPU or CUDA in bf16 or fp16 (low-precision matrix products for
//    training, with fp32 master weights), whose C++ switches are per device type; tch binds
//    only CUDA's on/off switch.
//  - torch::autograd::Function wrappers for tolk's fused training kernels. The kernels
//    themselves are Rust (src/kernels/), passed in as function pointers and run over row ranges
//    on libtorch's own thread pool (at::parallel_for), so there is one pool, not two.
//
// Every entry point catches C++ exceptions and returns null / false, leaving the message for
// tolk_last_error(). Tensors cross as at::Tensor* (tch's C_tensor); returned ones are new heap
// tensors that the Rust side owns (tch::Tensor::from_ptr).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <string>

#include "guarded.h"

std::string& tolk::last_error_slot() {
  thread_local std::string slot;
  return slot;
}

namespace {

using tolk::guarded;

// Row kernels (Rust): rows [begin, end) of the flattened inputs.
using GruForwardRows = void (*)(int64_t begin, int64_t end, int64_t d, const float* gi,
                                const float* gh, const float* h, float* out, float* rzn);
using GruBackwardRows = void (*)(int64_t begin, int64_t end, int64_t d, const float* grad_out,
                                 const float* rzn, const float* gh, const float* h, float* d_gi,
                                 float* d_gh, float* d_h);

// Additive-attention energy rows (Rust): rows [begin, end) of q [R, A], keys [R, S, A].
using EnergyForwardRows = void (*)(int64_t begin, int64_t end, int64_t s, int64_t a,
                                   const float* q, const float* k, const float* v, float* e);
// dv_partial: this task's own [A] accumulator (zeroed before the first task of its thread).
using EnergyBackwardRows = void (*)(int64_t begin, int64_t end, int64_t s, int64_t a,
                                    const float* grad_e, const float* q, const float* k,
                                    const float* v, float* d_q, float* d_k, float* dv_partial);

// Rows per task so that one task touches at least ~16k floats (below that the pool's wake-up
// costs more than the work).
int64_t grain(int64_t row_len) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_len)); }

const float* f32(const at::Tensor& t) { return t.data_ptr<float>(); }
float* f32_mut(at::Tensor& t) { return t.data_ptr<float>(); }

// GRU gates r, z, n and h' (Cho et al. 2014, eq. 5-8; PyTorch gate order) with the backward of
// Marian's GRUFastBackward: saved are r, z, n (one [R, 3D] tensor), gh and h.
struct GruGates : public torch::autograd::Function<GruGates> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& gi_in,
                            const at::Tensor& gh_in, const at::Tensor& h_in, int64_t fwd_ptr,
                            int64_t bwd_ptr) {
    auto gi = gi_in.contiguous();
    auto gh = gh_in.contiguous();
    auto h = h_in.contiguous();
    const int64_t rows = h.size(0), d = h.size(1);
    auto out = at::empty({rows, d}, h.options());
    auto rzn = at::empty({rows, 3 * d}, h.options());
    auto fwd = reinterpret_cast<GruForwardRows>(fwd_ptr);
    at::parallel_for(0, rows, grain(4 * d), [&](int64_t b, int64_t e) {
      fwd(b, e, d, f32(gi), f32(gh), f32(h), f32_mut(out), f32_mut(rzn));
    });
    ctx->save_for_backward({rzn, gh, h});
    ctx->saved_data["bwd"] = bwd_ptr;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto &rzn = saved[0], &gh = saved[1], &h = saved[2];
    auto grad_out = grads[0].contiguous();
    const int64_t rows = h.size(0), d = h.size(1);
    auto d_gi = at::empty({rows, 3 * d}, h.options());
    auto d_gh = at::empty({rows, 3 * d}, h.options());
    auto d_h = at::empty({rows, d}, h.options());
    auto bwd = reinterpret_cast<GruBackwardRows>(ctx->saved_data["bwd"].toInt());
    at::parallel_for(0, rows, grain(8 * d), [&](int64_t b, int64_t e) {
      bwd(b, e, d, f32(grad_out), f32(rzn), f32(gh), f32(h), f32_mut(d_gi), f32_mut(d_gh),
          f32_mut(d_h));
    });
    return {d_gi, d_gh, d_h, at::Tensor(), at::Tensor()};
  }
};

// Additive-attention energies e_rj = v^T tanh(q_r + k_rj) (Bahdanau et al. 2015, eq. 6). Saves
// only its inputs: the backward recomputes tanh instead of keeping the [R, S, A] activations.
struct AdditiveEnergy : public torch::autograd::Function<AdditiveEnergy> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q_in,
                            const at::Tensor& k_in, const at::Tensor& v_in, int64_t fwd_ptr,
                            int64_t bwd_ptr) {
    auto q = q_in.contiguous();
    auto k = k_in.contiguous();
    auto v = v_in.contiguous();
    const int64_t rows = k.size(0), s = k.size(1), a = k.size(2);
    auto e = at::empty({rows, s}, k.options());
    auto fwd = reinterpret_cast<EnergyForwardRows>(fwd_ptr);
    at::parallel_for(0, rows, grain(s * a), [&](int64_t b, int64_t end) {
      fwd(b, end, s, a, f32(q), f32(k), f32(v), f32_mut(e));
    });
    ctx->save_for_backward({q, k, v});
    ctx->saved_data["bwd"] = bwd_ptr;
    return e;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto &q = saved[0], &k = saved[1], &v = saved[2];
    auto grad_e = grads[0].contiguous();
    const int64_t rows = k.size(0), s = k.size(1), a = k.size(2);
    auto d_q = at::empty({rows, a}, k.options());
    auto d_k = at::empty({rows, s, a}, k.options());
    // One dv accumulator per pool thread, summed at the end (no shared writes).
    auto dv_parts = at::zeros({at::get_num_threads(), a}, k.options());
    auto bwd = reinterpret_cast<EnergyBackwardRows>(ctx->saved_data["bwd"].toInt());
    at::parallel_for(0, rows, grain(2 * s * a), [&](int64_t b, int64_t end) {
      float* part = f32_mut(dv_parts) + at::get_thread_num() * a;
      bwd(b, end, s, a, f32(grad_e), f32(q), f32(k), f32(v), f32_mut(d_q), f32_mut(d_k), part);
    });
    return {d_q, d_k, dv_parts.sum(0), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

// The message of the last failed call on this thread ("" if none).
const char* tolk_last_error() { return tolk::last_error_slot().c_str(); }

// Autocast regions, per device type (0 = CPU, 1 = CUDA) and low-precision type (0 = bf16,
// 1 = fp16). tolk_autocast_enter switches autocast on for that device type on this thread and
// returns what it replaced: bit 0 whether autocast was on, the bits above the previous dtype
// (a c10::ScalarType); the matching tolk_autocast_exit restores both. Regions nest; leaving
// the outermost clears autocast's cache of low-precision weight copies (which must not
// outlive an update, since the weights change). -1 on error.
namespace {
at::DeviceType autocast_device(int32_t device) { return device == 1 ? at::kCUDA : at::kCPU; }
}  // namespace

int32_t tolk_autocast_enter(int32_t device, int32_t dtype) {
  return guarded(
      [&]() -> int32_t {
        auto type = autocast_device(device);
        bool before = at::autocast::is_autocast_enabled(type);
        auto previous = at::autocast::get_autocast_dtype(type);
        at::autocast::set_autocast_dtype(type, dtype == 1 ? at::kHalf : at::kBFloat16);
        at::autocast::set_autocast_enabled(type, true);
        at::autocast::increment_nesting();
        return (before ? 1 : 0) | (static_cast<int32_t>(previous) << 1);
      },
      -1);
}

// Leaves the region entered by tolk_autocast_enter(device, _), which returned `state`.
void tolk_autocast_exit(int32_t device, int32_t state) {
  guarded(
      [&] {
        auto type = autocast_device(device);
        at::autocast::set_autocast_enabled(type, (state & 1) != 0);
        at::autocast::set_autocast_dtype(type, static_cast<c10::ScalarType>(state >> 1));
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        return true;
      },
      false);
}

// Whether autocast is on for the device type on this thread.
bool tolk_autocast_enabled(int32_t device) {
  return at::autocast::is_autocast_enabled(autocast_device(device));
}

// The dtype autocast gives that device type's matrix products on this thread (a
// c10::ScalarType code).
int32_t tolk_autocast_dtype(int32_t device) {
  return static_cast<int32_t>(at::autocast::get_autocast_dtype(autocast_device(device)));
}

// h' [R, D] from gi [R, 3D], gh [R, 3D], h [R, D] (fp32, CPU) through GruGates, differentiable
// towards all three; null on error.
at::Tensor* tolk_gru_gates(const at::Tensor* gi, const at::Tensor* gh, const at::Tensor* h,
                           GruForwardRows fwd, GruBackwardRows bwd) {
  return guarded(
      [&]() -> at::Tensor* {
        TORCH_CHECK(h->dim() == 2 && gi->dim() == 2 && gh->dim() == 2, "GRU gates: 2-d inputs");
        TORCH_CHECK(gi->size(0) == h->size(0) && gi->size(1) == 3 * h->size(1) &&
                        gh->sizes() == gi->sizes(),
                    "GRU gates: gi and gh must be [R, 3D] for h [R, D]");
        auto out = GruGates::apply(*gi, *gh, *h, reinterpret_cast<int64_t>(fwd),
                                   reinterpret_cast<int64_t>(bwd));
        return new at::Tensor(std::move(out));
      },
      nullptr);
}

// Energies [R, S] from q [R, A], keys [R, S, A] and v [A] (fp32, CPU) through AdditiveEnergy,
// differentiable towards all three; null on error.
at::Tensor* tolk_additive_energy(const at::Tensor* q, const at::Tensor* k, const at::Tensor* v,
                                 EnergyForwardRows fwd, EnergyBackwardRows bwd) {
  return guarded(
      [&]() -> at::Tensor* {
        TORCH_CHECK(k->dim() == 3 && q->dim() == 2 && v->dim() == 1,
                    "additive energy: q [R, A], keys [R, S, A], v [A]");
        TORCH_CHECK(q->size(0) == k->size(0) && q->size(1) == k->size(2) &&
                        v->size(0) == k->size(2),
                    "additive energy: q [R, A], keys [R, S, A], v [A]");
        auto out = AdditiveEnergy::apply(*q, *k, *v, reinterpret_cast<int64_t>(fwd),
                                         reinterpret_cast<int64_t>(bwd));
        return new at::Tensor(std::move(out));
      },
      nullptr);
}

}  // extern "C"
