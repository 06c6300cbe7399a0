#pragma once
// Argument checks of unitrack::rsm, shared by the CPU kernel (csrc/cpu/rsm.cpp) and the CUDA launcher
// (csrc/cuda/rsm_cuda.cpp): points [sum P, C] / [sum Q, C] float, sizes [N] / [M] int64 summing to the rows.
#include "common/checks.h"

namespace unitrack {

struct RsmOffsets {
  std::vector<int64_t> toff, doff;  // N + 1 and M + 1 offsets into the point rows
};

// Sizes are read on the host (a CUDA sizes tensor is copied); CPU kernels require CPU sizes.
inline std::vector<int64_t> rsm_offsets(const Tensor& sizes, const char* name, const Tensor& points,
                                        const char* points_name, DeviceType device) {
  check_defined(sizes, name);
  UNITRACK_CHECK(sizes.scalar_type() == kLong, name, " must be an int64 tensor [N], got ",
                 dtype_name(sizes.scalar_type()));
  UNITRACK_CHECK(sizes.dim() == 1, name, " must be a 1-D tensor [N], got shape ", shape_str(sizes));
  if (device == DeviceType::CPU) {
    check_device(sizes, name, DeviceType::CPU);
  } else {
    UNITRACK_CHECK(sizes.is_cpu() || sizes.is_cuda(), name, " must be a CPU or CUDA tensor, got one on ",
                   device_str(sizes));
  }
  Tensor s = sizes.is_cpu()
                 ? torch::stable::contiguous(sizes)
                 : torch::stable::contiguous(torch::stable::to(sizes, torch::stable::Device(DeviceType::CPU)));
  return offsets_from_sizes(s.const_data_ptr<int64_t>(), s.size(0), points.size(0), name, points_name);
}

inline RsmOffsets rsm_check_args(const Tensor& track_points, const Tensor& track_sizes, const Tensor& det_points,
                                 const Tensor& det_sizes, double temperature, DeviceType device) {
  check_defined(track_points, "track_points");
  check_defined(det_points, "det_points");
  check_dim(track_points, "track_points", 2, "[sum P, C]");
  check_feature_dtype(track_points, "track_points", device);
  check_device(track_points, "track_points", device);
  check_dim(det_points, "det_points", 2, "[sum Q, C]");
  check_same_dtype(track_points, "track_points", det_points, "det_points");
  check_same_device(det_points, "det_points", track_points, "track_points");
  UNITRACK_CHECK(track_points.size(1) == det_points.size(1), "det_points has ", det_points.size(1),
                 " channels but track_points has ", track_points.size(1), ": feature sets must share C");
  check_temperature(temperature, track_points.scalar_type());
  RsmOffsets o;
  o.toff = rsm_offsets(track_sizes, "track_sizes", track_points, "track_points", device);
  o.doff = rsm_offsets(det_sizes, "det_sizes", det_points, "det_points", device);
  // The affinity [sum P, sum Q] and the output [N, M] must be addressable.
  checked_mul(track_points.size(0), det_points.size(0), "the affinity sum P * sum Q");
  checked_mul(track_sizes.size(0), det_sizes.size(0), "the output N * M");
  return o;
}

}  // namespace unitrack
