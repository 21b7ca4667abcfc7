// upconv — the upsampling family of neural-network operators on Vulkan GPUs and SIMD CPUs.
// Umbrella header of the C++ API. See README.md for a first example.
#pragma once

#include "upconv/params.hpp"
#include "upconv/plan.hpp"
#include "upconv/shapes.hpp"
#include "upconv/status.hpp"
#include "upconv/tensor.hpp"
