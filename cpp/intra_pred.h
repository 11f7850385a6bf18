// Intra sample prediction (clause 8.4.5.2) for rectangular blocks, 4:2:0,
// luma reference lines 0..2 (MRL), ISP sub-partitions (predict_intra's isp);
// CCLM (8.4.5.2.14); MIP is in mip.h. Clause numbers as in the
// edition with 8.4.5.2.11 planar .. 8.4.5.2.15 PDPC.
#pragma once
#include "common.h"

namespace pyvtm {

// Chroma intra prediction modes of the cross-component linear model
// (Table 20): predModeIntra 81..83.
enum { INTRA_LT_CCLM = 81, INTRA_L_CCLM = 82, INTRA_T_CCLM = 83 };

// Reference samples of one W x H block on reference line refIdx
// (IntraLumaRefLineIdx, 0 for chroma) in the layout
// top[i] = p[-1 - refIdx + i][-1 - refIdx] for i = 0..2W + refIdx and
// left[i] = p[-1 - refIdx][-1 - refIdx + i] for i = 0..2H + refIdx
// (top[0] = left[0] = the corner; for refIdx 0: top[1 + x] = p[x][-1],
// left[1 + y] = p[-1][y]); build_intra_refs replicates the last sample of
// each array up to the end of the array.
struct IntraRefs {
  Pel top[2 * 128 + 8];
  Pel left[2 * 128 + 8];
  int ref_idx = 0;  // refIdx of 8.4.5.2.6: the line these samples come from
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
// substitution for the W x H block at (x0, y0) (refW = 2W, refH = 2H) on
// reference line ref_idx (0..2; luma only for ref_idx > 0).
// ref_w / ref_h > 0: other lengths (refW = nCbW + nTbW, refH = nCbH + nTbH for ISP).
void build_intra_refs(const Plane &rec, const RefAvailability &av, int x0, int y0, int log2w, int log2h,
                      int bit_depth, IntraRefs &refs, int ref_idx = 0, int ref_w = 0, int ref_h = 0);

// 8.4.5.2.7: wide-angle intra prediction mode mapping for a W x H block;
// returns the modified predModeIntra (-14..80).
int wide_angle_mode(int mode, int log2w, int log2h);

// 8.4.5.2.6 and children: predicts the W x H block (sides 4..64) with
// predModeIntra `mode` (0..66, mapped to wide angles here) of component
// c_idx from unfiltered references on line refs.ref_idx; reference
// filtering, the choice of interpolation filter and PDPC are decided here
// (with refIdx > 0: no filtering, cubic interpolation, no PDPC; planar is
// not allowed there). dst has stride W.
// isp: for a luma TB of an ISP CU (sides 1..64; the CU's size log2): the
// wide-angle mapping of the CU's size, no reference filtering, fC
// interpolation, refW = nCbW + nTbW / refH = nCbH + nTbH (refs must hold
// them: build_intra_refs with isp_ref_w / isp_ref_h).
struct IspPred {
  int log2_cb_w, log2_cb_h;
};
void predict_intra(int mode, int log2w, int log2h, int c_idx, const IntraRefs &refs, int bit_depth, Pel *dst,
                   const IspPred *isp = nullptr);

// 8.4.5.2.14: INTRA_LT_CCLM / INTRA_L_CCLM / INTRA_T_CCLM prediction of the
// W x H chroma block at chroma position (xc, yc) (4:2:0,
// sps_chroma_vertical_collocated_flag = 0). rec_luma is the reconstructed
// luma plane (twice the chroma size), rec_chroma the reconstructed plane of
// the chroma component being predicted; av_chroma marks the reconstructed
// chroma samples. log2_ctu_luma = CtbLog2SizeY. dst has stride W.
void predict_cclm(int mode, const Plane &rec_luma, const Plane &rec_chroma, const RefAvailability &av_chroma,
                  int xc, int yc, int log2w, int log2h, int log2_ctu_luma, int bit_depth, Pel *dst);

}  // namespace pyvtm
