#pragma once
// map<Tout, Tin...>(f, out, in...): out[i] = f(in[i]...) over views of out's shape.
// Contiguous operands take one flat loop the compiler vectorizes; anything else goes through
// the collapsed strided loop (kernels/cpu/loop.h).
#include <array>
#include <tuple>
#include <utility>

#include "kernels/cpu/loop.h"
#include "tensor/tensor.h"

namespace ember::kernels::cpu {

namespace detail {
template <class Tout, class... Tin, class F, size_t... I>
void map_impl(std::index_sequence<I...>, F& f, const Tensor& out, const std::array<const Tensor*, sizeof...(Tin)>& in,
              int64_t cost) {
  constexpr size_t NT = 1 + sizeof...(Tin);
  Tout* const o = out.impl()->template data_as<Tout>();
  const std::tuple<const Tin*...> p{in[I]->impl()->template data_as<Tin>()...};
  const int64_t n = out.numel();
  bool flat = out.is_contiguous();
  ((flat = flat && in[I]->is_contiguous() && in[I]->numel() == n), ...);
  if (flat) {
    parallel_for(n, cost, [&](int64_t b, int64_t e) {
      Tout* __restrict__ po = o;
      for (int64_t i = b; i < e; ++i) po[i] = static_cast<Tout>(f(std::get<I>(p)[i]...));
    });
    return;
  }
  auto loop = make_loop<NT>(out.sizes(), {&out.strides(), &in[I]->strides()...});
  run_loop(loop, [&](const std::array<int64_t, NT>& off, int64_t len, const std::array<int64_t, NT>& s) {
    Tout* __restrict__ po = o + off[0];
    const std::tuple<const Tin*...> pi{std::get<I>(p) + off[I + 1]...};
    if (s[0] == 1 && ((s[I + 1] == 1) && ...)) {
      for (int64_t i = 0; i < len; ++i) po[i] = static_cast<Tout>(f(std::get<I>(pi)[i]...));
    } else {
      for (int64_t i = 0; i < len; ++i) po[i * s[0]] = static_cast<Tout>(f(std::get<I>(pi)[i * s[I + 1]]...));
    }
  }, cost);
}
}  // namespace detail

template <class Tout, class... Tin, class F, class... Ts>
void map(F&& f, const Tensor& out, const Ts&... in) {
  static_assert(sizeof...(Tin) == sizeof...(Ts));
  detail::map_impl<Tout, Tin...>(std::index_sequence_for<Tin...>{}, f, out, {&in...}, 1);
}
/// The same, for functions that cost about `cost` additions per element (exp, tanh...),
/// so that threads start at smaller sizes.
template <class Tout, class... Tin, class F, class... Ts>
void map_costly(int64_t cost, F&& f, const Tensor& out, const Ts&... in) {
  detail::map_impl<Tout, Tin...>(std::index_sequence_for<Tin...>{}, f, out, {&in...}, cost);
}

}  // namespace ember::kernels::cpu
