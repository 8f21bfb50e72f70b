#include "kernels/cpu/parallel.h"

#include <omp.h>

#include <Eigen/Core>

#include "tensor/error.h"

extern "C" void openblas_set_num_threads(int);

namespace ember {
namespace {
int initial_threads() { return omp_get_max_threads(); }
int g_threads = initial_threads();
}  // namespace

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, "set_num_threads", "Expected a positive number of threads, got ", n);
  g_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int get_num_threads() { return g_threads; }

}  // namespace ember
