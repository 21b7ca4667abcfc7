// ISA detection and the UPCONV_CPU_ISA override.
#include "cpu/isa.hpp"

#include <cstdlib>

#if defined(UPCONV_CPU_X86)
#include <xsimd/xsimd.hpp>
#endif

namespace upconv::detail::cpu {

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::sse4_1: return "sse4_1";
    case Isa::avx2: return "avx2";
    case Isa::avx512f: return "avx512f";
  }
  return "unknown";
}

bool parse_isa(std::string_view name, Isa& out) {
  for (Isa isa : {Isa::sse4_1, Isa::avx2, Isa::avx512f})
    if (name == isa_name(isa)) {
      out = isa;
      return true;
    }
  return false;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
#if defined(UPCONV_CPU_X86)
  const auto arch = xsimd::available_architectures();
  if (arch.avx512f) isas.push_back(Isa::avx512f);
  if (arch.fma3_avx2) isas.push_back(Isa::avx2);
  if (arch.sse4_1) isas.push_back(Isa::sse4_1);
#endif
  return isas;
}

bool simd_kernels_available() { return !available_isas().empty(); }

Isa clamp_isa(Isa requested) {
  for (Isa isa : available_isas())  // best first
    if (isa <= requested) return isa;
  return Isa::sse4_1;
}

Isa default_isa() {
  const auto isas = available_isas();
  const Isa best = isas.empty() ? Isa::sse4_1 : isas.front();
  Isa forced;
  if (const char* env = std::getenv("UPCONV_CPU_ISA"); env && parse_isa(env, forced) && forced < best)
    return clamp_isa(forced);
  return best;
}

}  // namespace upconv::detail::cpu
