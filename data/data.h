#pragma once
// Datasets, the DataLoader and dataset splits (namespace ember::data).
#include "data/dataloader.h"
#include "data/dataset.h"
#include "data/split.h"
