// Deblocking filter process (clause 8.8.3) for intra pictures: every
// transform and coding block edge is an intra edge (bS = 2).
//
// Blocks may be rectangular and of any size (multi-type tree), and luma and
// chroma may have separate block structures (dual tree): the caller describes
// the picture on the 4x4 luma grid with per-unit maps (DeblockParams).
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace pyvtm {

// Bits of DeblockParams::luma_edge / chroma_edge.
enum : uint8_t {
  kDeblockEdgeLeft = 1,  // a transform/coding block edge on the unit's left side (vertical edge)
  kDeblockEdgeTop = 2,   // ... on the unit's top side (horizontal edge)
};

// What the filter needs to know about the coded picture, on the 4x4 luma grid.
// All maps have map_stride entries per row and height / 4 rows; entry
// (ux, uy) describes the luma samples [4ux, 4ux+3] x [4uy, 4uy+3] and the
// co-located chroma samples [2ux, 2ux+1] x [2uy, 2uy+1] (4:2:0).
struct DeblockParams {
  int width = 0, height = 0;  // coded luma size (multiple of 8)
  int log2_ctu = 7;           // CtbLog2SizeY
  int bit_depth = 10;
  // slice_{luma,cb,cr}_{beta,tc}_offset_div2.
  int beta_offset_div2 = 0, tc_offset_div2 = 0;
  int chroma_beta_offset_div2[2] = {0, 0}, chroma_tc_offset_div2[2] = {0, 0};
  // cQpPicOffset of 8.8.3.6.x: pps_cb_qp_offset, pps_cr_qp_offset.
  int chroma_qp_offset[2] = {0, 0};
  // ChromaQpTable[0] / [1] (7.4.3.4), indexed by qPi + QpBdOffset for
  // qPi = -QpBdOffset..63; nullptr: the identity table.
  const int *chroma_qp_table[2] = {nullptr, nullptr};
  int map_stride = 0;  // 4x4 luma units per row of every map (>= width / 4)
  const int8_t *qp_y = nullptr;  // QpY of the luma CU covering the unit
  // kDeblockEdge* bits: luma TB/CB edges of the unit, and log2 of the width
  // and height of the luma transform block covering it.
  const uint8_t *luma_edge = nullptr;
  const uint8_t *luma_tb_w_log2 = nullptr, *luma_tb_h_log2 = nullptr;
  // The same for the chroma transform blocks covering the co-located chroma
  // samples, sizes in chroma samples; an edge bit means a chroma TB edge at
  // chroma x = 2ux (left) or y = 2uy (top).
  const uint8_t *chroma_edge = nullptr;
  const uint8_t *chroma_tb_w_log2 = nullptr, *chroma_tb_h_log2 = nullptr;
};

// Filters all vertical edges of the picture, then all horizontal edges.
void deblock_picture(Plane planes[3], const DeblockParams &p);

// maxFilterLengthP / maxFilterLengthQ of one edge segment.
struct FilterLengths {
  int p, q;
};

// 8.8.3.3, luma: from the sizes of the P and Q transform blocks perpendicular
// to the edge (widths for a vertical edge, heights for a horizontal one).
FilterLengths luma_max_filter_length(int size_p, int size_q);

// 8.8.3.3 / 8.8.3.6.x, chroma (sizes in chroma samples): 3 when both sides
// are at least 8, else 1; P limited to 1 on a horizontal CTU boundary.
FilterLengths chroma_max_filter_length(int size_p, int size_q, bool hor_ctu_boundary);

// 8.8.3.6.x: QpC of a chroma edge of component comp (1: Cb, 2: Cr) between
// CUs with QpY qp_p and qp_q.
int deblock_chroma_qp(const DeblockParams &p, int comp, int qp_p, int qp_q);

// Owning per-unit maps; attach() points a DeblockParams at them.
struct DeblockMaps {
  int map_stride = 0;
  std::vector<int8_t> qp_y;
  std::vector<uint8_t> luma_edge, luma_tb_w_log2, luma_tb_h_log2;
  std::vector<uint8_t> chroma_edge, chroma_tb_w_log2, chroma_tb_h_log2;
  void attach(DeblockParams &p) const;
};

// Maps of a layout of square transform blocks aligned to their size, given
// per 4x4 luma unit as log2 of the side of the luma TB and of the chroma TB
// (in chroma samples), with one QpY for the whole picture: an edge lies where
// a block starts.
DeblockMaps square_block_maps(int width, int height, int map_stride, const uint8_t *luma_tb_log2,
                              const uint8_t *chroma_tb_log2, int qp_y);

// The former square-block interface: one QpY and one QpC for the picture,
// chroma using the luma beta/tc offsets.
struct DeblockSquareParams {
  int width = 0, height = 0;
  int log2_ctu = 7;
  int qp_y = 32;  // QpY of every CU
  int qp_c = 32;  // QpC of both chroma components
  int bit_depth = 10;
  int beta_offset_div2 = 0, tc_offset_div2 = 0;
  int map_stride = 0;
  const uint8_t *luma_tb_log2 = nullptr;
  const uint8_t *chroma_tb_log2 = nullptr;
};

inline void deblock_picture(Plane planes[3], const DeblockSquareParams &s) {
  DeblockParams p;
  p.width = s.width;
  p.height = s.height;
  p.log2_ctu = s.log2_ctu;
  p.bit_depth = s.bit_depth;
  p.beta_offset_div2 = s.beta_offset_div2;
  p.tc_offset_div2 = s.tc_offset_div2;
  for (int i = 0; i < 2; i++) {
    p.chroma_beta_offset_div2[i] = s.beta_offset_div2;
    p.chroma_tc_offset_div2[i] = s.tc_offset_div2;
    p.chroma_qp_offset[i] = s.qp_c - s.qp_y;  // identity table: QpC = QpY + offset
  }
  const DeblockMaps maps = square_block_maps(s.width, s.height, s.map_stride, s.luma_tb_log2, s.chroma_tb_log2, s.qp_y);
  maps.attach(p);
  deblock_picture(planes, p);
}

}  // namespace pyvtm
