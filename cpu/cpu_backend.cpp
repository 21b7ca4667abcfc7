#include "cpu/cpu_backend.hpp"

#include <string>
#include <vector>

#include "cpu/isa.hpp"
#if defined(UPCONV_CPU_X86)
#include "cpu/kernels/conv_plan.hpp"
#endif
#include "cpu/permute_kernels.hpp"
#include "cpu/reference/reference.hpp"
#include "runtime/validate.hpp"

namespace upconv::detail {
namespace {

class ReferenceConvKernel final : public OpKernel {
 public:
  ReferenceConvKernel(const ConvDesc& d, const float* w, const float* b)
      : desc_(d), weight_(w, w + d.weight_count()), bias_(b ? std::vector<float>(b, b + d.c_out) : std::vector<float>{}) {}
  Status run(const OpArgs& a) override {
    ref::conv(desc_, a.x, a.xd, weight_.data(), bias_.empty() ? nullptr : bias_.data(), a.y, a.yd);
    return {};
  }

 private:
  ConvDesc desc_;
  std::vector<float> weight_, bias_;
};

class ReferenceShuffleKernel final : public OpKernel {
 public:
  explicit ReferenceShuffleKernel(const ShuffleDesc& d) : desc_(d) {}
  Status run(const OpArgs& a) override {
    ref::pixel_shuffle(desc_, a.x, a.xd, a.y, a.yd);
    return {};
  }

 private:
  ShuffleDesc desc_;
};

class ReferenceUnpoolKernel final : public OpKernel {
 public:
  Status run(const OpArgs& a) override {
    UPCONV_RETURN_IF_ERROR(check_unpool_indices(a.indices, a.xd.count(), a.yd.plane()));
    ref::max_unpool2d(a.x, a.indices, a.xd, a.y, a.yd);
    return {};
  }
};

class ReferenceResampleKernel final : public OpKernel {
 public:
  explicit ReferenceResampleKernel(const ResampleDesc& d) : desc_(d) {}
  Status run(const OpArgs& a) override {
    ref::resample(desc_, a.x, a.xd, a.y, a.yd);
    return {};
  }

 private:
  ResampleDesc desc_;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(std::shared_ptr<ThreadPool> pool)
      : pool_(std::move(pool)), simd_(cpu::simd_kernels_available()), isa_(cpu::default_isa()) {}
  BackendKind kind() const noexcept override { return BackendKind::cpu; }
  std::string description() const override {
    return std::string("cpu (") + (simd_ ? cpu::isa_name(isa_) : "scalar") + ", " + std::to_string(pool_->size()) +
           " thread" + (pool_->size() == 1 ? "" : "s") + ")";
  }

  Result<std::unique_ptr<OpKernel>> prepare(const OpDesc& desc, const float* weight, const float* bias) override {
    if (const auto* c = std::get_if<ConvDesc>(&desc)) {
#if defined(UPCONV_CPU_X86)
      if (simd_)
        return cpu::make_fast_conv_kernel(*c, weight, bias, isa_, pool_, cpu::ConvTileKind::automatic, conv_workspace_);
#endif
      return std::unique_ptr<OpKernel>(new ReferenceConvKernel(*c, weight, bias));
    }
#if defined(UPCONV_CPU_X86)
    // The permutations also run (with SSE2) on a CPU without SSE4.1.
    const cpu::PermuteRowKernels rows = cpu::select_permute_row_kernels(simd_ ? cpu::isa_name(isa_) : "sse2");
    if (const auto* s = std::get_if<ShuffleDesc>(&desc)) return cpu::make_shuffle_kernel(*s, pool_, rows);
    if (std::holds_alternative<UnpoolDesc>(desc)) return cpu::make_unpool_kernel(pool_, rows);
    return cpu::make_resample_kernel(std::get<ResampleDesc>(desc), pool_, rows);
#else
    if (const auto* s = std::get_if<ShuffleDesc>(&desc))
      return std::unique_ptr<OpKernel>(new ReferenceShuffleKernel(*s));
    if (std::holds_alternative<UnpoolDesc>(desc)) return std::unique_ptr<OpKernel>(new ReferenceUnpoolKernel());
    return std::unique_ptr<OpKernel>(new ReferenceResampleKernel(std::get<ResampleDesc>(desc)));
#endif
  }

 private:
  std::shared_ptr<ThreadPool> pool_;
  bool simd_;     // x86 kernels compiled in and the CPU has SSE4.1
  cpu::Isa isa_;  // best available, or lower as UPCONV_CPU_ISA asks
#if defined(UPCONV_CPU_X86)
  // The conv kernels' per-run buffers, one set for all of this context's plans (see ConvWorkspace).
  std::shared_ptr<cpu::ConvWorkspace> conv_workspace_ = std::make_shared<cpu::ConvWorkspace>();
#endif
};

}  // namespace

std::unique_ptr<Backend> create_cpu_backend(std::shared_ptr<ThreadPool> pool) {
  return std::make_unique<CpuBackend>(std::move(pool));
}

}  // namespace upconv::detail
