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
  /// Throws ember::Error when i does not fit the int8_t index (0 to 127), as the string form.
  Device(DeviceType t, int i = 0) : type(t), index(checked_index(t, i)) {}  // NOLINT
  /// Parses "cpu", "cuda", "cuda:1"; throws ember::Error on anything else.
  explicit Device(const std::string& spec);
  bool is_cpu() const { return type == kCPU; }
  bool is_cuda() const { return type == kCUDA; }
  std::string str() const;
  friend bool operator==(Device a, Device b) { return a.type == b.type && a.index == b.index; }
  friend bool operator!=(Device a, Device b) { return !(a == b); }

 private:
  static int8_t checked_index(DeviceType t, int i) {  // inline: Device(kCPU) is on every op's path
    if (t == kCPU) return 0;
    if (i < 0 || i > 127) throw_bad_index(i);
    return static_cast<int8_t>(i);
  }
  [[noreturn]] static void throw_bad_index(int i);
};
inline std::ostream& operator<<(std::ostream& os, Device d) { return os << d.str(); }

}  // namespace ember
