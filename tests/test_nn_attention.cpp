// MultiheadAttention and the Transformer encoder: shapes, masks, gradcheck.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <ember.h>

#include "nn/nn.h"

using namespace ember;
namespace nn = ember::nn;

TEST_CASE("nn attention: MHA shapes, weights and masks") {
  manual_seed(0);
  nn::MultiheadAttention mha(8, 2);
  CHECK(mha.named_parameters()[0].first == "in_proj_weight");
  CHECK(mha.named_parameters()[2].first == "out_proj.weight");
  Tensor q = randn({2, 3, 8}), kv = randn({2, 5, 8});
  auto [out, attn] = mha(q, kv, kv);
  CHECK(out.sizes() == Shape{2, 3, 8});
  CHECK(attn.sizes() == Shape{2, 3, 5});
  CHECK(allclose(attn.sum({-1}), ones({2, 3}), 1e-5, 1e-6));
  // Key padding: masked keys get zero weight.
  Tensor kpm = tensor(std::vector<bool>{false, false, false, true, true, false, true, false, false, false}).view({2, 5});
  auto [out2, attn2] = mha(q, kv, kv, kpm);
  CHECK(attn2[0].slice(-1, 3, 5).abs().sum().item<double>() == 0);
  CHECK(attn2[1].select(-1, 1).abs().sum().item<double>() == 0);
  // Masked keys do not influence the output: changing them changes nothing.
  Tensor kv2 = kv.clone();
  {
    NoGradGuard g;
    kv2[0][4].fill_(100.0);
  }
  CHECK(allclose(mha(q, kv2, kv2, kpm).first, out2, 1e-5, 1e-6));
  // A bool attn_mask equals the same mask given additively (-inf).
  Tensor causal = ones({3, 5}).to(kBool);
  causal = tensor(std::vector<bool>{false, true, true, true, true, false, false, true, true, true, false, false, false,
                                    true, true}).view({3, 5});
  Tensor additive = zeros({3, 5}).masked_fill(causal, -std::numeric_limits<double>::infinity());
  auto [o_bool, a_bool] = mha(q, kv, kv, {}, true, causal);
  auto [o_add, a_add] = mha(q, kv, kv, {}, true, additive);
  CHECK(allclose(o_bool, o_add, 1e-6, 1e-6));
  CHECK(a_bool[0][0].slice(-1, 1, 5).abs().sum().item<double>() == 0);
  // Per-head weights, and no weights.
  CHECK(mha(q, kv, kv, {}, true, {}, false).second.sizes() == Shape{2, 2, 3, 5});
  CHECK(!mha(q, kv, kv, {}, false).second.defined());
  // Sequence-first layout gives the same numbers.
  nn::MultiheadAttention sf(8, 2, 0.0, true, /*batch_first=*/false);
  sf.load_state_dict(mha.state_dict());
  CHECK(allclose(sf(q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1)).first.transpose(0, 1), out, 1e-5, 1e-6));
  CHECK_THROWS_AS(nn::MultiheadAttention(6, 4), Error);
  CHECK_THROWS_AS(mha(q, kv, kv, ones({2, 4}).to(kBool)), Error);
}

TEST_CASE("nn attention: MHA gradcheck with masks") {
  manual_seed(1);
  nn::MultiheadAttention mha(4, 2);
  mha.to(kFloat64);
  Tensor q = randn({2, 3, 4}, kFloat64).requires_grad_(true);
  Tensor kv = randn({2, 4, 4}, kFloat64).requires_grad_(true);
  Tensor kpm = tensor(std::vector<bool>{false, false, true, false, false, false, false, true}).view({2, 4});
  Tensor am = randn({3, 4}, kFloat64);
  std::vector<Tensor> inputs{q, kv};
  for (const Tensor& p : mha.parameters()) inputs.push_back(p);
  // Output and averaged weights checked separately: combining both in one expression
  // currently trips an engine bug (in-place accumulation into an expanded gradient; see
  // the report), which is not an nn issue.
  CHECK(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return mha(in[0], in[1], in[1], kpm, true, am).first; }, inputs));
  CHECK(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return mha(in[0], in[1], in[1], kpm, true, am).second; }, inputs));
  Tensor causal = tensor(std::vector<bool>{false, true, true, true, false, false, true, true, false, false, false, true})
                      .view({3, 4});
  CHECK(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return mha(in[0], in[1], in[1], {}, true, causal).first; }, inputs));
}

TEST_CASE("nn attention: TransformerEncoderLayer gradcheck, pre- and post-norm") {
  // Post-norm with relu and pre-norm with gelu (each gradcheck costs a few seconds).
  for (bool norm_first : {false, true}) {
    {
      const char* act = norm_first ? "gelu" : "relu";
      CAPTURE(norm_first);
      CAPTURE(act);
      manual_seed(2);
      nn::TransformerEncoderLayer layer(4, 2, 6, /*dropout=*/0.1, act, 1e-5, true, norm_first);
      layer.eval();  // dropout off
      layer.to(kFloat64);
      Tensor x = randn({2, 3, 4}, kFloat64).requires_grad_(true);
      Tensor kpm = tensor(std::vector<bool>{false, false, true, false, false, false}).view({2, 3});
      std::vector<Tensor> inputs{x};
      for (const Tensor& p : layer.parameters()) inputs.push_back(p);
      CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return layer(in[0], {}, kpm); }, inputs));
    }
  }
}

TEST_CASE("nn attention: TransformerEncoder stacks deep copies") {
  manual_seed(3);
  nn::TransformerEncoderLayer layer(8, 2, 16, 0.0);
  nn::TransformerEncoder enc(layer, 3, std::make_shared<nn::LayerNorm>(Shape{8}));
  auto names = enc.named_parameters();
  CHECK(names[0].first == "layers.0.self_attn.in_proj_weight");
  CHECK(names.back().first == "norm.bias");
  CHECK(names.size() == 3 * layer.parameters().size() + 2);
  auto l0 = enc.layers->at<nn::TransformerEncoderLayer>(0);
  auto l1 = enc.layers->at<nn::TransformerEncoderLayer>(1);
  CHECK(!l0->linear1->weight.is_same(l1->linear1->weight));
  CHECK(equal(l0->linear1->weight, layer.linear1->weight));
  Tensor x = randn({2, 5, 8});
  Tensor kpm = zeros({2, 5}).to(kBool);
  Tensor y = enc(x, {}, kpm);
  CHECK(y.sizes() == Shape{2, 5, 8});
  Tensor manual = x;
  for (int i = 0; i < 3; ++i) manual = enc.layers->at<nn::TransformerEncoderLayer>(i)->forward(manual, {}, kpm);
  CHECK(allclose(y, enc.norm->forward(manual), 1e-5, 1e-6));
  y.sum().backward();
  for (const Tensor& p : enc.parameters()) CHECK(p.grad().defined());
  // A padded position does not change the outputs at the other positions.
  Tensor pad = tensor(std::vector<bool>{false, false, false, false, true, false, false, false, false, true}).view({2, 5});
  Tensor x2 = x.clone();
  {
    NoGradGuard g;
    x2.select(1, 4).fill_(9.0);
  }
  CHECK(allclose(enc(x, {}, pad).slice(1, 0, 4), enc(x2, {}, pad).slice(1, 0, 4), 1e-5, 1e-5));
  auto copy = std::dynamic_pointer_cast<nn::TransformerEncoder>(enc.clone());
  REQUIRE(copy);
  CHECK(allclose((*copy)(x), enc(x), 1e-6, 1e-6));
}
