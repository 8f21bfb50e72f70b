// CUDA: the index ops, embedding_bag, dropout's generator and the fused optimizer steps,
// every GPU result compared with the CPU's on the same inputs (random, transposed, duplicate
// indices, empty). Without a GPU each GPU case prints "skipped: no CUDA device ..." and
// returns: it has checked nothing. The checks that throw before touching the device run
// everywhere (fake_cuda, as in tests/test_cuda.cpp).
#include <algorithm>
#include <memory>
#include <string>

#include "autograd/autograd_meta.h"
#include "kernels/kernels.h"
#include "nn/embedding_bag_op.h"
#include "nn/functional.h"
#include "nn/sparse_grad.h"
#include "optim/optim.h"
#include "cuda_test_util.h"

using namespace ember;
using test::fake_cuda, test::host_values, test::kGpu, test::skip_without_gpu, test::str;

namespace {

/// Same sizes, dtype and values (within tol; exact for integers), the GPU's on the GPU.
void check_same(const Tensor& gpu, const Tensor& cpu, const std::string& what, double tol = -1) {
  if (tol < 0) tol = test::default_tol(cpu.dtype());
  test::check_gpu_cpu(gpu, cpu, tol, tol, what);
}

/// Random int64 values in [0, hi) of the given shape (repeats likely when hi is small).
Tensor random_index(const Shape& shape, int64_t hi) { return randint(0, hi, shape, TensorOptions(kInt64)); }

/// x and a GPU copy laid out the same way: contiguous, or a transposed view of a copy.
std::pair<Tensor, Tensor> both(const Tensor& x, bool transposed) {
  if (!transposed || x.dim() < 2) return {x, x.to(kGpu)};
  Tensor t = x.transpose(0, 1).contiguous();
  return {t.transpose(0, 1), t.to(kGpu).transpose(0, 1)};
}

}  // namespace

TEST_CASE("cuda index: errors that need no GPU") {
  Tensor x = fake_cuda({4, 3});
  CHECK(test::contains(test::error_of([&] { (void)index_select(x, 0, fake_cuda({2}, kFloat32)); }), "[index_select]"));
  CHECK(test::contains(test::error_of([&] { (void)index_select(x, 0, tensor({0, 1})); }), "[index_select]"));
  CHECK(test::contains(test::error_of([&] { (void)gather(x, 0, tensor({0, 1})); }), "[gather]"));
  CHECK(test::contains(test::error_of([&] { (void)nn::embedding_bag_op(x, tensor({0, 1}), tensor({0}),
                                                                         nn::EmbeddingBagMode::Sum); }),
                       "[embedding_bag]"));
  // Row-sparse gradients whose rows are not on the parameter's device are refused on the host:
  // the fused GPU steps would read host rows through a device pointer (an illegal address).
  Tensor table = fake_cuda({5, 2});
  CHECK(test::contains(test::error_of([&] { nn::accumulate_sparse_grad(table, tensor({1}), fake_cuda({1, 2})); }),
                       "[accumulate_sparse_grad]"));
  Tensor q = fake_cuda({5, 2});
  q.requires_grad_(true);
  autograd::meta_of(q).sparse_grad_indices = tensor({1});
  autograd::meta_of(q).sparse_grad_values = fake_cuda({1, 2});
  optim::SGD sgd({q}, optim::SGDOptions{0.1});
  CHECK(test::contains(test::error_of([&] { sgd.step(); }), "must be on the parameter's device"));
}

