// Internal, pure C++ (no Vulkan headers): how each operator maps onto the compute shaders in
// shaders/ — weight packing at plan creation and the dispatches of one run. This is the contract
// between the shaders and the Vulkan runtime (runtime/vulkan/*): the runtime creates one
// pipeline per (shader, storage, specialization constants) and records the dispatches in order,
// with a compute->compute buffer barrier between consecutive ones.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/op_desc.hpp"
#include "runtime/vulkan/staged_loop.hpp"
#include "upconv/shaders.hpp"
#include "upconv/status.hpp"

namespace upconv::detail::vk {

/// Descriptor set 0, identical in every shader: five storage buffers and, at kWeightTexels and
/// kInputTexels, uniform texel buffers viewing the memory of kWeight and kInput; all bound in
/// every pipeline (the runtime binds a dummy buffer or view for the ones an op does not use).
enum Binding : uint32_t {
  kInput = 0,
  kWeight = 1,
  kBias = 2,
  kOutput = 3,
  kIndices = 4,
  kWeightTexels = 5,
  kInputTexels = 6
};

/// Maximum push-constant bytes any shader uses (the pipeline layout's single range).
inline constexpr uint32_t kPushConstantBytes = 128;

/// One specialization constant: 32 bits of int/uint/bool (0/1) or float bits.
struct SpecConstant {
  uint32_t id;
  uint32_t value;
};

/// One vkCmdDispatch. Spec constants 0,1,2 are always the workgroup size (local_size_*_id).
struct Dispatch {
  shaders::ShaderId shader = shaders::ShaderId::count;
  std::vector<SpecConstant> spec;
  std::array<uint8_t, kPushConstantBytes> push{};
  uint32_t push_size = 0;
  uint32_t groups[3] = {1, 1, 1};
  // Reads what the previous dispatch of the list wrote (a barrier goes between them); false for
  // the later parts of a launch split along z, which touch disjoint outputs.
  bool after_previous = true;
  // fp32 words of scratch memory the dispatch uses at binding kIndices (a conv split over input
  // channels: its partial sums); the runtime binds a buffer of the largest such count.
  uint64_t scratch_floats = 0;
};

/// The device limits the planner respects.
struct DeviceCaps {
  uint32_t max_workgroup_size[3] = {128, 128, 64};
  uint32_t max_workgroup_invocations = 128;
  uint32_t max_workgroup_count[3] = {65535, 65535, 65535};
  uint32_t max_shared_memory = 16384;
  uint32_t subgroup_size = 1;
  // Subgroup ballot (subgroupBroadcast) in compute shaders; without it the shaders are the
  // variants built without subgroup operations and lanes share no weight loads.
  bool subgroup_broadcast = false;
  bool fp16_storage = false;
  // Conv weights are read through the uniform texel buffer (binding kWeightTexels) instead of
  // the storage buffer: every lane fetches the weight it needs, no subgroup broadcast.
  bool weight_texels = false;
  // Inputs are read through a 4-channel uniform texel buffer view of the input (binding
  // kInputTexels): by the conv shaders where an invocation's input columns are consecutive
  // (every conv_transpose, conv with stride 1 along W), by pixel_shuffle's vec4 path.
  bool input_texels = false;
  // conv / conv_transpose stage input and weight tiles in shared memory (shaders/
  // conv_staged.glsl) wherever they fit max_shared_memory; texel reads, subgroup weight sharing
  // and vec4 stores are then off for those launches.
  bool shared_staging = false;
  // Lanes a staged conv launch aims for: where it would have fewer, its lanes take fewer output
  // positions each (down to 16 accumulators, or 4 positions for tiles of under 4 channels),
  // so that a GPU has enough lanes in flight to hide its latencies. 0 keeps the largest tiles.
  uint64_t staged_target_lanes = 0;
  // Staged launches still under staged_target_lanes at their smallest tiles split a group's
  // input channels over up to 16 workgroups per output block, whose partial sums a second pass
  // (shaders/conv_split_reduce.comp) adds with the bias and activation.
  bool split_reduction = false;
  // With split_reduction: split first, at the largest tiles, and shrink the positions per lane
  // only where 16 slices still leave the launch under staged_target_lanes (fewer shared-memory
  // reads and staging per multiply-add, at the cost of the partial sums' traffic).
  bool split_first = false;
  // Elements a lane of a staged launch loads per round while staging (all of a round's loads go
  // out before its stores to shared memory); the planner takes fewer where a tile needs fewer.
  uint32_t stage_batch = 8;
  // Most lanes of a staged workgroup (a power of two; the device's limits still apply).
  uint32_t staged_workgroup = 128;
  // Channel tiles a staged workgroup takes before its spatial block (a power of two): more
  // output channels per staged input tile, fewer positions per workgroup.
  uint32_t staged_co_first = 2;
  // How a staged workgroup walks its steps (shaders/conv_staged.glsl): stage in rounds, then
  // accumulate; or with the next step's tiles loaded into registers during the current step's
  // multiply-adds (where both tiles take at most 64 registers per lane, else in rounds).
  StagedLoop staged_loop = StagedLoop::prefetch;
  // max_unpool2d (Plan::run): every index lies in its own element's pooling window, as the
  // runtime checked while uploading them; with windows that tile the plane one gather pass
  // replaces the zero-fill / scatter / resolve passes.
  bool unpool_indices_in_window = false;
};

/// The float words to upload to binding kWeight for a conv/conv_transpose plan (weight in the
/// layout of ConvDesc). The layout is private to the shaders (see shaders/conv*.comp).
/// The tiles, and so the layout, depend on caps.shared_staging only.
std::vector<float> pack_weight(const ConvDesc& desc, const float* weight, const DeviceCaps& caps);

/// Number of floats pack_weight returns (the size of binding kWeight).
size_t packed_weight_count(const ConvDesc& desc, const DeviceCaps& caps);

/// Channels per texel of the weight view where DeviceCaps::weight_texels: 4 when every
/// invocation's weights of one (tap, ci) start at a multiple of 4 floats, else 1.
uint32_t weight_texel_channels(const ConvDesc& desc, const DeviceCaps& caps);

/// Whether max_unpool2d's windows tile the output's top-left (kernel == stride, no padding, an
/// output of at least in x kernel per axis: a smaller explicit size cuts the last windows, whose
/// flat indices would wrap into the next row), so that indices which all lie in their own
/// element's window make the one-pass gather exact (DeviceCaps::unpool_indices_in_window).
bool unpool_windows_tile(const MaxUnpool2dParams& params, const Dims4& in, const Dims4& out);

/// The dispatches of one run on input extents `in` producing `out`, in order. Extents are push
/// constants; what the plan fixes is a specialization constant, and so is the choice of a vector
/// path by row width (whole vec4s or not), so runs of one shape always take the same pipelines.
/// Fails with invalid_argument when a dimension exceeds what the shaders index with 32 bits or
/// the device's workgroup-count limits.
Result<std::vector<Dispatch>> plan_dispatches(const OpDesc& desc, const Dims4& in, const Dims4& out,
                                              const DeviceCaps& caps);

}  // namespace upconv::detail::vk
