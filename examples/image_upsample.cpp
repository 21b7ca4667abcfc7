// Image upsampling with upconv: an RGB image (binary PPM, or a synthetic test card) enlarged r
// times by a transposed convolution whose kernel is the bilinear filter, the layer FCN-style
// networks initialise their learned upsampling with, and written back as PPM.
//
// It also walks through the seed notes' sub-pixel equivalence (Shi et al. 2016): the same layer
// computed as a stride-1 conv2d producing 3*r*r channels followed by pixel_shuffle, with the
// weights converted by upconv::subpixel_conv_weight. Both paths must agree.
//
// Usage: image_upsample [--input in.ppm] [--output out.ppm] [--factor R] [--backend cpu|vulkan|auto]
// Prints "image_upsample: ok" when the two paths agree (it is also a test of the build).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "upconv/upconv.hpp"

namespace {

struct Options {
  std::string input, output;
  int64_t factor = 2;
  upconv::BackendKind backend = upconv::BackendKind::automatic;
};

bool fail(const std::string& message) {
  std::fprintf(stderr, "image_upsample: %s\n", message.c_str());
  return false;
}

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return fail(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--input") {
      o.input = value;
    } else if (flag == "--output") {
      o.output = value;
    } else if (flag == "--factor") {
      char* end = nullptr;
      o.factor = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || o.factor < 1 || o.factor > 16) return fail("--factor " + value + ": want 1..16");
    } else if (flag == "--backend") {
      if (value == "cpu") o.backend = upconv::BackendKind::cpu;
      else if (value == "vulkan") o.backend = upconv::BackendKind::vulkan;
      else if (value == "auto") o.backend = upconv::BackendKind::automatic;
      else return fail("--backend " + value + ": want cpu, vulkan or auto");
    } else {
      return fail("unknown flag " + flag);
    }
  }
  return true;
}

// ---- PPM (P6, maxval 255) <-> NCHW float tensor (1, 3, H, W) in [0, 1]

// Next header token, skipping whitespace and '#' comments.
bool ppm_token(std::istream& in, long& value) {
  for (int c = in.peek(); c != EOF; c = in.peek()) {
    if (c == '#') {
      std::string comment;
      std::getline(in, comment);
    } else if (std::isspace(c)) {
      in.get();
    } else {
      break;
    }
  }
  return static_cast<bool>(in >> value);
}

bool read_ppm(const std::string& path, upconv::Tensor& image) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open " + path);
  char magic[2] = {0, 0};
  in.read(magic, 2);
  long w = 0, h = 0, maxval = 0;
  if (magic[0] != 'P' || magic[1] != '6') return fail(path + ": not a binary PPM (P6)");
  if (!ppm_token(in, w) || !ppm_token(in, h) || !ppm_token(in, maxval)) return fail(path + ": bad PPM header");
  if (w < 1 || h < 1 || w > 16384 || h > 16384) return fail(path + ": image size " + std::to_string(w) + "x" +
                                                            std::to_string(h) + " outside 1..16384");
  if (maxval != 255) return fail(path + ": maxval " + std::to_string(maxval) + ", only 255 is supported");
  in.get();  // the single whitespace after maxval
  std::vector<unsigned char> rgb(static_cast<size_t>(w * h * 3));
  if (!in.read(reinterpret_cast<char*>(rgb.data()), static_cast<std::streamsize>(rgb.size())))
    return fail(path + ": truncated pixel data");
  image = upconv::Tensor({1, 3, h, w});
  for (long c = 0; c < 3; ++c)
    for (long p = 0; p < w * h; ++p) image.data()[c * w * h + p] = rgb[static_cast<size_t>(p * 3 + c)] / 255.0f;
  return true;
}

bool write_ppm(const std::string& path, const upconv::Tensor& image) {
  const int64_t h = image.dim(2), w = image.dim(3);
  std::vector<unsigned char> rgb(static_cast<size_t>(w * h * 3));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t p = 0; p < w * h; ++p) {
      const float v = std::clamp(image.data()[c * w * h + p], 0.0f, 1.0f);
      rgb[static_cast<size_t>(p * 3 + c)] = static_cast<unsigned char>(std::lround(v * 255.0f));
    }
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << w << " " << h << "\n255\n";
  out.write(reinterpret_cast<const char*>(rgb.data()), static_cast<std::streamsize>(rgb.size()));
  return out ? true : fail("cannot write " + path);
}

// A test card: colour gradients, a ring and a checkerboard corner (edges show the filter).
upconv::Tensor test_card(int64_t h, int64_t w) {
  upconv::Tensor image({1, 3, h, w});
  float* px = image.data();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const float u = static_cast<float>(x) / static_cast<float>(w), v = static_cast<float>(y) / static_cast<float>(h);
      const float ring = std::fabs(std::hypot(u - 0.5f, v - 0.5f) - 0.3f) < 0.04f ? 1.0f : 0.0f;
      const float checker = (x < w / 4 && y < h / 4 && (x / 4 + y / 4) % 2 == 0) ? 1.0f : 0.0f;
      px[(0 * h + y) * w + x] = std::max({u, ring, checker});
      px[(1 * h + y) * w + x] = std::max(v, checker);
      px[(2 * h + y) * w + x] = std::max(1.0f - u, ring);
    }
  return image;
}