TEST_CASE("cuda index: index_select, gather, scatter_add, index_add, index_copy_ match the CPU") {
  if (skip_without_gpu("the index op comparisons")) return;
  for (ScalarType dt : {kFloat32, kFloat64, kInt64, kBool}) {
    for (bool tr : {false, true}) {
      Tensor base = dt == kBool ? test::uniform({6, 5}, 0, 1) > 0.5 : test::uniform({6, 5}, -3, 3, dt);
      auto [x, gx] = both(base, tr);
      std::string what = std::string(dtype_name(dt)) + (tr ? " transposed" : " contiguous");
      for (int64_t d : {0, 1}) {
        Tensor idx = random_index({7}, x.size(d));  // more entries than rows: repeats
        check_same(index_select(gx, d, idx.to(kGpu)), index_select(x, d, idx), "index_select " + what);
        Tensor empty_idx = zeros({0}, kInt64);
        check_same(index_select(gx, d, empty_idx.to(kGpu)), index_select(x, d, empty_idx), "index_select empty");
        Shape gs = x.sizes();
        gs[static_cast<size_t>(d)] = 4;
        Tensor gidx = random_index(gs, x.size(d));
        check_same(gather(gx, d, gidx.to(kGpu)), gather(x, d, gidx), "gather " + what);
        Tensor src = dt == kBool ? test::uniform(gs, 0, 1) > 0.5 : test::uniform(gs, -2, 2, dt);
        check_same(scatter_add(gx, d, gidx.to(kGpu), src.to(kGpu)), scatter_add(x, d, gidx, src),
                   "scatter_add " + what);
        Shape ss = x.sizes();
        ss[static_cast<size_t>(d)] = 7;
        Tensor source = dt == kBool ? test::uniform(ss, 0, 1) > 0.5 : test::uniform(ss, -2, 2, dt);
        check_same(index_add(gx, d, idx.to(kGpu), source.to(kGpu)), index_add(x, d, idx, source), "index_add " + what);
        // index_copy_ with distinct indices (with repeats the GPU keeps any one of them).
        Tensor perm = randperm(x.size(d)).narrow(0, 0, 3);
        Tensor rows = source.narrow(d, 0, 3);
        Tensor cx = x.clone(), cg = gx.clone();
        index_copy_(cx, d, perm, rows);
        index_copy_(cg, d, perm.to(kGpu), rows.to(kGpu));
        check_same(cg, cx, "index_copy_ " + what);
        index_add_(cx, d, idx, source);
        index_add_(cg, d, idx.to(kGpu), source.to(kGpu));
        check_same(cg, cx, "index_add_ " + what);
      }
    }
  }
  {  // many blocks, grid-stride loops and heavily repeated indices (the scatters' atomics)
    Tensor x = test::uniform({3000, 40}, -1, 1), idx = random_index({20000}, 3000);
    Tensor gx = x.to(kGpu), gi = idx.to(kGpu);
    check_same(index_select(gx, 0, gi), index_select(x, 0, idx), "index_select large");
    Tensor source = test::uniform({20000, 40}, -1, 1);
    check_same(index_add(gx, 0, gi, source.to(kGpu)), index_add(x, 0, idx, source), "index_add large");
    Tensor gidx = random_index({3000, 40}, 3000), src = test::uniform({3000, 40}, -1, 1);
    check_same(gather(gx, 0, gidx.to(kGpu)), gather(x, 0, gidx), "gather large");
    check_same(scatter_add(gx, 0, gidx.to(kGpu), src.to(kGpu)), scatter_add(x, 0, gidx, src), "scatter_add large");
  }
  Tensor s = scalar_tensor(2.5), zero = tensor({0});
  check_same(index_select(s.to(kGpu), 0, zero.to(kGpu)), index_select(s, 0, zero), "index_select of a 0-d tensor");
  Tensor labels = tensor({3, 0, 2, 3}).view({2, 2});
  check_same(one_hot(labels.to(kGpu)), one_hot(labels), "one_hot");
  check_same(one_hot(labels.to(kGpu), 6), one_hot(labels, 6), "one_hot with num_classes");
}

TEST_CASE("cuda index: gradients match the CPU") {
  if (skip_without_gpu("the index gradients")) return;
  Tensor x = test::uniform({6, 5}, -1, 1), src = test::uniform({4, 5}, -1, 1);
  Tensor idx = random_index({7}, 6), gidx = random_index({4, 5}, 6);
  Tensor u1 = test::uniform({7, 5}, -1, 1), u2 = test::uniform({4, 5}, -1, 1);
  auto run = [&](Device dev) {
    Tensor a = x.to(dev).requires_grad_(true), b = src.to(dev).requires_grad_(true);
    Tensor i = idx.to(dev), gi = gidx.to(dev), w1 = u1.to(dev), w2 = u2.to(dev);
    Tensor y1 = index_select(a, 0, i), y2 = gather(a, 0, gi), y3 = scatter_add(a, 0, gi, b);
    Tensor y4 = index_add(a, 0, i, index_select(b, 0, tensor({0, 1, 2, 3, 0, 1, 2}).to(dev)));
    y1.backward(w1);
    y2.backward(w2);
    y3.backward(ones({6, 5}, TensorOptions(kFloat64).device(dev)));
    y4.backward(full({6, 5}, 0.5, TensorOptions(kFloat64).device(dev)));
    return std::make_pair(a.grad(), b.grad());
  };
  auto [ac, bc] = run(Device(kCPU));
  auto [ag, bg] = run(kGpu);
  check_same(ag, ac, "d/dx of index_select + gather + scatter_add + index_add");
  check_same(bg, bc, "d/dsrc of scatter_add + index_add");
}

