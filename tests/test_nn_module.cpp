// nn::Module: registration and names, printing, modes, zero_grad, to(), state dicts, clone.
#include <doctest/doctest.h>

#include <sstream>

#include <ember.h>

#include "nn/nn.h"

using namespace ember;

namespace {
// int64 matrix literal (plain braces of ints are ambiguous between the tensor() overloads).
Tensor ids2(std::initializer_list<std::initializer_list<int64_t>> rows) { return tensor(rows); }
}  // namespace
namespace nn = ember::nn;

namespace {
struct Encoder : nn::Module {
  Encoder() {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 8));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(8, 3, false));
    scale = register_buffer("scale", ones({3}));
  }
  Tensor forward(const Tensor& x) override { return fc2->forward(fc1->forward(x).relu()) * scale; }
  std::shared_ptr<nn::Linear> fc1, fc2;
  Tensor scale;
};
struct Net : nn::Module {
  Net() {
    encoder = register_module("encoder", std::make_shared<Encoder>());
    head = register_module("head", std::make_shared<nn::Sequential>(
                                       std::initializer_list<std::shared_ptr<nn::Module>>{
                                           std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.25)}));
  }
  Tensor forward(const Tensor& x) override { return head->forward(encoder->forward(x)); }
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<nn::Sequential> head;
};
}  // namespace

TEST_CASE("nn module: named_parameters, buffers, children, modules") {
  Net net;
  auto names = net.named_parameters();
  REQUIRE(names.size() == 3);
  CHECK(names[0].first == "encoder.fc1.weight");
  CHECK(names[1].first == "encoder.fc1.bias");
  CHECK(names[2].first == "encoder.fc2.weight");
  CHECK(names[0].second.sizes() == Shape{8, 4});
  CHECK(names[0].second.is_same(net.encoder->fc1->weight));
  CHECK(net.parameters().size() == 3);
  CHECK(net.parameters(false).empty());
  auto bufs = net.named_buffers();
  REQUIRE(bufs.size() == 1);
  CHECK(bufs[0].first == "encoder.scale");
  CHECK(net.children().size() == 2);
  CHECK(net.named_children()[1].first == "head");
  auto mods = net.named_modules();
  REQUIRE(mods.size() == 7);  // net, encoder, fc1, fc2, head, relu, dropout
  CHECK(mods[0].first.empty());
  CHECK(mods[2].first == "encoder.fc1");
  CHECK(mods[6].first == "head.1");
  for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  CHECK(!net.encoder->scale.requires_grad());
}

TEST_CASE("nn module: printing like PyTorch") {
  nn::Linear fc(4, 3);
  std::ostringstream a;
  a << fc;
  CHECK(a.str() == "Linear(in_features=4, out_features=3, bias=true)");
  Net net;
  std::ostringstream b;
  b << net;
  CHECK(b.str() ==
        "Net(\n"
        "  (encoder): Encoder(\n"
        "    (fc1): Linear(in_features=4, out_features=8, bias=true)\n"
        "    (fc2): Linear(in_features=8, out_features=3, bias=false)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.25, inplace=false)\n"
        "  )\n"
        ")");
  std::ostringstream c;
  c << nn::Conv1d(2, 4, 3, 2, 1) << " " << nn::LayerNorm({5}) << " " << nn::EmbeddingBag(10, 3, "sum");
  CHECK(c.str() ==
        "Conv1d(2, 4, kernel_size=(3,), stride=(2,), padding=(1,)) LayerNorm((5,), eps=1e-05, elementwise_affine=true) "
        "EmbeddingBag(10, 3, mode='sum')");
}

TEST_CASE("nn module: train/eval are recursive") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  CHECK(!net.is_training());
  CHECK(!net.head->at<nn::Dropout>(1)->is_training());
  CHECK(!net.encoder->fc1->is_training());
  net.train();
  CHECK(net.head->at<nn::Dropout>(1)->is_training());
}

TEST_CASE("nn module: zero_grad clears dense and sparse gradients") {
  Net net;
  net.eval();
  net(randn({2, 4})).sum().backward();
  CHECK(net.encoder->fc1->weight.grad().defined());
  net.zero_grad(false);
  REQUIRE(net.encoder->fc1->weight.grad().defined());
  CHECK(net.encoder->fc1->weight.grad().abs().sum().item<double>() == 0);
  net.zero_grad();
  CHECK(!net.encoder->fc1->weight.grad().defined());

  nn::EmbeddingBag bag(6, 2, "sum", /*sparse=*/true);
  bag(ids2({{1, 2}, {2, 3}})).sum().backward();
  CHECK(nn::has_sparse_grad(bag.weight));
  bag.zero_grad();
  CHECK(!nn::has_sparse_grad(bag.weight));
}

