#include "model.h"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "dataset.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include "tensor/cuda.h"
#include "tensor/ops.h"

namespace ember::spam {
namespace {

constexpr const char* kFormat = "ember-spam/2";  // 2: linear bag rows, tf-idf weights, idf buffer

Tensor int64_tensor(const std::vector<int64_t>& v) {
  return from_blob_copy(v.data(), {static_cast<int64_t>(v.size())}, kInt64);
}

Tensor targets_of(const size_t* rows, size_t n, const std::vector<int>* labels) {
  if (!labels) return {};
  std::vector<int64_t> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (*labels)[rows[i]];
  return int64_tensor(y);
}

// Small initial embeddings: with N(0, 1) rows the mean of a bag starts as loud noise that the
// first epochs must unlearn; 0.1 trains faster and scored better on validation slices.
void shrink_(const Tensor& w, double factor) {
  NoGradGuard guard;
  Tensor t = w;
  t.mul_(factor);
}

std::shared_ptr<nn::EmbeddingBag> make_table(int64_t buckets, int64_t dim, const std::string& mode = "mean") {
  auto e = std::make_shared<nn::EmbeddingBag>(buckets, dim, mode, /*sparse=*/true, std::nullopt,
                                              /*include_last_offset=*/true);
  shrink_(e->weight, 0.1);
  return e;
}

// fastText: a message is the bag of its features' embedding rows (a mean of counted features,
// or a sum weighted by normalized tf-idf). Without a hidden layer the rows are 2 wide and are
// the logits themselves, plus a bias: a linear classifier over the hashed features, the
// variant that generalizes best here (docs/spam.md). With hidden > 0 the bag is dim wide and
// goes through a one-hidden-layer MLP.
class BagNet : public SpamNet {
 public:
  BagNet(const ModelConfig& c, const FeatureConfig& f, const std::vector<float>& idf_values) {
    const bool tfidf = f.weighting == "tfidf";
    const std::string mode = tfidf ? "sum" : "mean";
    if (c.hidden > 0) {
      embedding = register_module("embedding", make_table(f.buckets, c.dim, mode));
      hidden = register_module("hidden", std::make_shared<nn::Linear>(c.dim, c.hidden));
      head = register_module("head", std::make_shared<nn::Linear>(c.hidden, 2));
    } else {
      // Zero rows: every logit starts at the bias, and a feature's row moves only by its
      // own gradient (no random projection to unlearn).
      embedding = register_module("embedding", nn::EmbeddingBag::from_pretrained(zeros({f.buckets, 2}), /*freeze=*/false,
                                                                                mode, /*sparse=*/true, std::nullopt,
                                                                                /*include_last_offset=*/true));
      bias = register_parameter("bias", zeros({2}));
    }
    if (tfidf) {
      Tensor t = zeros({f.buckets});
      if (!idf_values.empty()) {
        if (static_cast<int64_t>(idf_values.size()) != f.buckets) throw SpamError("idf table does not match the buckets");
        t = from_blob_copy(idf_values.data(), {f.buckets}, kFloat32);
      }
      idf_ = register_buffer("idf", t);
    }
  }
  Tensor logits(const Batch& b) override {
    Tensor h = embedding->forward(b.ids, b.offsets, b.weights);
    if (!hidden) return h + bias;
    return head->forward(hidden->forward(h).relu());
  }
  std::vector<Tensor> sparse_parameters() const override { return {embedding->weight}; }
  Tensor idf() const override { return idf_; }
  std::pair<Tensor, Tensor> output_layer() const override {
    return hidden ? std::pair{head->weight, head->bias} : std::pair{embedding->weight, bias};
  }

