// Stride math, each free function on its own.
#include "test_util.h"
#include "tensor/geometry.h"

using namespace ember;

TEST_CASE("shape: contiguous strides and numel") {
  CHECK(contiguous_strides({2, 3, 4}) == Shape{12, 4, 1});
  CHECK(contiguous_strides({}) == Shape{});
  CHECK(contiguous_strides({3, 0, 2}) == Shape{2, 2, 1});
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({3, 0}) == 0);
  CHECK(is_contiguous_layout({2, 3}, {3, 1}));
  CHECK_FALSE(is_contiguous_layout({2, 3}, {1, 2}));
  CHECK(is_contiguous_layout({1, 3}, {99, 1}));  // size-1 dims do not matter
}

TEST_CASE("shape: broadcasting") {
  CHECK(broadcast_shapes({3, 1}, {4}, "t") == Shape{3, 4});
  CHECK(broadcast_shapes({}, {2, 2}, "t") == Shape{2, 2});
  CHECK(broadcast_shapes({2, 1, 4}, {3, 1}, "t") == Shape{2, 3, 4});
  CHECK(broadcast_shapes({0, 1}, {1, 5}, "t") == Shape{0, 5});
  CHECK(test::error_of([] { broadcast_shapes({3}, {4}, "add"); })
            .find("[add] The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0") == 0);
  CHECK(broadcast_strides({3, 1}, {1, 1}, {2, 3, 4}) == Shape{0, 1, 0});
}

TEST_CASE("shape: view strides follow PyTorch's computeStride") {
  CHECK(*view_strides({2, 3}, {3, 1}, {6}) == Shape{1});
  CHECK(*view_strides({2, 3}, {3, 1}, {3, 2}) == Shape{2, 1});
  CHECK_FALSE(view_strides({2, 3}, {1, 2}, {6}).has_value());  // a transpose cannot be flattened
  CHECK(*view_strides({4, 2}, {4, 1}, {2, 2, 2}) == Shape{8, 4, 1});  // slice keeps its row stride
  CHECK(*view_strides({}, {}, {1, 1}) == Shape{1, 1});
  CHECK(infer_size({-1, 4}, 12, "view") == Shape{3, 4});
  CHECK(test::error_of([] { infer_size({5, -1}, 12, "view"); }).find("shape '[5, -1]' is invalid for input of size 12") !=
        std::string::npos);
}

TEST_CASE("shape: dims, offsets and geometry") {
  CHECK(wrap_dim(-1, 3, "t") == 2);
  CHECK(wrap_dim(0, 0, "t") == 0);
  CHECK(test::error_of([] { wrap_dim(3, 3, "sum"); }) ==
        "[sum] Dimension out of range (expected to be in range of [-3, 2], but got 3)");
  CHECK(reduction_dims({-1, 0}, 3, "sum") == Shape{0, 2});
  CHECK(test::error_of([] { reduction_dims({1, -2}, 3, "sum"); }).find("appears multiple times") != std::string::npos);
  CHECK(index_to_offset({1, 2}, {5, 1}) == 7);
  Geometry g = contiguous_geometry({4, 6});
  Geometry s = geometry_slice(g, 1, 1, 6, 2, "slice");
  CHECK(s.sizes == Shape{4, 3});
  CHECK(s.strides == Shape{6, 2});
  CHECK(s.offset == 1);
  Geometry sel = geometry_select(g, 0, -1, "select");
  CHECK(sel.offset == 18);
  CHECK(sel.sizes == Shape{6});
  Geometry e = geometry_expand(geometry_unsqueeze(contiguous_geometry({3}), 0, "u"), {2, 3}, "expand");
  CHECK(e.strides == Shape{0, 1});
  CHECK(geometry_permute(g, {1, 0}, "permute").strides == Shape{1, 6});
  CHECK(geometry_slice(g, 0, -100, 100, 1, "slice").sizes == Shape{4, 6});  // bounds clamp like Python
}
