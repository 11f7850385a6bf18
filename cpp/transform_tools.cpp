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
  // LfnstWidth / LfnstHeight (no ISP): the chroma tree's in chroma samples.
  const int sh = cu.tree == DUAL_TREE_CHROMA ? 1 : 0;
  if (std::min(cu.w, cu.h) >> sh < 4) return false;
  // A MIP CU (luma or single tree) codes lfnst_idx only with both sides >= 16.
  if (cu.tree != DUAL_TREE_CHROMA && cu.intra_mip_flag && std::min(cu.w, cu.h) < 16) return false;
  return !r.lfnst_dc_only && r.lfnst_zero_out_sig_coeff;
}

bool mts_idx_coded(const TransformTools &t, const CodingUnit &cu, const CuResidualState &r) {
  return t.mts && t.explicit_mts_intra && cu.tree != DUAL_TREE_CHROMA && cu.lfnst_idx == 0 && !r.luma_transform_skip &&
         std::max(cu.w, cu.h) <= 32 && r.mts_zero_out_sig_coeff && !r.mts_dc_only;
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
  if (lfnst) {
    m.lfnst_idx = cu.lfnst_idx;
    m.lfnst_pred_mode = lfnst_pred_mode(comp ? cu.chroma_mode : cu.luma_mode, log2w, log2h, cclm_luma_mode);
  }
  if (comp != 0) return m;
  if (t.mts && !t.explicit_mts_intra && cu.lfnst_idx == 0 && !cu.intra_mip_flag) {
    // implicitMtsEnabled for intra CUs without MIP: DST-VII on sides of 4..16.
    m.tr_type_hor = log2w >= 2 && log2w <= 4 ? 1 : 0;
    m.tr_type_ver = log2h >= 2 && log2h <= 4 ? 1 : 0;
  } else {
    mts_tr_types(cu.mts_idx, m.tr_type_hor, m.tr_type_ver);
  }
  return m;
}

}  // namespace pyvtm
