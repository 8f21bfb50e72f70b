#include "autograd/saved_tensor.h"

#include <sstream>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace ember::autograd {
namespace {
Tensor bare_alias(const Tensor& t) {
  const TensorImpl* src = t.impl();
  return Tensor(std::make_shared<TensorImpl>(src->storage, src->sizes, src->strides, src->offset, src->dtype));
}
}  // namespace

SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output) {
  if (!t.defined()) return;
  version_ = t.version();
  if (is_output) {
    data_ = bare_alias(t);  // see NOTE [ Saved outputs do not own their node ]
    if (AutogradMeta* m = maybe_meta(t)) {
      output_requires_grad_ = m->requires_grad;
      output_nr_ = m->output_nr;
    }
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(Node* owner) const {
  if (!data_.defined()) return data_;
  if (data_.version() != version_) {
    std::ostringstream os;
    os << "one of the variables needed for gradient computation has been modified by an inplace operation: ["
       << data_.dtype() << ' ' << shape_text(data_.sizes()) << "]";
    if (is_output_) os << ", which is output " << output_nr_ << " of " << owner->name() << ',';
    os << " is at version " << data_.version() << "; expected version " << version_
       << " instead. Hint: the operation that failed to compute its gradient is " << owner->name()
       << "; look for an in-place op (add_, mul_, copy_, ...) applied to that tensor after it was used.";
    detail::throw_error(owner->name(), os.str());
  }
  if (is_output_ && output_requires_grad_ && GradMode::is_enabled()) {
    // create_graph: the saved output must again lead back to its node.
    Tensor t = bare_alias(data_);
    AutogradMeta& m = meta_of(t);
    m.requires_grad = true;
    m.grad_fn = owner->shared_from_this();
    m.output_nr = output_nr_;
    return t;
  }
  return data_;
}

}  // namespace ember::autograd
