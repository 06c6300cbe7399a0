#pragma once
// Argument checks of unitrack::_rsm_backward (issue #16): the forward's (csrc/ops/rsm_args.h) plus the incoming
// gradient grad [N, M] of the points' dtype and device.
#include "ops/rsm_args.h"

namespace unitrack {

inline RsmOffsets rsm_backward_check_args(const Tensor& grad, const Tensor& track_points, const Tensor& track_sizes,
                                          const Tensor& det_points, const Tensor& det_sizes, double temperature,
                                          DeviceType device) {
  RsmOffsets o = rsm_check_args(track_points, track_sizes, det_points, det_sizes, temperature, device);
  check_defined(grad, "grad");
  check_dim(grad, "grad", 2, "[N, M]");
  check_same_dtype(grad, "grad", track_points, "track_points");
  check_same_device(grad, "grad", track_points, "track_points");
  UNITRACK_CHECK(grad.size(0) == track_sizes.size(0) && grad.size(1) == det_sizes.size(0), "grad must be [N, M] = [",
                 track_sizes.size(0), ", ", det_sizes.size(0), "] (tracks x detections), got shape ", shape_str(grad));
  return o;
}

}  // namespace unitrack