// ---- the layer

// ConvTranspose2d(3, 3, kernel 2r, stride r) weight (C_in, C_out, 2r, 2r): the separable
// bilinear filter on the diagonal (each colour upsampled by itself), zero elsewhere.
upconv::Tensor bilinear_weight(int64_t r) {
  const int64_t k = 2 * r;
  const float center = static_cast<float>(r) - 0.5f;
  upconv::Tensor w({3, 3, k, k});
  std::fill(w.data(), w.data() + w.size(), 0.0f);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        w.data()[((c * 3 + c) * k + i) * k + j] = (1.0f - std::fabs(static_cast<float>(i) - center) / static_cast<float>(r)) *
                                                  (1.0f - std::fabs(static_cast<float>(j) - center) / static_cast<float>(r));
  return w;
}

// Rows/cols [begin, begin + h) x [begin, begin + w) of every plane.
upconv::Tensor crop(const upconv::Tensor& t, int64_t top, int64_t left, int64_t h, int64_t w) {
  const int64_t planes = t.dim(0) * t.dim(1), th = t.dim(2), tw = t.dim(3);
  upconv::Tensor out({t.dim(0), t.dim(1), h, w});
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(out.data() + (p * h + y) * w, t.data() + (p * th + top + y) * tw + left,
                  static_cast<size_t>(w) * sizeof(float));
  return out;
}

float max_abs_difference(const upconv::Tensor& a, const upconv::Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  float d = 0.0f;
  for (int64_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a.data()[i] - b.data()[i]));
  return d;
}

#define CHECK_OK(expr)                                                     \
  do {                                                                     \
    const auto& result_ = (expr);                                          \
    if (!result_.ok()) return fail(#expr ": " + result_.status().to_string()); \
  } while (0)

bool run(const Options& o) {
  upconv::Tensor image;
  if (o.input.empty()) {
    image = test_card(96, 128);
  } else if (!read_ppm(o.input, image)) {
    return false;
  }
  const int64_t r = o.factor, h = image.dim(2), w = image.dim(3);

  auto ctx = upconv::Context::create({.backend = o.backend});
  if (!ctx.ok()) return fail("context: " + ctx.status().to_string());
  std::printf("%s: %lldx%lld -> %lldx%lld (x%lld) on %s\n", o.input.empty() ? "test card" : o.input.c_str(),
              static_cast<long long>(w), static_cast<long long>(h), static_cast<long long>(w * r),
              static_cast<long long>(h * r), static_cast<long long>(r), ctx->description().c_str());

  // Path 1: the transposed conv, cropped by r/2 before and r - r/2 after each axis so the output
  // is exactly r times the input.
  const upconv::Tensor weight = bilinear_weight(r);
  upconv::ConvTransposeParams up;
  up.stride = {r, r};
  up.pad_begin = {r / 2, r / 2};
  up.pad_end = {r - r / 2, r - r / 2};
  auto deconv = upconv::make_conv_transpose(*ctx, up, weight);
  CHECK_OK(deconv);
  upconv::Tensor big;
  if (upconv::Status s = deconv->run(image, big); !s.ok()) return fail("conv_transpose2d: " + s.to_string());

  // Path 2: sub-pixel. The conversion needs padding that is a multiple of r, so both paths are
  // compared uncropped (padding 0) first, and then cropped as path 1 crops.
  int64_t conv_pad = 0;
  auto subpixel_weight = upconv::subpixel_conv_weight(weight, r, 0, &conv_pad);
  CHECK_OK(subpixel_weight);
  upconv::ConvParams conv;
  conv.pad_begin = conv.pad_end = {conv_pad, conv_pad};
  auto low_res = upconv::make_conv(*ctx, conv, *subpixel_weight);
  auto shuffle = upconv::make_pixel_shuffle(*ctx, {.factor = r});
  upconv::ConvTransposeParams full = up;
  full.pad_begin = full.pad_end = {0, 0};
  auto deconv_full = upconv::make_conv_transpose(*ctx, full, weight);
  CHECK_OK(low_res);
  CHECK_OK(shuffle);
  CHECK_OK(deconv_full);
  upconv::Tensor features, via_subpixel, via_deconv;
  for (upconv::Status s : {low_res->run(image, features), shuffle->run(features, via_subpixel),
                           deconv_full->run(image, via_deconv)})
    if (!s.ok()) return fail(s.to_string());
  const float uncropped = max_abs_difference(via_subpixel, via_deconv);
  const float cropped = max_abs_difference(crop(via_subpixel, r / 2, r / 2, h * r, w * r), big);
  std::printf("sub-pixel conv2d(3 -> %lld ch) + pixel_shuffle vs conv_transpose2d: max |difference| %.2e "
              "(uncropped), %.2e (cropped)\n",
              static_cast<long long>(3 * r * r), uncropped, cropped);

  if (!o.output.empty()) {
    if (!write_ppm(o.output, big)) return false;
    std::printf("wrote %s\n", o.output.c_str());
  }
  // fp32 sums of at most 3 * 4 terms of size <= 1: agreement to a few ulps, not just "close".
  if (!(uncropped <= 1e-5f && cropped <= 1e-5f)) return fail("the two paths disagree");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) return 2;
  if (!run(options)) return 1;
  std::printf("image_upsample: ok\n");
  return 0;
}
