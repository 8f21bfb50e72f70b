#include <ember.h>

#include <iostream>

int main() {
  ember::Tensor x = ember::ones({2, 3}, ember::requires_grad());
  ember::Tensor y = (x * 2).sum();
  y.backward();
  std::cout << "consumer ok " << x.grad().sum().item<double>() / 2 << "\n";
}