  std::shared_ptr<nn::EmbeddingBag> embedding;
  std::shared_ptr<nn::Linear> hidden, head;
  Tensor bias, idf_;
};

// Kim-style text CNN over word vectors (each word a mean bag of its subword features).
class CnnNet : public SpamNet {
 public:
  CnnNet(const ModelConfig& c, int64_t buckets) : dim_(c.dim) {
    embedding = register_module("embedding", make_table(buckets, c.dim));
    convs = register_module("convs", std::make_shared<nn::ModuleList>());
    for (int64_t w : c.widths) convs->push_back(std::make_shared<nn::Conv1d>(c.dim, c.channels, w));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
    head = register_module("head", std::make_shared<nn::Linear>(c.channels * static_cast<int64_t>(c.widths.size()), 2));
  }
  Tensor logits(const Batch& b) override {
    Tensor x = embedding->forward(b.ids, b.offsets).view({b.rows, b.length, dim_}).transpose(1, 2);
    std::vector<Tensor> pooled;
    for (size_t i = 0; i < convs->size(); ++i)
      pooled.push_back(std::get<0>(convs->at<nn::Conv1d>(i)->forward(x).relu().max(2)));
    return head->forward(dropout->forward(cat(pooled, 1)));
  }
  std::vector<Tensor> sparse_parameters() const override { return {embedding->weight}; }
  std::pair<Tensor, Tensor> output_layer() const override { return {head->weight, head->bias}; }

  int64_t dim_;
  std::shared_ptr<nn::EmbeddingBag> embedding;
  std::shared_ptr<nn::ModuleList> convs;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> head;
};

// A small encoder over word vectors with learned positions; padded positions are masked out
// of attention and of the mean pool.
class TransformerNet : public SpamNet {
 public:
  TransformerNet(const ModelConfig& c, const FeatureConfig& f) : dim_(c.dim) {
    embedding = register_module("embedding", make_table(f.buckets, c.dim));
    position = register_module("position", std::make_shared<nn::Embedding>(f.max_tokens, c.dim));
    shrink_(position->weight, 0.1);
    nn::TransformerEncoderLayer layer(c.dim, c.heads, c.ff, c.dropout, "relu", 1e-5, /*batch_first=*/true,
                                      /*norm_first=*/true);
    encoder = register_module("encoder", std::make_shared<nn::TransformerEncoder>(layer, c.layers));
    head = register_module("head", std::make_shared<nn::Linear>(c.dim, 2));
  }
  Tensor logits(const Batch& b) override {
    Tensor x = embedding->forward(b.ids, b.offsets).view({b.rows, b.length, dim_});
    x = x + position->forward(arange(b.length, TensorOptions(kInt64).device(b.ids.device())));
    x = encoder->forward(x, {}, b.padding);
    Tensor keep = b.padding.logical_not().to(kFloat32).unsqueeze(2);  // [B, L, 1]
    Tensor pooled = (x * keep).sum({1}) / keep.sum({1});
    return head->forward(pooled);
  }
  std::vector<Tensor> sparse_parameters() const override { return {embedding->weight}; }
  std::pair<Tensor, Tensor> output_layer() const override { return {head->weight, head->bias}; }