TEST_CASE("nn module: to(dtype) converts in place and keeps requires_grad") {
  Net net;
  Tensor w = net.encoder->fc1->weight;
  std::vector<double> before;
  {
    Tensor c = w.detach().to(kFloat64).contiguous();
    before.assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }
  net.to(kFloat64);
  CHECK(w.dtype() == kFloat64);  // every handle follows
  CHECK(net.encoder->fc1->weight.dtype() == kFloat64);
  CHECK(net.encoder->scale.dtype() == kFloat64);
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  for (int64_t i = 0; i < w.numel(); ++i) CHECK(w.contiguous().data_ptr<double>()[i] == doctest::Approx(before[i]));
  net.eval();
  Tensor y = net(randn({2, 4}, kFloat64));
  CHECK(y.dtype() == kFloat64);
  y.sum().backward();
  CHECK(w.grad().dtype() == kFloat64);
  net.to(Device(kCPU));
  CHECK(w.device().is_cpu());
}

TEST_CASE("nn module: state_dict round trip") {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  nn::StateDict sd = a.state_dict();
  REQUIRE(sd.size() == 4);
  // PyTorch's order: a module's own parameters, its buffers, then its children.
  CHECK(sd[0].first == "encoder.scale");
  CHECK(sd[1].first == "encoder.fc1.weight");
  CHECK(sd[3].first == "encoder.fc2.weight");
  CHECK(!allclose(a.encoder->fc1->weight, b.encoder->fc1->weight));
  b.load_state_dict(sd);
  for (size_t i = 0; i < sd.size(); ++i) CHECK(equal(b.state_dict()[i].second, sd[i].second));
  CHECK(b.encoder->fc1->weight.requires_grad());
  // The dict aliases data but loading copies: b stays independent of a.
  {
    NoGradGuard g;
    a.encoder->fc1->weight.fill_(3.0);
  }
  CHECK(!allclose(a.encoder->fc1->weight, b.encoder->fc1->weight));
}

TEST_CASE("nn module: load_state_dict errors name the key and shapes") {
  Net net;
  nn::StateDict sd = net.state_dict();

  nn::StateDict missing(sd.begin(), sd.end() - 1);
  CHECK_THROWS_WITH_AS(net.load_state_dict(missing), doctest::Contains("missing key \"encoder.fc2.weight\""), Error);
  CHECK_NOTHROW(net.load_state_dict(missing, /*strict=*/false));

  nn::StateDict extra = sd;
  extra.emplace_back("encoder.fc9.weight", zeros({2}));
  CHECK_THROWS_WITH_AS(net.load_state_dict(extra), doctest::Contains("unexpected key \"encoder.fc9.weight\""), Error);
  CHECK_NOTHROW(net.load_state_dict(extra, false));

  nn::StateDict bad = sd;
  bad[2].second = zeros({5});
  try {
    net.load_state_dict(bad);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("encoder.fc1.bias") != std::string::npos);
    CHECK(msg.find("[5]") != std::string::npos);
    CHECK(msg.find("[8]") != std::string::npos);
  }
  CHECK_THROWS_AS(net.load_state_dict(bad, false), Error);  // shapes are checked even when not strict
}

TEST_CASE("nn module: clone is deep") {
  nn::TransformerEncoderLayer layer(4, 2, 8, 0.0);
  auto copy = std::dynamic_pointer_cast<nn::TransformerEncoderLayer>(layer.clone());
  REQUIRE(copy);
  auto pa = layer.named_parameters();
  auto pb = copy->named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    CHECK(pa[i].first == pb[i].first);
    CHECK(!pa[i].second.is_same(pb[i].second));
    CHECK(equal(pa[i].second, pb[i].second));
  }
  CHECK(copy->linear1->weight.is_same(copy->named_parameters()[4].second));
  {
    NoGradGuard g;
    copy->linear1->weight.fill_(0.5);
  }
  CHECK(!allclose(layer.linear1->weight, copy->linear1->weight));
  CHECK_THROWS_AS(Net().clone(), Error);
}
