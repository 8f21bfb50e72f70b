// A first tour: tensors, views, broadcasting, and a gradient.
#include <iostream>

#include <ember.h>

int main() {
  ember::Tensor a = ember::arange(6, ember::kFloat32).reshape({2, 3});
  std::cout << "a = " << a << "\n";
  std::cout << "a.t() shares a's storage: strides " << ember::shape_text(a.t().strides()) << "\n";
  ember::Tensor row = ember::tensor({10.f, 20.f, 30.f});
  std::cout << "a + row (broadcast) = " << a + row << "\n";
  std::cout << "softmax over dim 1 = " << a.softmax(1) << "\n";

  ember::Tensor x = ember::tensor({1.0, 2.0, 3.0}).requires_grad_(true);
  ember::Tensor y = (x * x).sum();  // y = sum x^2, so dy/dx = 2x
  y.backward();
  std::cout << "d(sum x^2)/dx = " << x.grad() << "\n";
}