  int64_t dim_;
  std::shared_ptr<nn::EmbeddingBag> embedding;
  std::shared_ptr<nn::Embedding> position;
  std::shared_ptr<nn::TransformerEncoder> encoder;
  std::shared_ptr<nn::Linear> head;
};

}  // namespace

Arch arch_from_name(const std::string& s) {
  if (s == "bag") return Arch::Bag;
  if (s == "cnn") return Arch::Cnn;
  if (s == "transformer") return Arch::Transformer;
  throw SpamError("unknown architecture '" + s + "' (expected bag, cnn or transformer)");
}

std::string arch_name(Arch a) {
  switch (a) {
    case Arch::Bag: return "bag";
    case Arch::Cnn: return "cnn";
    case Arch::Transformer: return "transformer";
  }
  return "bag";
}

Device device_from_name(const std::string& name) {
  Device d;
  try {
    d = Device(name);
  } catch (const ember::Error&) {
    throw SpamError("--device " + name + ": unknown device (expected cpu, cuda or cuda:0)");
  }
  check_device(d, name);
  return d;
}

void check_device(Device device, const std::string& name) {
  if (device.is_cpu()) return;
  const std::string what = "--device " + (name.empty() ? device.str() : name) + ": ";
#ifdef EMBER_WITH_CUDA
  if (device.index != 0) throw SpamError(what + "ember runs on cuda:0 only");
  if (!ember::cuda::is_available())
    throw SpamError(what + "no GPU to run on: ember was built with CUDA, but no CUDA device is visible (see nvidia-smi)");
#else
  throw SpamError(what + "no GPU to run on: this ember-spam was built without CUDA (configure with -DEMBER_CUDA=ON)");
#endif
}

std::string ModelConfig::to_json() const {
  nlohmann::json j{{"arch", arch_name(arch)}, {"dim", dim},       {"hidden", hidden}, {"channels", channels},
                   {"widths", widths},        {"layers", layers}, {"heads", heads},   {"ff", ff},
                   {"dropout", dropout},          {"merged", merged}};
  return j.dump();
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  ModelConfig c;
  try {
    auto j = nlohmann::json::parse(text);
    c.arch = arch_from_name(j.at("arch").get<std::string>());
    c.dim = j.at("dim").get<int64_t>();
    c.hidden = j.value("hidden", int64_t{0});
    c.channels = j.value("channels", int64_t{32});
    c.widths = j.value("widths", std::vector<int64_t>{2, 3, 4});
    c.layers = j.value("layers", int64_t{1});
    c.heads = j.value("heads", int64_t{2});
    c.ff = j.value("ff", int64_t{64});
    c.dropout = j.value("dropout", 0.1);
    c.merged = j.value("merged", int64_t{1});
  } catch (const nlohmann::json::exception& e) {
    throw SpamError(std::string("bad model config: ") + e.what());
  }
  bool ok = c.dim > 0 && c.hidden >= 0 && c.channels > 0 && !c.widths.empty() && c.layers > 0 && c.heads > 0 &&
            c.dim % c.heads == 0 && c.ff > 0 && c.merged > 0;
  for (int64_t w : c.widths) ok = ok && w > 0 && w <= 16;
  if (!ok) throw SpamError("bad model config: " + c.to_json());
  return c;
}

Batch make_bag_batch(const FeatureTable& table, const size_t* rows, size_t n, const std::vector<int>* labels) {
  int64_t total = 0;
  for (size_t i = 0; i < n; ++i) total += table.count(rows[i]);
  Batch b;
  b.features = total;
  b.ids = empty({total}, kInt64);
  b.offsets = empty({static_cast<int64_t>(n) + 1}, kInt64);
  if (!table.weights.empty()) b.weights = empty({total}, kFloat32);
  // Straight from the table into the tensors: a batch is built every training step.
  int64_t* ids = b.ids.data_ptr<int64_t>();
  int64_t* offsets = b.offsets.data_ptr<int64_t>();
  float* weights = b.weights.defined() ? b.weights.data_ptr<float>() : nullptr;
  int64_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t begin = table.offsets[rows[i]], count = table.count(rows[i]);
    offsets[i] = at;
    std::copy_n(table.ids.data() + begin, count, ids + at);
    if (weights) std::copy_n(table.weights.data() + begin, count, weights + at);
    at += count;
  }
  offsets[n] = at;
  b.targets = targets_of(rows, n, labels);
  b.rows = static_cast<int64_t>(n);
  return b;
}

