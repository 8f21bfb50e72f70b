// CUDA: device queries in every build; the GPU self-test only where a GPU is present.
#include "test_util.h"

using namespace ember;

TEST_CASE("cuda: device queries are safe without a GPU") {
  int n = cuda::device_count();
  CHECK(n >= 0);
  CHECK(cuda::is_available() == (n > 0));
  cuda::synchronize();
  if (!cuda::is_available()) {
    MESSAGE("skipped: no CUDA device here; the GPU self-test did not run");
    CHECK(!test::error_of([] { cuda::self_test(); }).empty());
    CHECK(test::error_of([] { ones({2}).to(Device(kCUDA)); }).find("[to]") == 0);
    return;
  }
  CHECK(cuda::self_test());
}
