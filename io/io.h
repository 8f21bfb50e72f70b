#pragma once
// Saving and loading: safetensors files and training checkpoints.
#include "io/checkpoint.h"
#include "io/safetensors.h"
