// CABAC syntax of the coding tree, coding unit, transform unit and
// residual coding (7.3.11.x) with the context selection of 9.3.4.2.
// The same functions serve the real writer and the encoder's rate
// estimation (CabacWriter in estimate mode). Each write_X has its read_X
// (decoder) beside it; both take their context indices and binarisation
// constants from derive.h.
#pragma once
#include <cstdint>

#include "cabac.h"

namespace pyvtm {

// intra_luma_mpm_flag / intra_luma_not_planar_flag / intra_luma_mpm_idx /
// intra_luma_mpm_remainder for `mode` given the 6-entry candidate list
// (entry 0 is INTRA_PLANAR).
void write_intra_luma_mode(CabacWriter &w, ContextSet &cs, int mode, const int mpm[6]);
int read_intra_luma_mode(CabacReader &r, ContextSet &cs, const int mpm[6]);  // returns the mode

// intra_chroma_pred_mode (0..4, 4 = DM): the syntax after cclm_mode_flag = 0
// (coding_tree.cpp codes the CCLM part).
void write_intra_chroma_pred_mode(CabacWriter &w, ContextSet &cs, int value);
int read_intra_chroma_pred_mode(CabacReader &r, ContextSet &cs);

void write_tu_y_coded_flag(CabacWriter &w, ContextSet &cs, int flag);
void write_tu_cb_coded_flag(CabacWriter &w, ContextSet &cs, int flag);
void write_tu_cr_coded_flag(CabacWriter &w, ContextSet &cs, int flag, int cb_flag);
int read_tu_y_coded_flag(CabacReader &r, ContextSet &cs);
int read_tu_cb_coded_flag(CabacReader &r, ContextSet &cs);
int read_tu_cr_coded_flag(CabacReader &r, ContextSet &cs, int cb_flag);
// tu_joint_cbcr_residual_flag, context by the TU's chroma coded flags (9.3.4.2).
void write_tu_joint_cbcr_residual_flag(CabacWriter &w, ContextSet &cs, int flag, int cb_flag, int cr_flag);
int read_tu_joint_cbcr_residual_flag(CabacReader &r, ContextSet &cs, int cb_flag, int cr_flag);

// Switches of one residual_coding() call (slice header and TB level).
struct ResidualCodingParams {
  bool dep_quant = false;    // sh_dep_quant_used_flag: state-dependent contexts (9.3.4.2.8), no sign hiding
  bool sign_hiding = false;  // sh_sign_data_hiding_used_flag (only when !dep_quant)
};

// Variables residual_coding() derives that later syntax reads (7.3.11.5:
// the lfnst_idx / mts_idx conditions). Filled by writer and reader alike.
struct ResidualCodingInfo {
  int last_x = 0, last_y = 0;  // LastSignificantCoeffX / Y
  bool lfnst_dc_only = true;         // LfnstDcOnly contribution of this TB
  bool lfnst_zero_out_sig = false;   // LfnstZeroOutSigCoeffFlag cleared (a coefficient outside the LFNST region)
  bool mts_zero_out_sig = false;     // MtsZeroOutSigCoeffFlag cleared (a coefficient outside the 16x16 region)
  bool mts_dc_only = true;           // MtsDcOnly contribution (luma: only the DC coefficient)
};

// The ResidualCodingInfo of a TB from its last position in scan order
// (lastSubBlock, lastScanPos); mts_zero_out_sig is left to the caller.
void residual_info_from_last(int last_sub_block, int last_scan_pos, int log2w, int log2h, int c_idx,
                             ResidualCodingInfo &info);

// SPS switches of MTS and LFNST (7.4.3.4); transform_tools.h derives from them.
struct TransformTools {
  bool mts = false;                 // sps_mts_enabled_flag
  bool explicit_mts_intra = false;  // sps_explicit_mts_intra_enabled_flag (inter flag written 0)
  bool lfnst = false;               // sps_lfnst_enabled_flag
};

// The variables residual_coding() sets for the CU's later syntax
// (7.3.11.5 / 7.3.11.11), accumulated over the CU's TBs.
struct CuResidualState {
  bool lfnst_dc_only = true;           // LfnstDcOnly
  bool lfnst_zero_out_sig_coeff = true;  // LfnstZeroOutSigCoeffFlag
  bool mts_dc_only = true;             // MtsDcOnly
  bool mts_zero_out_sig_coeff = true;  // MtsZeroOutSigCoeffFlag
  bool transform_skip = false;         // a coded TB with transform_skip_flag
  void add(const ResidualCodingInfo &tb);
};

// Number of coeff_sign_flag values that sign data hiding leaves out of
// residual_coding() of these TransCoeffLevel values (0 unless p.sign_hiding
// and !p.dep_quant).
int count_hidden_signs(const int32_t *levels, int log2w, int log2h, const ResidualCodingParams &p);

// residual_coding() (7.3.11.11) of a W x H TB, W = 1 << log2w and
// H = 1 << log2h in {4, ..., 64}, whose levels are given in raster order with
// stride W; levels outside the top-left Min(W, 32) x Min(H, 32) zero-out
// region are ignored (they must be zero). At least one level inside the
// region must be nonzero.
void write_residual_coding(CabacWriter &w, ContextSet &cs, const int32_t *levels, int log2w, int log2h,
                           int c_idx, const ResidualCodingParams &p = {}, ResidualCodingInfo *info = nullptr);
// Reads residual_coding() of a W x H TB into levels (raster, stride W, all
// W x H entries written). Throws DecodeError on levels outside the 16-bit
// range of TransCoeffLevel.
void read_residual_coding(CabacReader &r, ContextSet &cs, int log2w, int log2h, int c_idx, int32_t *levels,
                          const ResidualCodingParams &p = {}, ResidualCodingInfo *info = nullptr);

}  // namespace pyvtm
