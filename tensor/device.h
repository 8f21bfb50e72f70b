#pragma once
// Where a tensor's storage lives.
#include <cstdint>
#include <ostream>
#include <string>

namespace ember {

enum class DeviceType : uint8_t { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

/// A device type with an index (cuda:1); CPU always has index 0.
struct Device {
  DeviceType type = kCPU;
  int8_t index = 0;

  Device() = default;
  Device(DeviceType t, int i = 0) : type(t), index(static_cast<int8_t>(t == kCPU ? 0 : i)) {}  // NOLINT
  /// Parses "cpu", "cuda", "cuda:1"; throws ember::Error on anything else.
  explicit Device(const std::string& spec);
  bool is_cpu() const { return type == kCPU; }
  bool is_cuda() const { return type == kCUDA; }
  std::string str() const;
  friend bool operator==(Device a, Device b) { return a.type == b.type && a.index == b.index; }
  friend bool operator!=(Device a, Device b) { return !(a == b); }
};
inline std::ostream& operator<<(std::ostream& os, Device d) { return os << d.str(); }

}  // namespace ember
