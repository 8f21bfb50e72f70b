#include "tensor/device.h"

#include "tensor/error.h"

namespace ember {

Device::Device(const std::string& spec) {
  if (spec == "cpu") {
    type = kCPU;
    index = 0;
    return;
  }
  EMBER_CHECK(spec.rfind("cuda", 0) == 0, "Device", "Expected one of cpu, cuda device type at start of device string: ",
              spec);
  type = kCUDA;
  index = 0;
  if (spec.size() > 4) {
    EMBER_CHECK(spec[4] == ':' && spec.size() > 5 && spec.find_first_not_of("0123456789", 5) == std::string::npos,
                "Device", "Invalid device string: '", spec, "'");
    // The index is an int8_t (as PyTorch's DeviceIndex): a longer number would wrap around.
    const int value = spec.size() <= 8 ? std::stoi(spec.substr(5)) : 128;  // 3 digits at most
    EMBER_CHECK(value <= 127, "Device", "Invalid device string: '", spec, "' (device index out of range)");
    index = static_cast<int8_t>(value);
  }
}

void Device::throw_bad_index(int i) {
  detail::throw_error("Device", "Device index must be between 0 and 127, got ", i);
}

std::string Device::str() const {
  if (type == kCPU) return "cpu";
  return "cuda:" + std::to_string(index);
}

}  // namespace ember
