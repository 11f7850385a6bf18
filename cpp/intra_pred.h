// Intra sample prediction (clause 8.4.5.2) for square blocks.
#pragma once
#include "common.h"

namespace pyvtm {

// Reference samples of one block of side N = 1 << log2n, in the layout
// top[0] = left[0] = p[-1][-1], top[1 + x] = p[x][-1], left[1 + y] = p[-1][y],
// for x, y = 0..2N-1 (plus two replicated samples past the end).
struct IntraRefs {
  Pel top[2 * 64 + 4];
  Pel left[2 * 64 + 4];
};

// Availability callback for reference samples: given a sample position of
// the component's plane, returns whether it is reconstructed and usable.
struct RefAvailability {
  const uint8_t *map;  // one byte per unit; nonzero = reconstructed
  int map_stride;      // units per row
  int unit_log2;       // log2 of the unit side in this component's samples
  int plane_width, plane_height;  // coded (padded) size in this component
  bool available(int x, int y) const {
    if (x < 0 || y < 0 || x >= plane_width || y >= plane_height) return false;
    return map[(y >> unit_log2) * map_stride + (x >> unit_log2)] != 0;
  }
};

// 8.4.5.2.8 / 8.4.5.2.9: reference sample availability marking and
// substitution for the block at (x0, y0) of side N.
void build_intra_refs(const Plane &rec, const RefAvailability &av, int x0, int y0, int log2n,
                      int bit_depth, IntraRefs &refs);

// 8.4.5.2.6 and children: predicts the N x N block with predModeIntra
// `mode` from unfiltered references (filtering is decided and applied
// here, 8.4.5.2.10..). dst has stride N.
void predict_intra(int mode, int log2n, bool is_luma, const IntraRefs &refs, int bit_depth, Pel *dst);

}  // namespace pyvtm
