// Fused SGD and Adam/AdamW steps (see kernels/cuda/optim.h). Dense steps run one thread per
// element; sparse ones one thread per (listed row, column), the rows unique so no two threads
// touch one element.
#include <cstdint>

#include "kernels/cuda/map.cuh"
#include "kernels/cuda/optim.h"

namespace ember::kernels::cuda {
namespace {

// Hyper-parameters in the parameter's precision, as the op chain applies them.
template <class T>
struct Sgd {
  T lr, momentum, one_minus_dampening, weight_decay;
  bool nesterov, maximize, first, has_momentum;
  explicit Sgd(const SgdArgs& a)
      : lr(T(a.lr)), momentum(T(a.momentum)), one_minus_dampening(T(1 - a.dampening)), weight_decay(T(a.weight_decay)),
        nesterov(a.nesterov), maximize(a.maximize), first(a.first), has_momentum(a.momentum != 0) {}

  // One element: returns the new parameter value; *buf (may be null) is the momentum buffer.
  __device__ __forceinline__ T update(T p, T g, T* buf) const {
    if (maximize) g = -g;
    if (weight_decay != T(0)) g = g + weight_decay * p;
    if (has_momentum) {
      const T b = first ? g : *buf * momentum + one_minus_dampening * g;
      *buf = b;
      g = nesterov ? g + momentum * b : b;
    }
    return p - lr * g;
  }
};

// The running max of AMSGrad, NaN-propagating like maximum() on the CPU path: a NaN stored
// in max_exp_avg_sq stays there (a plain a > b ? a : b would drop it for the new value).
template <class T>
__device__ __forceinline__ T amsgrad_max(T stored, T v) {
  return (stored > v || isnan(stored)) ? stored : v;
}

template <class T>
struct Adam {
  T lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, step_size, bc2_sqrt, decay;
  bool amsgrad, maximize, decoupled;
  explicit Adam(const AdamArgs& a)
      : lr(T(a.lr)), beta1(T(a.beta1)), one_minus_beta1(T(1 - a.beta1)), beta2(T(a.beta2)),
        one_minus_beta2(T(1 - a.beta2)), eps(T(a.eps)), weight_decay(T(a.weight_decay)), step_size(T(a.step_size)),
        bc2_sqrt(T(a.bias_correction2_sqrt)), decay(T(1 - a.lr * a.weight_decay)), amsgrad(a.amsgrad),
        maximize(a.maximize), decoupled(a.decoupled) {}

  // One element of the dense step (torch's _single_tensor_adam).
  __device__ __forceinline__ T dense(T p, T g, T* m, T* v, T* max_v) const {
    if (maximize) g = -g;
    if (weight_decay != T(0)) {
      if (decoupled) p = p * decay;
      else g = g + weight_decay * p;
    }
    const T mn = *m + one_minus_beta1 * (g - *m);
    const T vn = beta2 * *v + one_minus_beta2 * g * g;
    *m = mn;
    *v = vn;
    T second = vn;
    if (amsgrad) {
      second = amsgrad_max(*max_v, vn);
      *max_v = second;
    }
    const T denom = sqrt(second) / bc2_sqrt + eps;
    return p - step_size * mn / denom;
  }

