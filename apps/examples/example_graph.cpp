// Builds the graph of a tiny two-layer network's loss, prints the trace of what forward
// records and backward runs, and writes the graph as Graphviz DOT (and SVG when `dot` is
// installed, from Debian's graphviz package).
//   build/bin/example_graph [output-stem]   -> output-stem.dot (+ .svg), default "autograd-graph"
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <ember.h>

int main(int argc, char** argv) {
  std::string stem = argc > 1 ? argv[1] : "autograd-graph";
  ember::manual_seed(0);
  ember::Tensor x = ember::randn({4, 3});                              // a batch of 4 inputs
  ember::Tensor w1 = ember::randn({3, 5}, ember::requires_grad());     // first layer
  ember::Tensor b1 = ember::zeros({5}, ember::requires_grad());
  ember::Tensor w2 = ember::randn({5, 1}, ember::requires_grad());     // second layer
  ember::Tensor target = ember::ones({4, 1});

  ember::Tensor loss;
  {
    ember::autograd::TraceGuard trace;  // prints each node as forward records it...
    ember::Tensor hidden = (x.matmul(w1) + b1).relu();
    ember::Tensor pred = hidden.matmul(w2);
    loss = (pred - target).pow(2).mean();
    std::cerr << "--- backward ---\n";
    loss.backward(ember::Tensor(), /*retain_graph=*/true);  // ...and each node backward runs
  }
  std::cout << "loss = " << loss.item<float>() << "\n";
  std::cout << "w1.grad() = " << w1.grad() << "\n";

  std::string dot = ember::autograd::to_dot(loss);
  std::ofstream(stem + ".dot") << dot;
  std::cout << "wrote " << stem << ".dot\n";
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    std::string cmd = "dot -Tsvg '" + stem + ".dot' -o '" + stem + ".svg'";
    if (std::system(cmd.c_str()) == 0) std::cout << "wrote " << stem << ".svg\n";
  } else {
    std::cout << "(install graphviz to render it: dot -Tsvg " << stem << ".dot -o " << stem << ".svg)\n";
  }
}
