#pragma once
// The three spam classifiers, built from ember::nn, and the model file (safetensors weights
// with the feature config, architecture, labels and threshold in its metadata).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "featurizer.h"
#include "nn/module.h"
#include "tensor/tensor.h"

namespace ember::spam {

enum class Arch { Bag, Cnn, Transformer };
Arch arch_from_name(const std::string& s);  // throws SpamError on an unknown name
std::string arch_name(Arch a);

/// "cpu", "cuda" or "cuda:0" as a Device, checked with check_device; SpamError otherwise.
Device device_from_name(const std::string& name);
/// Throws SpamError saying why when the models cannot run on device: ember built without
/// CUDA, no GPU visible, or a GPU other than cuda:0 (ember runs on cuda:0 only). The message
/// names the device as name when given (as the user wrote it).
void check_device(Device device, const std::string& name = {});

struct ModelConfig {
  Arch arch = Arch::Bag;
  int64_t dim = 16;       // embedding width (bag: only with a hidden layer)
  int64_t hidden = 0;     // bag: hidden layer width; 0 = linear (rows are the 2 logits)
  int64_t channels = 32;  // cnn: filters per width
  std::vector<int64_t> widths{2, 3, 4};
  int64_t layers = 1, heads = 2, ff = 64;  // transformer
  double dropout = 0.1;                    // cnn, transformer
  int64_t merged = 1;  // bag: how many cross-fitted members were merged into this one model

  std::string to_json() const;
  static ModelConfig from_json(const std::string& json);
};

/// The tensors of one batch. Bag models: ids flat with offsets [B+1] (include_last_offset).
/// Sequence models: one bag per (message, position) in row-major [B, L] order, padded
/// positions as empty bags, and padding [B, L] (true = padding).
struct Batch {
  Tensor ids, offsets, padding, targets;
  Tensor weights;  // bag models with tf-idf features: one weight per id
  int64_t rows = 0, length = 0;
  int64_t features = 0;  // ids in the batch (throughput accounting)

  /// The same batch with every tensor on device (itself when already there). Batches are
  /// built on the host from the feature tables, then moved: the featurizer is CPU code.
  Batch to(Device device) const;
};

/// Gathers rows of a table into a batch; labels may be null (prediction).
Batch make_bag_batch(const FeatureTable& table, const size_t* rows, size_t n, const std::vector<int>* labels);
Batch make_seq_batch(const SeqTable& table, const size_t* rows, size_t n, const std::vector<int>* labels,
                     int64_t min_length);

class SpamNet : public nn::Module {
 public:
  /// [B, 2] logits (ham, spam).
  virtual Tensor logits(const Batch& batch) = 0;
  /// Parameters with row-sparse gradients (embedding tables): their own optimizer group.
  virtual std::vector<Tensor> sparse_parameters() const = 0;
  std::vector<Tensor> dense_parameters() const;
  /// Where the parameters live (every parameter of a SpamNet lives on one device).
  Device device() const;
  /// The idf table [buckets] of a tf-idf bag model (a buffer saved with the weights), else undefined.
  virtual Tensor idf() const { return {}; }
  /// Folds a Platt calibration into the last layer: afterwards the spam logit minus the ham
  /// logit is scale * (the old difference) + shift.
  void calibrate(double scale, double shift);

 protected:
  /// The weight and the bias [2] (ham, spam) of the layer that produces the logits.
  virtual std::pair<Tensor, Tensor> output_layer() const = 0;
};

/// A fresh model; a tf-idf bag model takes its idf table (from the training rows) here.
std::shared_ptr<SpamNet> make_model(const ModelConfig& config, const FeatureConfig& features,
                                    const std::vector<float>& idf = {});

/// Merges linear bag models (hidden 0) into one whose logits are the mean of theirs: a linear
/// model's logits are sum_i w_i E_i + b, so the merged rows and bias are the members' means.
/// The merged model lives on the members' device.
std::shared_ptr<SpamNet> merge_bag_models(const std::vector<std::shared_ptr<SpamNet>>& members, ModelConfig& config,
                                          const FeatureConfig& features);

/// Everything evaluate and predict need, in one object. The net may live on the GPU (to());
/// featurizing stays on the CPU, batches follow the net, and scores come back to the host.
struct SpamModel {
  FeatureConfig features;
  ModelConfig config;
  std::shared_ptr<SpamNet> net;
  double threshold = 0.5;
  std::string positive_label = "spam", negative_label = "ham";

  /// The bag features of texts as this model reads them (counted and tf-idf weighted if so configured).
  FeatureTable bag_features(const std::vector<std::string>& texts) const;
  /// Spam probabilities, in batches, without autograd.
  std::vector<float> predict(const std::vector<std::string>& texts, size_t batch_size = 1024) const;
  std::vector<float> predict_bag_table(const FeatureTable& table, size_t batch_size = 1024) const;
  std::vector<float> predict_seq_table(const SeqTable& table, size_t batch_size = 256) const;

  /// Moves the net (weights and buffers) to device: "cpu" or cuda:0.
  void to(Device device);

  /// Writes the model atomically (temporary file, then rename). The file is the same from
  /// either device: the writer copies GPU tensors to the host first.
  void save(const std::string& path) const;
  /// Throws SpamError naming the file when it is missing or not an ember-spam model.
  static SpamModel load(const std::string& path);
};

}  // namespace ember::spam
