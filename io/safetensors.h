#pragma once
// Saving and loading tensors in the safetensors format (https://github.com/huggingface/safetensors),
// readable by Python's `safetensors` and PyTorch:
//   8-byte little-endian header length N | N bytes of JSON header | raw little-endian data.
// The header maps each name to {"dtype": "F32"|"F64"|"I64"|"BOOL", "shape": [...],
// "data_offsets": [begin, end]} (offsets relative to the data region) and may hold
// "__metadata__": {string: string}.
//
// Loading validates the whole file before reading a tensor and throws ember::Error naming the
// file and the problem. Saving writes a temporary file in the target directory, fsyncs it and
// renames it into place, so a failed save never leaves a partial file behind.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "tensor/tensor.h"

namespace ember {

/// Free-form string pairs stored under "__metadata__".
using Metadata = std::map<std::string, std::string>;

/// What a safetensors file holds: tensors in data order (as saved), and its metadata.
struct SafetensorsFile {
  nn::StateDict tensors;
  Metadata metadata;
};

/// Saves tensors (names must be unique and non-empty) and metadata to path, atomically.
void save(const nn::StateDict& tensors, const std::string& path, const Metadata& metadata = {});
/// Saves module.state_dict() to path.
void save(const nn::Module& module, const std::string& path, const Metadata& metadata = {});
/// Loads every tensor of a safetensors file, in data order.
nn::StateDict load(const std::string& path);
/// Loads tensors and metadata.
SafetensorsFile load_with_metadata(const std::string& path);
/// Loads a file into module (Module::load_state_dict with the given strictness).
void load(nn::Module& module, const std::string& path, bool strict = true);

/// The bytes of a safetensors file holding tensors and metadata.
std::string serialize_safetensors(const nn::StateDict& tensors, const Metadata& metadata = {});
/// Parses and validates bytes of a safetensors file; `source` names it in error messages.
SafetensorsFile deserialize_safetensors(const std::string& bytes, const std::string& source = "<memory>");

/// Writes bytes to path through a temporary file in the same directory (fsync, then rename).
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace ember
