#pragma once
// Every tensor op, as free functions in namespace ember.
#include "tensor/factory.h"
#include "tensor/index_ops.h"
#include "tensor/linalg_ops.h"
#include "tensor/pointwise_ops.h"
#include "tensor/reduce_ops.h"
#include "tensor/view_ops.h"
