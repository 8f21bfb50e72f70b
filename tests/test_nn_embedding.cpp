// Embedding and EmbeddingBag: values, padding, all modes (gradcheck), sparse gradients.
#include <doctest/doctest.h>

#include <algorithm>

#include <ember.h>

#include "nn/nn.h"
#include "test_util.h"

using namespace ember;

namespace {
// int64 matrix literal (plain braces of ints are ambiguous between the tensor() overloads).
Tensor ids2(std::initializer_list<std::initializer_list<int64_t>> rows) { return tensor(rows); }
}  // namespace
namespace nn = ember::nn;
namespace F = ember::nn::functional;

namespace {
Tensor ids(std::initializer_list<int64_t> v) { return tensor(v); }
}  // namespace

TEST_CASE("nn embedding: lookup, padding row and its gradient") {
  manual_seed(0);
  nn::Embedding emb(6, 3, /*padding_idx=*/0);
  CHECK(emb.weight[0].abs().sum().item<double>() == 0);
  Tensor x = ids2({{0, 2, 2}, {5, 0, 1}});
  Tensor y = emb(x);
  REQUIRE(y.sizes() == Shape{2, 3, 3});
  CHECK(equal(y[0][1], emb.weight[2]));
  CHECK(equal(y[1][0], emb.weight[5]));
  (y * y).sum().backward();
  Tensor g = emb.weight.grad();
  CHECK(g[0].abs().sum().item<double>() == 0);  // padding row: no gradient
  CHECK(allclose(g[2], emb.weight[2] * 4));     // used twice
  CHECK(g[3].abs().sum().item<double>() == 0);
  nn::Embedding neg(5, 2, -1);
  CHECK(*neg.padding_idx == 4);
  // gradcheck without padding (the padding row's forward value is not differentiated, by design).
  nn::Embedding plain(6, 3);
  plain.to(kFloat64);
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>&) { return plain(x); }, {plain.weight}));
}

TEST_CASE("nn embedding: EmbeddingBag modes match hand-computed bags") {
  Tensor w = arange(0, 12).to(kFloat64).view({6, 2});  // row r = [2r, 2r+1]
  Tensor input = ids({1, 2, 4, 5, 4, 3, 2});
  Tensor offsets = ids({0, 2, 2, 5});                  // bags {1,2} {} {4,5,4} {3,2}
  Tensor sum = F::embedding_bag(input, w, offsets, "sum");
  CHECK(equal(sum, tensor({{6.0, 8.0}, {0.0, 0.0}, {26.0, 29.0}, {10.0, 12.0}})));
  Tensor mean = F::embedding_bag(input, w, offsets, "mean");
  CHECK(allclose(mean, tensor({{3.0, 4.0}, {0.0, 0.0}, {26.0 / 3, 29.0 / 3}, {5.0, 6.0}})));
  Tensor mx = F::embedding_bag(input, w, offsets, "max");
  CHECK(equal(mx, tensor({{4.0, 5.0}, {0.0, 0.0}, {10.0, 11.0}, {6.0, 7.0}})));
  // padding_idx 4 drops those entries (mean over the rest).
  Tensor mp = F::embedding_bag(input, w, offsets, "mean", {}, 4);
  CHECK(allclose(mp, tensor({{3.0, 4.0}, {0.0, 0.0}, {10.0, 11.0}, {5.0, 6.0}})));
  // per_sample_weights in sum mode.
  Tensor psw = tensor({1.0, 0.5, 2.0, 0.0, -1.0, 1.0, 1.0});
  Tensor ws = F::embedding_bag(input, w, offsets, "sum", psw);
  CHECK(allclose(ws, tensor({{4.0, 5.5}, {0.0, 0.0}, {8.0, 9.0}, {10.0, 12.0}})));
  // include_last_offset: offsets has B + 1 entries.
  Tensor li = F::embedding_bag(input, w, ids({0, 2, 5, 7}), "sum", {}, std::nullopt, false, true);
  CHECK(equal(li, tensor({{6.0, 8.0}, {26.0, 29.0}, {10.0, 12.0}})));
  // 2-D input: one bag per row.
  Tensor two = F::embedding_bag(ids2({{1, 2}, {3, 2}}), w, {}, "sum");
  CHECK(equal(two, tensor({{6.0, 8.0}, {10.0, 12.0}})));
  CHECK_THROWS_AS(F::embedding_bag(input, w, offsets, "mean", psw), Error);
  CHECK_THROWS_AS(F::embedding_bag(ids({1, 9}), w, ids({0}), "sum"), Error);
  CHECK_THROWS_AS(F::embedding_bag(input, w, ids({1, 3}), "sum"), Error);
  CHECK_THROWS_AS(F::embedding_bag(input, w, offsets, "median"), Error);
}

