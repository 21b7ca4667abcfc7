// Internal: the transform matrices of the Winograd minimal-filtering algorithm F(m, r) for a
// correlation of r taps producing m outputs from alpha = m + r - 1 inputs:
//   y = AT [(G g) . (BT d)]
// (. elementwise), built from alpha - 1 finite interpolation points and the point at infinity.
#pragma once

#include <vector>

#include "cpu/kernels/winograd_job.hpp"

namespace upconv::detail::cpu {

struct WinogradMatrices {
  int m = 1, r = 1, alpha = 1;
  std::vector<double> at;  // [m][alpha]
  std::vector<double> g;   // [alpha][r]
  std::vector<double> bt;  // [alpha][alpha]
};

/// F(m, r) for m >= 1, r >= 1, m + r - 1 <= winograd_max_alpha, on winograd_points(alpha);
/// F(1, r) is the plain dot product (identity transforms).
WinogradMatrices winograd_matrices(int m, int r);

/// The alpha - 1 finite interpolation points used for alpha inputs (2 <= alpha <= 5).
const double* winograd_points(int alpha);

}  // namespace upconv::detail::cpu
