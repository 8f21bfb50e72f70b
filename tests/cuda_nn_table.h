#pragma once
// The op table behind tests/test_cuda_nn*.cpp: each row names an op, its tolerance per dtype,
// the shapes and value range of its floating inputs (one list per case) and a function of
// those inputs. run_row feeds the same random values to the function on the CPU and on the
// GPU, in every layout (contiguous, transposed, step-sliced) and both float dtypes, and
// compares: the same error or none; every output (sizes, dtype, values); then the gradient of
// sum_i <y_i, w_i> (w_i random upstream gradients) at every input and at every parameter of
// the row's module (rows with a module build it once per device from the same seed).
//
// Without a GPU the cases skip (test::skip_without_gpu). Building with -DEMBER_NN_TABLE_ON_CPU
// makes the CPU stand in for the GPU, so the table's own logic (shapes, ranges, functions,
// backward) can be exercised on a machine without one; the comparison is then trivially equal.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "layouts.h"
#include "nn/sparse_grad.h"

namespace ember::test::nn_table {

using Layout = View;  // layouts.h

#ifdef EMBER_NN_TABLE_ON_CPU
inline const Device kDev(kCPU);
inline bool skip(const char*) { return false; }
#else
inline const Device kDev(kCUDA);
inline bool skip(const char* what) { return skip_without_gpu(what); }
#endif

/// Tolerance (atol = rtol) of a floating result: float64 rows differ only by summation order,
/// float32 rows by the GPU summing in float32 where the CPU sums in double.
struct Tol {
  double f64 = 1e-10, f32 = 1e-4;
  double of(ScalarType t) const { return t == kFloat64 ? f64 : t == kFloat32 ? f32 : 0; }
};

/// What a row's function sees besides its inputs: where it runs, the float dtype of the case,
/// and the row's module (built for this device and dtype), if any.
struct Ctx {
  Device device;
  ScalarType dtype;
  nn::Module* module = nullptr;
  TensorOptions opts() const { return TensorOptions(dtype).device(device); }
  /// t (built on the CPU: targets, indices, masks) moved to this case's device.
  Tensor on(const Tensor& t) const { return t.to(device); }
  template <class M>
  M& as() const {
    return *dynamic_cast<M*>(module);
  }
};

using Outs = std::vector<Tensor>;
using Fn = std::function<Outs(const std::vector<Tensor>&, const Ctx&)>;

struct Row {
  std::string name;
  Tol tol;
  std::vector<std::vector<Shape>> cases;  // the floating inputs' shapes, one list per case
  double lo = -1, hi = 1;                 // their values, uniform in [lo, hi)
  Fn fn;
  std::function<std::shared_ptr<nn::Module>()> module = nullptr;  // built with manual_seed(7)
  bool strided = true;     // false: contiguous inputs only (as_strided's gradient needs them)
  bool may_throw = false;  // true: an error (the same on both devices) is a pass, not a failure
};

// The checks below fail with CHECK and return, never REQUIRE: one GPU run should list every
// failing row, not stop the table at the first one.

/// A GPU result against the CPU's: defined alike, same sizes and dtype, on the device, close.
inline void check_result(const Tensor& g, const Tensor& c, double tol, const std::string& what) {
  INFO(what);
  CHECK_MESSAGE(g.defined() == c.defined(), what << ": defined " << g.defined() << " vs " << c.defined());
  if (!c.defined() || !g.defined()) return;
  CHECK(g.device() == kDev);
  CHECK_MESSAGE(g.sizes() == c.sizes(), what << ": sizes " << str(g.sizes()) << " vs " << str(c.sizes()));
  CHECK(g.dtype() == c.dtype());
  if (g.sizes() == c.sizes()) check_close(values(g.cpu()), values(c), tol, tol, what);
}

/// The module's parameter gradients (dense; a row-sparse gradient made dense), by name.
inline std::vector<std::pair<std::string, Tensor>> param_grads(nn::Module* m) {
  std::vector<std::pair<std::string, Tensor>> out;
  if (m == nullptr) return out;
  for (const auto& [name, p] : m->named_parameters()) {
    Tensor g = p.grad();
    if (!g.defined() && nn::sparse_grad(p).first.defined()) g = nn::sparse_grad_to_dense(p);
    out.emplace_back(name, g);
  }
  return out;
}

/// One case of a row: the same inputs on both devices in layout l and dtype dt.
inline void run_case(const Row& row, const std::vector<Shape>& shapes, Layout l, ScalarType dt) {
  std::string label = row.name + " on " + name_of(l) + " " + dtype_name(dt) + " inputs";
  for (const Shape& s : shapes) {
    label += ' ';
    label += str(s);
  }
  INFO(label);
  const double tol = row.tol.of(dt);
  std::vector<Tensor> leaves_c, leaves_g, in_c, in_g;
  for (const Shape& s : shapes) {
    const Tensor v = uniform(base_shape(l, s), row.lo, row.hi, dt);
    leaves_c.push_back(v.clone().requires_grad_(true));
    leaves_g.push_back(v.to(kDev).requires_grad_(true));
    in_c.push_back(view_of(l, leaves_c.back(), s));
    in_g.push_back(view_of(l, leaves_g.back(), s));
  }
  std::shared_ptr<nn::Module> mc, mg;
  if (row.module) {
    manual_seed(7);
    mc = row.module();
    mc->to(dt);
    manual_seed(7);
    mg = row.module();
    mg->to(dt);
    mg->to(kDev);
  }
  const Ctx cc{Device(kCPU), dt, mc.get()}, cg{kDev, dt, mg.get()};
  Outs yc, yg;
  manual_seed(11);  // rows that draw numbers (dropout) draw the same ones on both devices
  const std::string ec = error_of([&] { yc = row.fn(in_c, cc); });
  manual_seed(11);
  const std::string eg = error_of([&] { yg = row.fn(in_g, cg); });
  CHECK_MESSAGE(eg == ec, label << ": GPU error \"" << eg << "\" vs CPU \"" << ec << "\"");
  if (!ec.empty() || !eg.empty()) {
    CHECK_MESSAGE(row.may_throw, label << ": unexpected error " << (ec.empty() ? eg : ec));
    return;
  }
  CHECK(yg.size() == yc.size());
  if (yg.size() != yc.size()) return;
  for (size_t i = 0; i < yc.size(); ++i) check_result(yg[i], yc[i], tol, label + ": output " + std::to_string(i));
  // backward of sum_i <y_i, w_i> over the differentiable outputs
  Tensor lc, lg;
  for (size_t i = 0; i < yc.size(); ++i) {
    if (!yc[i].defined() || !yc[i].requires_grad()) continue;
    CHECK(yg[i].requires_grad());
    if (!yg[i].requires_grad()) return;
    const Tensor w = uniform(yc[i].sizes(), -1, 1, yc[i].dtype());
    const Tensor tc = (yc[i] * w).sum(), tg = (yg[i] * w.to(kDev)).sum();
    lc = lc.defined() ? lc + tc : tc;
    lg = lg.defined() ? lg + tg.to(lc.dtype()) : tg;
  }
  if (!lc.defined()) return;
  lc.backward();
  const std::string eb = error_of([&] { lg.backward(); });
  CHECK_MESSAGE(eb.empty(), label << ": GPU backward threw " << eb);
  if (!eb.empty()) return;
  for (size_t i = 0; i < leaves_c.size(); ++i)
    check_result(leaves_g[i].grad(), leaves_c[i].grad(), tol, label + ": gradient of input " + std::to_string(i));
  const auto pc = param_grads(mc.get()), pg = param_grads(mg.get());
  CHECK(pc.size() == pg.size());
  for (size_t i = 0; i < std::min(pc.size(), pg.size()); ++i) check_result(pg[i].second, pc[i].second, tol, label + ": grad " + pc[i].first);
}

/// Every case of a row in every layout that changes some input, in float64 and float32.
inline void run_row(const Row& row) {
  for (ScalarType dt : {kFloat64, kFloat32}) {
    for (const auto& shapes : row.cases) {
      for (Layout l : {Layout::Contiguous, Layout::Transposed, Layout::StepSliced}) {
        bool changes = l == Layout::Contiguous;
        for (const Shape& s : shapes) changes = changes || applies(l, s);
        if (!changes || (!row.strided && l != Layout::Contiguous)) continue;
        run_case(row, shapes, l, dt);
      }
    }
  }
}

inline void run_table(const std::vector<Row>& rows) {
  for (const Row& row : rows) run_row(row);
}

/// Small int64 values in [0, hi), the same on every run (targets, indices).
inline Tensor ints(const Shape& shape, int64_t hi, uint64_t seed = 1) {
  std::vector<int64_t> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t x = seed * 2654435761u + 12345;
  for (int64_t& e : v) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    e = static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(hi));
  }
  return tensor(v).reshape(shape);
}

}  // namespace ember::test::nn_table
