// operator<< for tensors, in PyTorch's layout: nested brackets, aligned columns, then the
// dtype and shape.
#include <cmath>
#include <iomanip>
#include <sstream>

#include "kernels/cpu/dispatch.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace ember {
namespace {

struct Formatter {
  bool floating = false;
  bool integral_values = true;  // floats that are all whole numbers print as "1."
  bool scientific = false;
  int width = 1;
  int precision = 4;

  std::string format(double v) const {
    std::ostringstream os;
    if (!floating) {
      os << static_cast<int64_t>(v);
    } else if (std::isnan(v)) {
      os << "nan";
    } else if (std::isinf(v)) {
      os << (v > 0 ? "inf" : "-inf");
    } else if (scientific) {
      os << std::scientific << std::setprecision(precision) << v;
    } else if (integral_values) {
      os << std::fixed << std::setprecision(0) << v << '.';
    } else {
      os << std::fixed << std::setprecision(precision) << v;
    }
    return os.str();
  }
};

void print_dim(std::ostream& os, const std::vector<double>& values, const Shape& sizes, size_t dim, int64_t& pos,
               const Formatter& f, int indent, ScalarType dtype) {
  if (sizes.empty()) {
    os << f.format(values[static_cast<size_t>(pos++)]);
    return;
  }
  os << '[';
  for (int64_t i = 0; i < sizes[dim]; ++i) {
    if (i > 0) {
      os << ',';
      if (dim + 1 < sizes.size()) os << std::string(sizes.size() - dim - 1, '\n') << std::string(indent + 1, ' ');
      else os << ' ';
    }
    if (dim + 1 == sizes.size()) {
      std::string s = dtype == kBool ? (values[static_cast<size_t>(pos)] != 0 ? "True" : "False")
                                     : f.format(values[static_cast<size_t>(pos)]);
      ++pos;
      os << std::setw(f.width) << s;
    } else {
      print_dim(os, values, sizes, dim + 1, pos, f, indent + 1, dtype);
    }
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  Tensor c = contiguous(t.detach().cpu());
  std::vector<double> values(static_cast<size_t>(c.numel()));
  kernels::dispatch_all(c.dtype(), "print", [&]<class T>() {
    const T* p = c.impl()->data_as<T>();
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(p[i]);
  });
  Formatter f;
  f.floating = is_floating_point(t.dtype());
  double max_abs = 0, min_abs = INFINITY;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    f.integral_values = f.integral_values && v == std::floor(v);
    max_abs = std::max(max_abs, std::fabs(v));
    if (v != 0) min_abs = std::min(min_abs, std::fabs(v));
  }
  f.scientific = f.floating && (max_abs >= 1e8 || (min_abs < 1e-4 && min_abs != INFINITY) ||
                                (max_abs / (min_abs == INFINITY ? 1 : min_abs) > 1e3 && !f.integral_values));
  for (double v : values) f.width = std::max<int>(f.width, static_cast<int>(f.format(v).size()));
  if (t.dtype() == kBool) f.width = 5;
  os << "tensor(";
  int64_t pos = 0;
  if (t.numel() == 0) os << "[]";
  else print_dim(os, values, c.sizes(), 0, pos, f, 7, t.dtype());
  os << ", dtype=" << dtype_name(t.dtype()) << ", shape=" << shape_text(t.sizes());
  if (!t.device().is_cpu()) os << ", device='" << t.device().str() << "'";
  if (auto fn = t.grad_fn()) os << ", grad_fn=<" << fn->name() << ">";
  else if (t.requires_grad()) os << ", requires_grad=True";
  return os << ')';
}

}  // namespace ember
