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
  // Per chroma component (Cb, Cr): Qp'Cb / Qp'Cr - QpBdOffset of the chroma
  // TB covering the unit (Qp'CbCr - QpBdOffset for TuCResMode 2). When given,
  // QpC = ((QpQ + QpP + 1) >> 1) of these (8.8.3.6.x as the reference decoder
  // and FFmpeg compute it); when nullptr, QpC comes from qp_y through
  // chroma_qp_table and chroma_qp_offset (deblock_chroma_qp).
  const int8_t *qp_c[2] = {nullptr, nullptr};
  // kDeblockEdge* bits: luma TB/CB edges of the unit, and log2 of the width
  // and height of the luma transform block covering it.
  const uint8_t *luma_edge = nullptr;
  const uint8_t *luma_tb_w_log2 = nullptr, *luma_tb_h_log2 = nullptr;
  // The same for the chroma transform blocks covering the co-located chroma
  // samples, sizes in chroma samples; an edge bit means a chroma TB edge at
  // chroma x = 2ux (left) or y = 2uy (top).
  const uint8_t *chroma_edge = nullptr;
  const uint8_t *chroma_tb_w_log2 = nullptr, *chroma_tb_h_log2 = nullptr;
  // Nonzero where the unit lies in a CU with intra_bdpcm_luma_flag /
  // intra_bdpcm_chroma_flag (8.8.3.5: bS = 0 between two such blocks);
  // nullptr: no BDPCM.
  const uint8_t *luma_bdpcm = nullptr, *chroma_bdpcm = nullptr;
};

// Filters all vertical edges of the picture, then all horizontal edges.
void deblock_picture(Plane planes[3], const DeblockParams &p);

// The same for the edges whose Q side lies in the 4x4 luma units
// [ux0, ux1) x [uy0, uy1) only (luma and / or chroma edges): the edges of one
// block and its left and top boundaries, for the encoder's deblocking-aware
// decisions. The P side samples outside the range are read and modified.
void deblock_units(Plane planes[3], const DeblockParams &p, int ux0, int uy0, int ux1, int uy1, bool luma,
                   bool chroma);

// Encoder: the slice_{luma,cb,cr}_{beta,tc}_offset_div2 that deblocking
// needs for the least squared error against the source, per component,
// among -range..range each (range <= 6); the other fields of p as for
// deblock_picture(). rec, org: the picture before deblocking and the source
// (the SSE covers p.width x p.height luma samples). Each component is
// independent of the others' offsets, so one deblock_picture() per (beta, tc)
// pair serves all three; ties keep the smaller |offset|s, (0, 0) first.
struct DeblockOffsets {
  int beta_div2[3] = {0, 0, 0}, tc_div2[3] = {0, 0, 0};  // Y, Cb, Cr
  uint64_t sse[3] = {0, 0, 0};                           // after deblocking with them
};
DeblockOffsets deblock_choose_offsets(const Plane rec[3], const Plane org[3], const DeblockParams &p, int range);
// p with the offsets of o.
void deblock_set_offsets(DeblockParams &p, const DeblockOffsets &o);

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

}  // namespace pyvtm
