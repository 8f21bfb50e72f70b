#pragma once
// ember: a small, readable PyTorch-like tensor and autograd engine.
// #include <ember.h> gives the whole public API, in namespace ember.
#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "autograd/graphviz.h"
#include "autograd/node.h"
#include "data/data.h"
#include "io/io.h"
#include "kernels/cpu/parallel.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/cuda.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"
