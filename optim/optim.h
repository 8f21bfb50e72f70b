#pragma once
// The optimizers, learning-rate schedulers and gradient clipping (namespace ember::optim).
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/sgd.h"