  // One element of SparseAdam's lazy step (bias corrections folded into step_size).
  __device__ __forceinline__ T sparse(T p, T g, T* m, T* v, T* max_v) const {
    if (maximize) g = -g;
    if (weight_decay != T(0)) {
      if (decoupled) p = p * decay;
      else g = g + weight_decay * p;
    }
    const T mn = (g - *m) * one_minus_beta1 + *m;
    const T vn = (g * g - *v) * one_minus_beta2 + *v;
    *m = mn;
    *v = vn;
    T second = vn;
    if (amsgrad) {
      second = amsgrad_max(*max_v, vn);
      *max_v = second;
    }
    return p + mn / (sqrt(second) + eps) * -step_size;
  }
};

template <class T>
__global__ void __launch_bounds__(kThreads) sgd_kernel(T* p, const T* g, T* buf, int64_t n, Sgd<T> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p[i] = s.update(p[i], g[i], buf != nullptr ? buf + i : nullptr);
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    sgd_sparse_kernel(T* p, const int64_t* rows, const T* values, T* buf, int64_t n, int64_t D, Sgd<T> s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += stride) {
    const int64_t u = t / D, off = rows[u] * D + (t - u * D);
    p[off] = s.update(p[off], values[t], buf != nullptr ? buf + off : nullptr);
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    adam_kernel(T* p, const T* g, T* m, T* v, T* max_v, int64_t n, Adam<T> a) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p[i] = a.dense(p[i], g[i], m + i, v + i, max_v != nullptr ? max_v + i : nullptr);
}

template <class T>
__global__ void __launch_bounds__(kThreads) adam_sparse_kernel(T* p, const int64_t* rows, const T* values, T* m, T* v,
                                                               T* max_v, int64_t n, int64_t D, Adam<T> a) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += stride) {
    const int64_t u = t / D, off = rows[u] * D + (t - u * D);
    p[off] = a.sparse(p[off], values[t], m + off, v + off, max_v != nullptr ? max_v + off : nullptr);
  }
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.impl()->data()) : nullptr;
}

// Elements per listed row: the product of the parameter's trailing dims.
int64_t row_size(const Tensor& p) { return p.size(0) == 0 ? 0 : p.numel() / p.size(0); }

}  // namespace

void sgd_step(const Tensor& p, const Tensor& grad, const Tensor& buf, const SgdArgs& a) {
  const int64_t n = p.numel();
  if (n == 0) return;
  dispatch_tag<DtypeSet::Floating>(p.dtype(), "SGD", [&](auto tag) {
    using T = decltype(tag);
    sgd_kernel<T><<<detail::grid_size(n), kThreads>>>(data_or_null<T>(p), data_or_null<T>(grad), data_or_null<T>(buf),
                                                      n, Sgd<T>(a));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

void sgd_sparse_step(const Tensor& p, const Tensor& rows, const Tensor& values, const Tensor& buf, const SgdArgs& a) {
  const int64_t D = row_size(p), n = rows.numel() * D;
  if (n == 0) return;
  dispatch_tag<DtypeSet::Floating>(p.dtype(), "SGD", [&](auto tag) {
    using T = decltype(tag);
    sgd_sparse_kernel<T><<<detail::grid_size(n), kThreads>>>(data_or_null<T>(p), data_or_null<int64_t>(rows),
                                                             data_or_null<T>(values), data_or_null<T>(buf), n, D,
                                                             Sgd<T>(a));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

void adam_step(const Tensor& p, const Tensor& grad, const Tensor& m, const Tensor& v, const Tensor& max_v,
               const AdamArgs& a) {
  const int64_t n = p.numel();
  if (n == 0) return;
  dispatch_tag<DtypeSet::Floating>(p.dtype(), "Adam", [&](auto tag) {
    using T = decltype(tag);
    adam_kernel<T><<<detail::grid_size(n), kThreads>>>(data_or_null<T>(p), data_or_null<T>(grad), data_or_null<T>(m),
                                                       data_or_null<T>(v), data_or_null<T>(max_v), n, Adam<T>(a));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

void adam_sparse_step(const Tensor& p, const Tensor& rows, const Tensor& values, const Tensor& m, const Tensor& v,
                      const Tensor& max_v, const AdamArgs& a) {
  const int64_t D = row_size(p), n = rows.numel() * D;
  if (n == 0) return;
  dispatch_tag<DtypeSet::Floating>(p.dtype(), "Adam", [&](auto tag) {
    using T = decltype(tag);
    adam_sparse_kernel<T><<<detail::grid_size(n), kThreads>>>(
        data_or_null<T>(p), data_or_null<int64_t>(rows), data_or_null<T>(values), data_or_null<T>(m),
        data_or_null<T>(v), data_or_null<T>(max_v), n, D, Adam<T>(a));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ember::kernels::cuda
