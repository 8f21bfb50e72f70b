#pragma once
// ember: a small, readable PyTorch-like tensor and autograd engine.
// #include <ember.h> gives the whole public API, in namespace ember.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/cpu/parallel.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"