Batch make_seq_batch(const SeqTable& table, const size_t* rows, size_t n, const std::vector<int>* labels,
                     int64_t min_length) {
  int64_t length = min_length;
  for (size_t i = 0; i < n; ++i) length = std::max(length, table.words(rows[i]));
  std::vector<int64_t> ids, offsets;
  std::vector<uint8_t> padding(n * static_cast<size_t>(length), 1);
  offsets.reserve(n * static_cast<size_t>(length) + 1);
  for (size_t i = 0; i < n; ++i) {
    int64_t first = table.msg_offsets[rows[i]], words = table.words(rows[i]);
    for (int64_t p = 0; p < length; ++p) {
      offsets.push_back(static_cast<int64_t>(ids.size()));
      if (p >= words) continue;  // padding: an empty bag embeds to zeros
      padding[i * static_cast<size_t>(length) + static_cast<size_t>(p)] = 0;
      int64_t w = first + p;
      ids.insert(ids.end(), table.ids.begin() + table.word_offsets[w], table.ids.begin() + table.word_offsets[w + 1]);
    }
  }
  offsets.push_back(static_cast<int64_t>(ids.size()));
  Batch b;
  b.features = static_cast<int64_t>(ids.size());
  b.ids = int64_tensor(ids);
  b.offsets = int64_tensor(offsets);
  b.padding = from_blob_copy(padding.data(), {static_cast<int64_t>(n), length}, kBool);
  b.targets = targets_of(rows, n, labels);
  b.rows = static_cast<int64_t>(n);
  b.length = length;
  return b;
}

Batch Batch::to(Device device) const {
  auto move = [&](const Tensor& t) { return t.defined() && t.device() != device ? t.to(device) : t; };
  Batch b = *this;
  b.ids = move(ids);
  b.offsets = move(offsets);
  b.padding = move(padding);
  b.targets = move(targets);
  b.weights = move(weights);
  return b;
}

Device SpamNet::device() const {
  std::vector<Tensor> p = parameters();
  return p.empty() ? Device(kCPU) : p.front().device();
}

void SpamNet::calibrate(double scale, double shift) {
  NoGradGuard guard;
  auto [weight, bias] = output_layer();
  weight.mul_(scale);
  bias.mul_(scale);
  Tensor spam_bias = bias.select(0, 1);
  spam_bias.add_(shift);
}

std::vector<Tensor> SpamNet::dense_parameters() const {
  std::vector<Tensor> sparse = sparse_parameters(), out;
  for (const Tensor& p : parameters()) {
    bool is_sparse = false;
    for (const Tensor& s : sparse) is_sparse = is_sparse || p.is_same(s);
    if (!is_sparse) out.push_back(p);
  }
  return out;
}

std::shared_ptr<SpamNet> make_model(const ModelConfig& c, const FeatureConfig& f, const std::vector<float>& idf) {
  switch (c.arch) {
    case Arch::Bag: return std::make_shared<BagNet>(c, f, idf);
    case Arch::Cnn: return std::make_shared<CnnNet>(c, f.buckets);
    case Arch::Transformer: return std::make_shared<TransformerNet>(c, f);
  }
  throw SpamError("unknown architecture");
}

std::shared_ptr<SpamNet> merge_bag_models(const std::vector<std::shared_ptr<SpamNet>>& members, ModelConfig& config,
                                          const FeatureConfig& features) {
  if (members.empty()) throw SpamError("merge_bag_models: no models");
  if (config.arch != Arch::Bag || config.hidden != 0)
    throw SpamError("only linear bag models (hidden 0) can be merged");
  NoGradGuard guard;
  ModelConfig merged_config = config;
  merged_config.merged = static_cast<int64_t>(members.size()) * config.merged;
  auto merged = std::make_shared<BagNet>(merged_config, features, std::vector<float>{});
  merged->to(members[0]->device());  // summed where the members live (the GPU when trained there)
  merged->embedding->weight.zero_();
  for (const auto& m : members) {
    auto* bag = dynamic_cast<BagNet*>(m.get());
    if (!bag || bag->hidden) throw SpamError("merge_bag_models: not a linear bag model");
    merged->embedding->weight.add_(bag->embedding->weight);
    merged->bias.add_(bag->bias);
  }
  merged->embedding->weight.div_(static_cast<double>(members.size()));
  merged->bias.div_(static_cast<double>(members.size()));
  if (Tensor idf = members[0]->idf(); idf.defined()) merged->idf_.copy_(idf);
  config = merged_config;
  return merged;
}