TEST_CASE("cuda index: bad indices are clear errors") {
  if (skip_without_gpu("the index range checks")) return;
  Tensor x = ones({4, 3}, TensorOptions(kFloat32).device(kGpu));
  CHECK(test::contains(test::error_of([&] { (void)index_select(x, 0, tensor({0, 4}).to(kGpu)); }),
                       "index out of range"));
  CHECK(test::contains(test::error_of([&] { (void)index_select(x, 1, tensor({-1}).to(kGpu)); }),
                       "index out of range"));
  CHECK(test::contains(test::error_of([&] { (void)gather(x, 0, tensor({0, 9, 1}).view({1, 3}).to(kGpu)); }),
                       "index 9 is out of bounds"));
  CHECK(test::contains(test::error_of([&] { (void)scatter_add(x, 1, tensor({5}).view({1, 1}).to(kGpu), x); }),
                       "out of bounds"));
  CHECK(test::contains(test::error_of([&] { (void)one_hot(tensor({-2}).to(kGpu)); }), "[one_hot]"));
  CHECK(test::contains(test::error_of([&] { (void)nn::embedding_bag_op(x, tensor({0, 7}).to(kGpu),
                                                                         tensor({0}).to(kGpu),
                                                                         nn::EmbeddingBagMode::Sum); }),
                       "index 7 out of range"));
  // Bad values deep inside a large index: the min/max pass folds many warps and blocks, also
  // through a strided view (odd positions only).
  Tensor big = zeros({int64_t{1} << 20}, kInt64);
  big.narrow(0, 700001, 1).fill_(4);
  big.narrow(0, 123457, 1).fill_(-3);
  big.narrow(0, 500000, 1).fill_(9);  // an even position: outside the strided view
  const Tensor big_g = big.to(kGpu);
  CHECK(kernels::index_min_max(big_g) == std::pair<int64_t, int64_t>{-3, 9});
  CHECK(kernels::index_min_max(big_g.slice(0, 1, std::nullopt, 2)) == std::pair<int64_t, int64_t>{-3, 4});
  CHECK(test::contains(test::error_of([&] { (void)index_select(x, 0, big_g); }), "index out of range"));
  cuda::synchronize();  // nothing faulted on the device
  CHECK(index_select(x, 0, tensor({3}).to(kGpu)).cpu().sum().item<float>() == 3.0f);
}

