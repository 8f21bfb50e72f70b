#pragma once
// nn::init: in-place initializers, as torch.nn.init. All draw from ember's seeded generator
// (ember::manual_seed) and run under NoGradGuard, so they work on parameters directly.
#include <string>
#include <utility>

#include "tensor/tensor.h"

namespace ember::nn::init {

/// "fan_in" or "fan_out", for the kaiming initializers.
enum class FanMode { FanIn, FanOut };

/// torch.nn.init.calculate_gain: the recommended gain for a nonlinearity ("linear", "relu",
/// "leaky_relu" with slope param, "tanh", "sigmoid", "selu", "conv1d", ...).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);
/// (fan_in, fan_out) of a weight of at least 2 dims: [out, in, kernel...].
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

/// Fills t with U(a, b).
Tensor& uniform_(Tensor& t, double a = 0, double b = 1);
/// Fills t with N(mean, std^2).
Tensor& normal_(Tensor& t, double mean = 0, double std = 1);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& constant_(Tensor& t, double value);
/// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot).
Tensor& xavier_uniform_(Tensor& t, double gain = 1);
/// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1);
/// U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a) (He).
Tensor& kaiming_uniform_(Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                         const std::string& nonlinearity = "leaky_relu");
/// N(0, std^2) with std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                        const std::string& nonlinearity = "leaky_relu");

}  // namespace ember::nn::init
