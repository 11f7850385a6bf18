#include "transform_tools.h"

#include "contexts.h"
#include "intra_pred.h"

namespace pyvtm {

void CuResidualState::add(const ResidualCodingInfo &tb) {
  lfnst_dc_only = lfnst_dc_only && tb.lfnst_dc_only;
  lfnst_zero_out_sig_coeff = lfnst_zero_out_sig_coeff && !tb.lfnst_zero_out_sig;
  mts_dc_only = mts_dc_only && tb.mts_dc_only;
  mts_zero_out_sig_coeff = mts_zero_out_sig_coeff && !tb.mts_zero_out_sig;
}

bool lfnst_idx_coded(const TransformTools &t, const CodingUnit &cu, const CuResidualState &r, int max_tb) {
  if (!t.lfnst || r.transform_skip || std::max(cu.w, cu.h) > max_tb) return false;
  // LfnstWidth / LfnstHeight: the chroma tree's in chroma samples, an ISP
  // CU's those of its sub-partitions.
  const int sh = cu.tree == DUAL_TREE_CHROMA ? 1 : 0;
  const bool isp = cu.tree != DUAL_TREE_CHROMA && cu.isp_split != ISP_NO_SPLIT;
  const int n = isp ? num_intra_subpartitions(cu.isp_split, cu.w, cu.h) : 1;
  const int lw = (cu.isp_split == ISP_VER_SPLIT && isp ? cu.w / n : cu.w) >> sh;
  const int lh = (cu.isp_split == ISP_HOR_SPLIT && isp ? cu.h / n : cu.h) >> sh;
  if (std::min(lw, lh) < 4) return false;
  // A MIP CU (luma or single tree) codes lfnst_idx only with both sides >= 16.
  if (cu.tree != DUAL_TREE_CHROMA && cu.intra_mip_flag && std::min(cu.w, cu.h) < 16) return false;
  return (isp || !r.lfnst_dc_only) && r.lfnst_zero_out_sig_coeff;
}

bool mts_idx_coded(const TransformTools &t, const CodingUnit &cu, const CuResidualState &r) {
  return t.mts && t.explicit_mts_intra && cu.tree != DUAL_TREE_CHROMA && cu.lfnst_idx == 0 && !r.luma_transform_skip &&
         std::max(cu.w, cu.h) <= 32 && cu.isp_split == ISP_NO_SPLIT && r.mts_zero_out_sig_coeff && !r.mts_dc_only;
}

void write_lfnst_idx(CabacWriter &w, ContextSet &cs, int lfnst_idx, TreeType tree) {
  w.encode_bin(cs.m[CTX_LFNST_IDX + (tree != SINGLE_TREE ? 1 : 0)], lfnst_idx > 0);
  if (lfnst_idx > 0) w.encode_bin(cs.m[CTX_LFNST_IDX + 2], lfnst_idx > 1);
}

int read_lfnst_idx(CabacReader &r, ContextSet &cs, TreeType tree) {
  if (!r.decode_bin(cs.m[CTX_LFNST_IDX + (tree != SINGLE_TREE ? 1 : 0)])) return 0;
  return 1 + r.decode_bin(cs.m[CTX_LFNST_IDX + 2]);
}

void write_mts_idx(CabacWriter &w, ContextSet &cs, int mts_idx) {
  for (int i = 0; i < 4; i++) {
    w.encode_bin(cs.m[CTX_MTS_IDX + i], mts_idx > i);
    if (mts_idx <= i) break;
  }
}

int read_mts_idx(CabacReader &r, ContextSet &cs) {
  int v = 0;
  while (v < 4 && r.decode_bin(cs.m[CTX_MTS_IDX + v])) v++;
  return v;
}

int lfnst_pred_mode(int mode, int log2w, int log2h, int cclm_luma_mode) {
  if (mode >= INTRA_LT_CCLM) mode = cclm_luma_mode;
  return wide_angle_mode(mode, log2w, log2h);
}

// 8.4.5.2.7 for a luma TB of an ISP CU: the wide-angle mapping of the CU's size.
static int isp_lfnst_pred_mode(const CodingUnit &cu) {
  return wide_angle_mode(cu.luma_mode, floor_log2(uint32_t(cu.w)), floor_log2(uint32_t(cu.h)));
}

void mts_tr_types(int mts_idx, int &tr_hor, int &tr_ver) {
  static const int kHor[5] = {0, 1, 2, 1, 2}, kVer[5] = {0, 1, 1, 2, 2};
  tr_hor = kHor[mts_idx];
  tr_ver = kVer[mts_idx];
}

TbResidualMode tb_residual_mode(const TransformTools &t, const CodingUnit &cu, int comp, int log2w, int log2h,
                                int cclm_luma_mode) {
  TbResidualMode m;
  // ApplyLfnstFlag: the luma TB, or the chroma TBs of the chroma tree.
  const bool lfnst = cu.lfnst_idx > 0 && (comp == 0) == (cu.tree != DUAL_TREE_CHROMA);
  const bool isp = comp == 0 && cu.isp_split != ISP_NO_SPLIT;
  if (lfnst) {
    m.lfnst_idx = cu.lfnst_idx;
    m.lfnst_pred_mode = isp ? isp_lfnst_pred_mode(cu)
                            : lfnst_pred_mode(comp ? cu.chroma_mode : cu.luma_mode, log2w, log2h, cclm_luma_mode);
  }
  if (comp != 0) return m;
  // 8.7.4.1: DCT-II in an ISP CU with lfnst_idx; otherwise ISP enables the
  // implicit MTS (DST-VII on sides of 4..16).
  if (isp && cu.lfnst_idx) return m;
  if (t.mts && (isp || (!t.explicit_mts_intra && cu.lfnst_idx == 0 && !cu.intra_mip_flag))) {
    // implicitMtsEnabled for intra CUs (ISP, or no LFNST and no MIP): DST-VII on sides of 4..16.
    m.tr_type_hor = log2w >= 2 && log2w <= 4 ? 1 : 0;
    m.tr_type_ver = log2h >= 2 && log2h <= 4 ? 1 : 0;
  } else {
    mts_tr_types(cu.mts_idx, m.tr_type_hor, m.tr_type_ver);
  }
  return m;
}

}  // namespace pyvtm