TEST_CASE("cuda index: embedding_bag forward and backward match the CPU") {
  if (skip_without_gpu("the embedding_bag comparisons")) return;
  const int64_t V = 13, D = 37, N = 40;
  for (auto mode : {nn::EmbeddingBagMode::Sum, nn::EmbeddingBagMode::Mean, nn::EmbeddingBagMode::Max}) {
    for (bool psw_on : {false, true}) {
      if (psw_on && mode != nn::EmbeddingBagMode::Sum) continue;
      for (int64_t pad : {int64_t{-1}, int64_t{2}}) {
        // trailing: entries after the last offset (include_last_offset only), in no bag.
        for (auto [last, trailing] : {std::pair{false, 0}, std::pair{true, 0}, std::pair{true, 5}}) {
          for (bool sparse : {false, true}) {
            std::string what = "mode " + std::to_string(static_cast<int>(mode)) + (psw_on ? " psw" : "") +
                               " pad " + std::to_string(pad) + (last ? " include_last" : "") +
                               (trailing ? " trailing" : "") + (sparse ? " sparse" : " dense");
            Tensor weight = test::uniform({V, D}, -1, 1);
            // Repeats across and within bags; row V - 1 only in the last entry, so that with
            // trailing entries it is used by no bag and must not appear in a sparse gradient.
            Tensor idx = cat({random_index({N - 1}, V - 1), tensor({V - 1})}, 0);
            // Bags of sizes 0, 5, 1, 0, 20, then the rest (an empty bag in the middle and one at the start).
            std::vector<int64_t> off = {0, 0, 5, 6, 6, 26};
            if (last) off.push_back(N - trailing);
            Tensor offsets = tensor(off);
            Tensor psw = psw_on ? test::uniform({N}, -1, 1) : Tensor();
            auto run = [&](Device dev) {
              Tensor w = weight.to(dev).requires_grad_(true);
              Tensor p = psw_on ? psw.to(dev).requires_grad_(true) : Tensor();
              Tensor out = nn::embedding_bag_op(w, idx.to(dev), offsets.to(dev), mode, p, pad, sparse, last);
              Tensor go = test::uniform(out.sizes(), -1, 1);
              out.backward(go.to(dev));
              Tensor gw = sparse ? nn::sparse_grad_to_dense(w) : w.grad();
              return std::make_tuple(out, gw, psw_on ? p.grad() : Tensor(), nn::sparse_grad(w));
            };
            manual_seed(5);
            auto [oc, wc, pc, sc] = run(Device(kCPU));
            manual_seed(5);
            auto [og, wg, pg, sg] = run(kGpu);
            check_same(og, oc, "forward " + what);
            check_same(wg, wc, "weight grad " + what);
            if (psw_on) check_same(pg, pc, "per_sample_weights grad " + what);
            if (sparse) {  // the same rows, not just the same dense picture: no extra zero rows
              check_same(sg.first, sc.first, "sparse grad rows " + what, 0);
              check_same(sg.second, sc.second, "sparse grad values " + what);
              if (trailing) {
                const std::vector<double> rows = test::values(sc.first);
                CHECK(std::find(rows.begin(), rows.end(), double(V - 1)) == rows.end());
              }
            }
          }
        }
      }
    }
  }
  // A second backward adds into the row-sparse gradient (the merge on the device).
  Tensor w = test::uniform({V, D}, -1, 1).to(kGpu).requires_grad_(true);
  Tensor wc = w.detach().cpu().requires_grad_(true);
  Tensor ids = tensor({4, 1, 4, 9}), offs = tensor({0, 2});
  for (int k = 0; k < 2; ++k) {
    nn::embedding_bag_op(w, (ids + k).to(kGpu), offs.to(kGpu), nn::EmbeddingBagMode::Sum, {}, -1, true)
        .backward(ones({2, D}, TensorOptions(kFloat64).device(kGpu)));
    nn::embedding_bag_op(wc, ids + k, offs, nn::EmbeddingBagMode::Sum, {}, -1, true).backward(ones({2, D}, kFloat64));
  }
  check_same(nn::sparse_grad(w).first, nn::sparse_grad(wc).first, "merged sparse rows");
  check_same(nn::sparse_grad(w).second, nn::sparse_grad(wc).second, "merged sparse values");
}

TEST_CASE("cuda index: the row-sparse gradient's grouping on the GPU (CUB sort) at the edges and at scale") {
  if (skip_without_gpu("the GPU grouping of sparse rows")) return;
  // The GPU groups entries by row with a stable radix sort and a run-length encoding; the CPU
  // with its own radix sort. The same rows must come out (exactly), summed in the same order.
  struct Case {
    const char* what;
    int64_t V, N;
    std::vector<int64_t> offsets;
    int64_t pad;
    bool last;
  };
  const std::vector<Case> cases = {
      {"no entries", 7, 0, {0}, -1, false},
      {"every entry padding", 7, 5, {0, 2}, 3, false},
      {"one row", 1, 9, {0, 4}, -1, false},
      {"2^18 rows, 50000 entries (the spam table's size)", 1 << 18, 50000, {0, 100, 30000}, -1, false},
      {"2^18 rows, trailing entries in no bag", 1 << 18, 50000, {0, 100, 30000, 40000}, 17, true},
  };
  for (const Case& c : cases) {
    for (ScalarType dt : {kFloat32, kFloat64}) {
      const std::string what = std::string(c.what) + " " + dtype_name(dt);
      Tensor weight = test::uniform({c.V, 3}, -1, 1, dt);
      // Few distinct rows among many entries: long runs, and rows spread over every key bit.
      Tensor idx = c.pad == 3 ? full({c.N}, 3.0, TensorOptions(kInt64))
                              : random_index({c.N}, std::min<int64_t>(c.V, 5000)) * std::max<int64_t>(c.V / 5000, 1);
      Tensor offsets = tensor(c.offsets);
      auto run = [&](Device dev) {
        Tensor w = weight.clone().to(dev).requires_grad_(true);  // a fresh leaf per run
        Tensor out = nn::embedding_bag_op(w, idx.to(dev), offsets.to(dev), nn::EmbeddingBagMode::Sum, {}, c.pad,
                                          /*sparse=*/true, c.last);
        manual_seed(11);
        out.backward(test::uniform(out.sizes(), -1, 1, dt).to(dev));
        CHECK(autograd::sparse_rows_checked(autograd::meta_of(w)));  // vouched for: no host check later
        return nn::sparse_grad(w);
      };
      auto [rows_c, values_c] = run(Device(kCPU));
      auto [rows_g, values_g] = run(kGpu);
      check_same(rows_g, rows_c, "rows " + what, 0);
      check_same(values_g, values_c, "values " + what);
    }
  }
}