TEST_CASE("nn embedding: EmbeddingBag gradcheck, every mode (dense path)") {
  manual_seed(4);
  Tensor input = ids({1, 2, 4, 5, 4, 3, 2, 0});
  Tensor offsets = ids({0, 2, 2, 5});
  for (const char* mode : {"sum", "mean", "max"}) {
    for (std::optional<int64_t> pad : {std::optional<int64_t>(), std::optional<int64_t>(4)}) {
      CAPTURE(mode);
      CAPTURE(pad.has_value());
      Tensor w = randn({6, 3}, kFloat64).requires_grad_(true);
      CHECK(autograd::gradcheck(
          [&](const std::vector<Tensor>& in) { return F::embedding_bag(input, in[0], offsets, mode, {}, pad); }, {w}));
      if (pad) {
        F::embedding_bag(input, w, offsets, mode, {}, pad).sum().backward();
        CHECK(w.grad()[4].abs().sum().item<double>() == 0);
      }
    }
  }
  // per_sample_weights: gradient to both weight and the sample weights.
  Tensor w = randn({6, 3}, kFloat64).requires_grad_(true);
  Tensor psw = randn({8}, kFloat64).requires_grad_(true);
  CHECK(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return F::embedding_bag(input, in[0], offsets, "sum", in[1]); }, {w, psw}));
  // 2-D input through the module.
  nn::EmbeddingBag bag(6, 3, "mean");
  bag.to(kFloat64);
  Tensor x2 = ids2({{1, 2, 2}, {0, 5, 3}});
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>&) { return bag(x2); }, {bag.weight}));
}

TEST_CASE("nn embedding: sparse EmbeddingBag gradient equals the dense one") {
  manual_seed(9);
  Tensor input = ids({1, 2, 4, 5, 4, 3, 2, 0, 2});
  Tensor offsets = ids({0, 2, 2, 5, 7});
  for (const char* mode : {"sum", "mean", "max"}) {
    CAPTURE(mode);
    nn::EmbeddingBag dense(7, 3, mode, false, 0);
    nn::EmbeddingBag sparse(7, 3, mode, true, 0);
    sparse.load_state_dict(dense.state_dict());
    Tensor gout = randn({5, 3});
    (dense(input, offsets) * gout).sum().backward();
    (sparse(input, offsets) * gout).sum().backward();
    CHECK(!sparse.weight.grad().defined());
    REQUIRE(nn::has_sparse_grad(sparse.weight));
    auto [rows, vals] = nn::sparse_grad(sparse.weight);
    // Unique, sorted rows; the padding row (0) and unused row 6 are absent.
    CHECK(equal(rows, ids({1, 2, 3, 4, 5})));
    CHECK(vals.sizes() == Shape{5, 3});
    CHECK(allclose(nn::sparse_grad_to_dense(sparse.weight), dense.weight.grad(), 1e-5, 1e-6));
    // A second backward concatenates then merges duplicates: the total doubles.
    (sparse(input, offsets) * gout).sum().backward();
    CHECK(nn::sparse_grad(sparse.weight).first.numel() == 5);
    CHECK(allclose(nn::sparse_grad_to_dense(sparse.weight), dense.weight.grad() * 2, 1e-5, 1e-6));
    nn::clear_sparse_grad(sparse.weight);
    CHECK(!nn::has_sparse_grad(sparse.weight));
  }
  // Sparse with per_sample_weights that need a gradient too.
  nn::EmbeddingBag sp(7, 3, "sum", true);
  Tensor psw = randn({9}).requires_grad_(true);
  sp(input, offsets, psw).sum().backward();
  CHECK(psw.grad().defined());
  CHECK(nn::has_sparse_grad(sp.weight));
}

