#include "cpu/kernels/winograd_matrices.hpp"

#include <cmath>
#include <utility>

namespace upconv::detail::cpu {
namespace {

// Inverse of the n x n matrix a (row-major) by Gauss-Jordan elimination with partial pivoting.
// The Vandermonde matrices here are at most 8 x 8 on distinct points, hence invertible.
std::vector<double> inverse(std::vector<double> a, int n) {
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r)
      if (std::fabs(a[r * n + col]) > std::fabs(a[pivot * n + col])) pivot = r;
    for (int k = 0; k < n; ++k) {
      std::swap(a[col * n + k], a[pivot * n + k]);
      std::swap(inv[col * n + k], inv[pivot * n + k]);
    }
    const double p = a[col * n + col];
    for (int k = 0; k < n; ++k) a[col * n + k] /= p, inv[col * n + k] /= p;
    for (int r = 0; r < n; ++r) {
      if (r == col || a[r * n + col] == 0.0) continue;
      const double f = a[r * n + col];
      for (int k = 0; k < n; ++k) a[r * n + k] -= f * a[col * n + k], inv[r * n + k] -= f * inv[col * n + k];
    }
  }
  return inv;
}

}  // namespace

// The finite points for alpha inputs (alpha - 1 of them), chosen for fp32 rounding: measured on
// aspp_d12 (256 channels, 3x3, max |got - want| / (1 + |want|) against the reference in double
// order; the direct kernels 4.6e-5): F(2, 3) on {0, 1, -1} 3.7e-5; F(3, 3) on {1, -1, 1/2, -1/2}
// 8.7e-5, on {0, 1, -1, 2} 3.0e-4, on {0, 1, -1, -1/2} 2.0e-4; F(4, 3) on {0, 1, -1, 2, -2}
// 7.2e-4, on {0, 1, -1, 1/2, -1/2} 5.5e-4; F(6, 3) on {0, 1, -1, 2, -2, 1/2, -1/2} 7.3e-4. So
// at most 5 inputs per axis (winograd_max_alpha), each on the set that rounds least.
const double* winograd_points(int alpha) {
  static constexpr double kTwo[] = {0.0};
  static constexpr double kThree[] = {1.0, -1.0};
  static constexpr double kFour[] = {0.0, 1.0, -1.0};
  static constexpr double kFive[] = {1.0, -1.0, 0.5, -0.5};
  switch (alpha) {
    case 2: return kTwo;
    case 3: return kThree;
    case 4: return kFour;
    default: return kFive;
  }
}

// Derivation: for any u of m values, sum_i u_i y_i = sum_{i,k} u_i g_k d_{i+k} = d . (u * g),
// the linear convolution of u and g (alpha values). Toom-Cook computes it as
// u * g = C [(E_u u) . (E_g g)], where E_u, E_g evaluate the polynomials with those coefficients
// at the points (at infinity: the leading coefficient) and C = V^-1 interpolates (V: the alpha x
// alpha Vandermonde matrix of the points). So sum_i u_i y_i = sum_j (C^T d)_j (E_g g)_j (E_u u)_j
// for every u, that is y = E_u^T [(E_g g) . (C^T d)]: AT = E_u^T, G = E_g, BT = C^T.
WinogradMatrices winograd_matrices(int m, int r) {
  WinogradMatrices w;
  w.m = m, w.r = r, w.alpha = m + r - 1;
  const int a = w.alpha, finite = a - 1;
  // One output: the plain dot product (AT all ones, G and BT identities), no rounding added.
  if (m == 1) {
    w.at.assign(static_cast<size_t>(a), 1.0);
    w.g.assign(static_cast<size_t>(a * a), 0.0);
    w.bt.assign(static_cast<size_t>(a * a), 0.0);
    for (int i = 0; i < a; ++i) w.g[i * a + i] = w.bt[i * a + i] = 1.0;
    return w;
  }
  const double* points = winograd_points(a);
  // Row j: the powers of point j (the last row, the point at infinity, picks the top power).
  auto eval_rows = [&](int cols) {
    std::vector<double> e(static_cast<size_t>(a * cols), 0.0);
    for (int j = 0; j < finite; ++j) {
      double power = 1.0;
      for (int k = 0; k < cols; ++k, power *= points[j]) e[j * cols + k] = power;
    }
    e[finite * cols + cols - 1] = 1.0;
    return e;
  };
  const std::vector<double> eu = eval_rows(m);
  w.g = eval_rows(r);
  const std::vector<double> c = inverse(eval_rows(a), a);
  w.at.assign(static_cast<size_t>(m * a), 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < a; ++j) w.at[i * a + j] = eu[j * m + i];
  w.bt.assign(static_cast<size_t>(a * a), 0.0);
  for (int i = 0; i < a; ++i)
    for (int j = 0; j < a; ++j) w.bt[i * a + j] = c[j * a + i];
  // Elimination leaves ~1e-17 where the exact inverse has zeros; make them exact.
  for (double& x : w.bt)
    if (std::fabs(x) < 1e-12) x = 0.0;
  return w;
}

}  // namespace upconv::detail::cpu