TEST_CASE("cuda index: embedding_bag with 2-D input (fixed-length bags) on the GPU") {
  if (skip_without_gpu("the 2-D embedding_bag comparisons")) return;
  // The offsets of a 2-D input are made by the functional form: they must be on the input's
  // device (they were host tensors, which embedding_bag_op refuses beside a GPU weight).
  const Tensor weight = test::uniform({11, 6}, -1, 1);
  for (int64_t L : {int64_t{4}, int64_t{0}}) {
    for (const char* mode : {"sum", "mean", "max"}) {
      std::string what = std::string(mode) + " L " + std::to_string(L);
      Tensor ids = random_index({3, L}, 11);
      Tensor wc = weight.clone().requires_grad_(true), wg = weight.to(kGpu).requires_grad_(true);
      Tensor oc = nn::functional::embedding_bag(ids, wc, {}, mode);
      Tensor og = nn::functional::embedding_bag(ids.to(kGpu), wg, {}, mode);
      check_same(og, oc, "forward " + what);
      Tensor go = test::uniform(oc.sizes(), -1, 1);
      oc.backward(go);
      og.backward(go.to(kGpu));
      check_same(wg.grad(), wc.grad(), "weight grad " + what);
    }
  }
}

TEST_CASE("cuda index: dropout masks and uniform numbers equal the CPU's for a seed") {
  if (skip_without_gpu("the generator checks")) return;
  for (ScalarType dt : {kFloat32, kFloat64}) {
    manual_seed(123);
    Tensor c = rand({1000, 3}, dt);
    manual_seed(123);
    Tensor g = rand({1000, 3}, TensorOptions(dt).device(kGpu));
    check_same(g, c, "rand", 0);
    // dropout draws its mask inside its fused kernel on each device (kernels/*/dropout.*) from
    // the same formula as rand; tests/test_cuda_dropout.cpp compares it with rand's masks too.
    Tensor x = test::uniform({64, 33}, -1, 1, dt);
    manual_seed(9);
    Tensor yc = nn::functional::dropout(x, 0.3, true);
    manual_seed(9);
    Tensor yg = nn::functional::dropout(x.to(kGpu), 0.3, true);
    check_same(yg, yc, "dropout", 0);
  }
  manual_seed(4);
  Tensor nc = randn({500});
  manual_seed(4);
  check_same(randn({500}, TensorOptions(kFloat32).device(kGpu)), nc, "randn (to rounding)");
}