FeatureTable SpamModel::bag_features(const std::vector<std::string>& texts) const {
  FeatureTable table = Featurizer(features).bag_table(texts);
  if (features.weighting == "tfidf") {
    Tensor idf = net->idf();
    if (!idf.defined()) throw SpamError("a tf-idf model without its idf table");
    idf = idf.cpu().contiguous();  // the featurizer weighs on the host; one copy per call
    count_features(table, features.buckets);
    apply_tfidf(table, idf.data_ptr<float>(), static_cast<size_t>(idf.numel()));
  }
  return table;
}

namespace {
std::vector<float> spam_probabilities(SpamNet& net, const Batch& b) {
  Tensor p = net.logits(b.to(net.device())).softmax(1).select(1, 1).cpu().contiguous();
  const float* d = p.data_ptr<float>();
  return std::vector<float>(d, d + p.numel());
}
}  // namespace

std::vector<float> SpamModel::predict_bag_table(const FeatureTable& table, size_t batch_size) const {
  NoGradGuard guard;
  net->eval();
  std::vector<float> out;
  out.reserve(table.size());
  std::vector<size_t> rows;
  for (size_t s = 0; s < table.size(); s += batch_size) {
    size_t n = std::min(batch_size, table.size() - s);
    rows.resize(n);
    for (size_t i = 0; i < n; ++i) rows[i] = s + i;
    std::vector<float> p = spam_probabilities(*net, make_bag_batch(table, rows.data(), n, nullptr));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::vector<float> SpamModel::predict_seq_table(const SeqTable& table, size_t batch_size) const {
  NoGradGuard guard;
  net->eval();
  int64_t min_length = 1;
  for (int64_t w : config.widths) min_length = std::max(min_length, w);
  std::vector<float> out;
  out.reserve(table.size());
  std::vector<size_t> rows;
  for (size_t s = 0; s < table.size(); s += batch_size) {
    size_t n = std::min(batch_size, table.size() - s);
    rows.resize(n);
    for (size_t i = 0; i < n; ++i) rows[i] = s + i;
    std::vector<float> p = spam_probabilities(*net, make_seq_batch(table, rows.data(), n, nullptr, min_length));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::vector<float> SpamModel::predict(const std::vector<std::string>& texts, size_t batch_size) const {
  if (config.arch == Arch::Bag) return predict_bag_table(bag_features(texts), batch_size);
  return predict_seq_table(Featurizer(features).seq_table(texts), std::min<size_t>(batch_size, 256));
}

void SpamModel::to(Device device) {
  check_device(device);
  NoGradGuard guard;
  net->to(device);
}

void SpamModel::save(const std::string& path) const {
  char thr[64];
  std::snprintf(thr, sizeof thr, "%.17g", threshold);
  Metadata meta{{"format", kFormat},
                {"features", features.to_json()},
                {"model", config.to_json()},
                {"threshold", thr},
                {"positive_label", positive_label},
                {"negative_label", negative_label}};
  try {
    ember::save(*net, path, meta);  // atomic: temporary file in the same directory, then rename
  } catch (const ember::Error& e) {
    throw SpamError("cannot write model " + path + ": " + e.what());
  }
}

SpamModel SpamModel::load(const std::string& path) {
  SafetensorsFile file;
  try {
    file = load_with_metadata(path);
  } catch (const ember::Error& e) {
    throw SpamError("cannot load model " + path + ": " + e.what());
  }
  auto get = [&](const char* key) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      throw SpamError(path + ": not an ember-spam model (no '" + std::string(key) + "' in its metadata)");
    return it->second;
  };
  if (get("format") != kFormat) throw SpamError(path + ": unsupported model format '" + get("format") + "'");
  SpamModel m;
  m.features = FeatureConfig::from_json(get("features"));
  m.config = ModelConfig::from_json(get("model"));
  m.threshold = std::strtod(get("threshold").c_str(), nullptr);
  m.positive_label = get("positive_label");
  m.negative_label = get("negative_label");
  m.net = make_model(m.config, m.features);
  try {
    m.net->load_state_dict(file.tensors, /*strict=*/true);
  } catch (const ember::Error& e) {
    throw SpamError(path + ": weights do not match the model config: " + e.what());
  }
  m.net->eval();
  return m;
}

}  // namespace ember::spam
