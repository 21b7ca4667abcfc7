// Internal: which SIMD instruction set the CPU conv kernels run with. Detected once with
// xsimd's cpuid, capped by UPCONV_CPU_ISA or by an explicit choice (tests run every ISA).
#pragma once

#include <string_view>
#include <vector>

namespace upconv::detail::cpu {

/// The ISAs with a kernel translation unit, lowest first (cpu/arch/*_<isa>.cpp).
enum class Isa { sse4_1, avx2, avx512f };

/// xsimd-style name: "sse4_1", "avx2" (AVX2 + FMA3), "avx512f".
const char* isa_name(Isa isa) noexcept;

/// The ISAs this build has kernels for and this CPU can run, best first.
std::vector<Isa> available_isas();

/// True when x86 kernels are compiled in and the CPU has at least SSE4.1; otherwise the backend
/// uses the reference kernels.
bool simd_kernels_available();

/// The best available ISA, lowered to UPCONV_CPU_ISA when that names a lower one. An unknown or
/// unavailable name leaves the best ISA.
Isa default_isa();

/// `requested` if available, else the best available ISA below it (sse4_1 at worst).
Isa clamp_isa(Isa requested);

/// Parses "sse4_1" | "avx2" | "avx512f"; false for anything else.
bool parse_isa(std::string_view name, Isa& out);

}  // namespace upconv::detail::cpu
