#include "tensor/tensor_impl.h"

#include "autograd/autograd_meta.h"

namespace ember {

TensorImpl::TensorImpl(std::shared_ptr<Storage> s, Shape sz, Shape st, int64_t off, ScalarType dt)
    : storage(std::move(s)), sizes(std::move(sz)), strides(std::move(st)), offset(off), dtype(dt) {
  refresh();
}

TensorImpl::~TensorImpl() = default;

void TensorImpl::refresh() {
  numel = shape_numel(sizes);
  contiguous = is_contiguous_layout(sizes, strides);
}

}  // namespace ember