TEST_CASE("nn embedding: entries after the last offset get no gradient (include_last_offset)") {
  manual_seed(2);
  Tensor input = ids({1, 2, 3, 4, 5});
  Tensor offsets = ids({0, 2, 3});  // bags [0, 2) and [2, 3); ids 4 and 5 are in no bag
  for (bool sparse : {false, true}) {
    CAPTURE(sparse);
    nn::EmbeddingBag bag(6, 2, "sum", sparse, std::nullopt, /*include_last_offset=*/true);
    Tensor psw = ones({5}).requires_grad_(true);
    (bag(input, offsets, psw) * randn({2, 2})).sum().backward();
    Tensor g = sparse ? nn::sparse_grad_to_dense(bag.weight) : bag.weight.grad();
    CHECK(equal(g.select(0, 4), zeros({2})));
    CHECK(equal(g.select(0, 5), zeros({2})));
    CHECK(!equal(g.select(0, 1), zeros({2})));
    CHECK(psw.grad().select(0, 3).item<float>() == 0.0f);
    CHECK(psw.grad().select(0, 4).item<float>() == 0.0f);
    if (sparse) CHECK(nn::sparse_grad(bag.weight).first.numel() == 3);  // rows 1, 2, 3 only
  }
}

TEST_CASE("nn embedding: a large table groups rows by radix sort; from_pretrained") {
  // 300,000 rows for 40 entries: the radix-sort path (two 11-bit passes), not the counting sort.
  manual_seed(4);
  const int64_t rows = 300000;
  std::vector<int64_t> raw;
  for (int64_t i = 0; i < 40; ++i) raw.push_back((i * 7919 * 7919) % rows);
  raw[5] = raw[17] = 299999;  // repeats, one of them in the high digit
  raw[6] = raw[30] = 2048;
  Tensor input = from_blob_copy(raw.data(), {40}, kInt64);
  Tensor offsets = ids({0, 10, 25});
  Tensor table = randn({rows, 2});
  auto bag = nn::EmbeddingBag::from_pretrained(table, /*freeze=*/false, "sum", /*sparse=*/true);
  CHECK(bag->weight.data_ptr<float>() == table.data_ptr<float>());  // used as is
  CHECK(bag->num_embeddings == rows);
  CHECK(bag->embedding_dim == 2);
  Tensor gout = randn({3, 2});
  ((*bag)(input, offsets) * gout).sum().backward();
  auto [got_rows, vals] = nn::sparse_grad(bag->weight);
  std::vector<int64_t> expected_rows = raw;
  std::sort(expected_rows.begin(), expected_rows.end());
  expected_rows.erase(std::unique(expected_rows.begin(), expected_rows.end()), expected_rows.end());
  CHECK(equal(got_rows, from_blob_copy(expected_rows.data(), {static_cast<int64_t>(expected_rows.size())}, kInt64)));
  // Reference: row r collects the output gradient of every bag it appears in, once per entry.
  Tensor reference = zeros({rows, 2});
  for (int64_t i = 0; i < 40; ++i) {
    int64_t b = i < 10 ? 0 : i < 25 ? 1 : 2;
    Tensor r = reference.select(0, raw[static_cast<size_t>(i)]);
    r.add_(gout.select(0, b));
  }
  CHECK(allclose(nn::sparse_grad_to_dense(bag->weight), reference, 1e-5, 1e-6));
  auto frozen = nn::EmbeddingBag::from_pretrained(table);
  CHECK(!frozen->weight.requires_grad());
  CHECK(test::error_of([] { nn::EmbeddingBag::from_pretrained(ones({3})); }).find("[EmbeddingBag]") == 0);
}

TEST_CASE("nn embedding: EmbeddingBag larger batch matches an index_select reference") {
  manual_seed(21);
  const int64_t V = 50, D = 16, N = 4000, B = 300;
  Tensor w = randn({V, D}).requires_grad_(true);
  Tensor input = randint(0, V, {N});
  std::vector<int64_t> off(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) off[static_cast<size_t>(b)] = (b * N) / B + (b % 3 == 1 ? 5 : 0);  // uneven bags
  off[1] = off[0];  // one empty bag
  Tensor offsets = tensor(off);
  Tensor y = F::embedding_bag(input, w, offsets, "sum");
  // Reference: per-bag sums of index_select rows.
  Tensor rows = w.index_select(0, input);
  Tensor cs = offsets.contiguous();
  std::vector<Tensor> parts;
  for (int64_t b = 0; b < B; ++b) {
    int64_t s = cs.data_ptr<int64_t>()[b], e = b + 1 < B ? cs.data_ptr<int64_t>()[b + 1] : N;
    parts.push_back(e > s ? rows.slice(0, s, e).sum({0}) : zeros({D}));
  }
  Tensor ref = stack(parts, 0);
  CHECK(allclose(y, ref, 1e-4, 1e-5));
  Tensor gout = randn({B, D});
  Tensor gw = autograd::grad({y}, {w}, {gout})[0];
  Tensor gref = autograd::grad({ref}, {w}, {gout})[0];
  CHECK(allclose(gw, gref, 1e-4, 1e-5));
}
