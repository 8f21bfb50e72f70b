#pragma once
// ember::nn::functional: every stateless form (torch.nn.functional). Tip:
//   namespace F = ember::nn::functional;
#include "nn/functional/basic.h"
#include "nn/functional/conv.h"
#include "nn/functional/loss.h"
