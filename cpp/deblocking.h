// Deblocking filter process (clause 8.8.3) for intra pictures: every
// transform and coding block edge is an intra edge (bS = 2).
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace pyvtm {

// What the filter needs to know about the coded picture, on the 4x4 luma grid.
struct DeblockParams {
  int width = 0, height = 0;  // coded luma size (multiple of 8)
  int log2_ctu = 7;
  int qp_y = 32;              // QpY of every CU (no cu_qp_delta)
  int qp_c = 32;              // QpC of the chroma components (identity table, no offsets)
  int bit_depth = 10;
  int beta_offset_div2 = 0, tc_offset_div2 = 0;
  int map_stride = 0;  // units per row (width / 4)
  // Per 4x4 luma unit: log2 of the side of the luma transform block covering
  // it, and log2 of the side (in chroma samples) of the chroma transform
  // block covering the co-located chroma samples. Blocks are square and
  // aligned to their size, so an edge lies where a block starts.
  const uint8_t *luma_tb_log2 = nullptr;
  const uint8_t *chroma_tb_log2 = nullptr;
};

// Filters all vertical edges of the picture, then all horizontal edges.
void deblock_picture(Plane planes[3], const DeblockParams &p);

}  // namespace pyvtm
