// Host-side entry points of the CUDA backend, callable from plain C++ (no CUDA headers).
// In a build without CUDA each throws an Error naming the op and device.
#pragma once

#include "core/tensor.h"
#include "ops/linear.h"

namespace qinfer::ops::cuda {

bool available();  // built with CUDA and a device is present
void linear(const LinearWeight& w, const Tensor& x, Tensor& y);

}  // namespace qinfer::ops::cuda