TEST_CASE("cuda index: fused optimizer steps match the CPU's") {
  if (skip_without_gpu("the optimizer comparisons")) return;
  using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<std::string, MakeOpt>> opts = {
      {"sgd", [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.1}); }},
      {"sgd momentum nesterov wd",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.05, 0.9, 0, 1e-2, true});
       }},
      {"sgd momentum dampening",
       [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.05, 0.9, 0.1}); }},
      {"adam", [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions{1e-2}); }},
      {"adam amsgrad wd",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions{1e-2, {0.9, 0.99}, 1e-8, 1e-2, true});
       }},
      {"adamw", [](std::vector<Tensor> p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{1e-2}); }},
      // The fused kernels' remaining branches: maximize, weight decay with dampening, AdamW's
      // decoupled decay with amsgrad, and beta1 < 0.5 (the CPU's lerp takes its other formula).
      {"sgd maximize wd dampening momentum",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.05, 0.8, 0.3, 1e-2, false, true});
       }},
      {"sgd maximize nesterov",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.05, 0.9, 0, 0, true, true});
       }},
      {"adam maximize amsgrad beta1 0.3",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions{1e-2, {0.3, 0.9}, 1e-6, 0, true, true});
       }},
      {"adamw amsgrad wd maximize",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{1e-2, {0.9, 0.99}, 1e-8, 0.1, true, true});
       }},
  };
  for (const auto& [name, make] : opts) {
    for (bool sparse : {false, true}) {
      for (ScalarType dt : {kFloat32, kFloat64}) {
        std::string what = name + (sparse ? " sparse " : " dense ") + dtype_name(dt);
        Tensor init = test::uniform({9, 4}, -1, 1, dt);
        Tensor pc = init.clone().requires_grad_(true), pg = init.to(kGpu).requires_grad_(true);
        auto oc = make({pc}), og = make({pg});
        for (int step = 0; step < 4; ++step) {
          oc->zero_grad();
          og->zero_grad();
          Tensor g = test::uniform({9, 4}, -1, 1, dt);
          if (sparse) {
            Tensor rows = step % 2 ? tensor({1, 4, 8}) : tensor({0, 4});
            Tensor vals = g.narrow(0, 0, rows.numel()).contiguous();
            nn::accumulate_sparse_grad(pc, rows, vals);
            nn::accumulate_sparse_grad(pg, rows.to(kGpu), vals.to(kGpu));
          } else {
            pc.set_grad(g);
            pg.set_grad(g.to(kGpu));
          }
          oc->step();
          og->step();
        }
        check_same(pg.detach(), pc.detach(), what, dt == kFloat32 ? 1e-5 : 1e-12);
      }
    }
  }
}

TEST_CASE("cuda index: a sparse SGD step with a momentum buffer on another device or dtype takes the op chain") {
  if (skip_without_gpu("the sparse SGD buffer checks")) return;
  // The fused sparse step reads the buffer through a raw pointer as the parameter's dtype on
  // the GPU, so a buffer left elsewhere (as Module::to after a step leaves it) must send the
  // step to the op chain: a host buffer is refused there (an error, not an illegal address);
  // a float64 one is used as it is, as PyTorch would (the float32 rows take the float64 update).
  for (bool host : {true, false}) {
    INFO(std::string(host ? "buffer on the host" : "buffer in float64"));
    Tensor p = test::uniform({6, 3}, -1, 1, kFloat32).to(kGpu).requires_grad_(true);
    optim::SGD sgd({p}, optim::SGDOptions{0.1, 0.9});
    nn::accumulate_sparse_grad(p, tensor({1, 4}).to(kGpu), test::uniform({2, 3}, -1, 1, kFloat32).to(kGpu));
    sgd.step();  // fused: the buffer is made on the GPU
    Tensor& buf = sgd.state(p).momentum_buffer;
    REQUIRE(buf.defined());
    REQUIRE(buf.device() == kGpu);
    buf = host ? buf.cpu() : buf.to(kFloat64);
    const Tensor p_before = p.detach().cpu().clone(), buf_before = buf.cpu().clone();
    sgd.zero_grad();
    const Tensor rows = tensor({0, 4}), g = test::uniform({2, 3}, -1, 1, kFloat32);
    nn::accumulate_sparse_grad(p, rows.to(kGpu), g.to(kGpu));
    const std::string e = test::error_of([&] { sgd.step(); });
    cuda::synchronize();  // no kernel read the buffer: the device is sound
    CHECK(host_values(p.detach()).size() == 18);
    if (host) {
      CHECK(!e.empty());
      continue;
    }
    CHECK_MESSAGE(e.empty(), e);
    CHECK(buf.dtype() == kFloat64);
    Tensor want = p_before.to(kFloat64);
    Tensor step = index_select(buf_before, 0, rows) * 0.9 + g.to(kFloat64);
    index_copy_(want, 0, rows, index_select(want, 0, rows) - step * 0.1);
    want = want.to(kFloat32);
    test::check_close(host_values(p.detach()), test::values(want), 1e-6, 1e-6, "rows updated in float64");
  }
}
