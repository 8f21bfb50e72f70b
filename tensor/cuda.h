#pragma once
// CUDA device queries. They work in every build: without CUDA support, or without a GPU,
// is_available() is false and device_count() is 0.
namespace ember::cuda {

/// True when ember was built with CUDA and a GPU is visible.
bool is_available();
/// Number of visible GPUs (0 without CUDA support).
int device_count();
/// Waits for all work queued on the current GPU (no-op without CUDA).
void synchronize();
/// Runs a tiny kernel and checks its result; true on success. Throws ember::Error when
/// there is no GPU. Used by the GPU check script.
bool self_test();

}  // namespace ember::cuda
