// CABAC syntax of the coding tree, coding unit, transform unit and
// residual coding (7.3.11.x) with the context selection of 9.3.4.2.
// The same functions serve the real writer and the encoder's rate
// estimation (CabacWriter in estimate mode). Each write_X has its read_X
// (decoder) beside it; both take their context indices and binarisation
// constants from derive.h.
#pragma once
#include <cstdint>

#include "cabac.h"
#include "contexts.h"

namespace pyvtm {

// intra_luma_mpm_flag / intra_luma_not_planar_flag / intra_luma_mpm_idx /
// intra_luma_mpm_remainder for `mode` given the 6-entry candidate list
// (entry 0 is INTRA_PLANAR). With intra_luma_ref_idx != 0 (7.3.11.5) only
// intra_luma_mpm_idx is coded (intra_luma_mpm_flag and
// intra_luma_not_planar_flag inferred 1): the mode is one of mpm[1..5].
// not_planar_ctx: ctxInc of intra_luma_not_planar_flag,
// !intra_subpartitions_mode_flag (9.3.4.2).
void write_intra_luma_mode(CabacWriter &w, ContextSet &cs, int mode, const int mpm[6], int ref_idx = 0,
                           int not_planar_ctx = 1);
int read_intra_luma_mode(CabacReader &r, ContextSet &cs, const int mpm[6], int ref_idx = 0,
                         int not_planar_ctx = 1);  // returns the mode
// intra_luma_ref_idx (0..2): TR, cMax = 2, ctxInc = binIdx (9.3.4.2).
void write_intra_luma_ref_idx(CabacWriter &w, ContextSet &cs, int ref_idx);
int read_intra_luma_ref_idx(CabacReader &r, ContextSet &cs);
// intra_mip_flag (context CTX_INTRA_MIP_FLAG + ctx_inc, intra_mip_flag_ctx_inc() of
// derive.h) and, when set, intra_mip_transposed_flag (bypass) and intra_mip_mode
// (TB binarisation, bypass, cMax = num_modes - 1: mip_num_modes()) (7.3.11.5).
void write_intra_mip(CabacWriter &w, ContextSet &cs, int ctx_inc, int flag, int transposed, int mode, int num_modes);
void read_intra_mip(CabacReader &r, ContextSet &cs, int ctx_inc, int num_modes, uint8_t &flag, uint8_t &transposed,
                    int &mode);

// intra_subpartitions_mode_flag and, when 1, intra_subpartitions_split_flag
// of IntraSubPartitionsSplitType isp_split (0 none, 1 horizontal, 2 vertical).
void write_intra_subpartitions(CabacWriter &w, ContextSet &cs, int isp_split);
int read_intra_subpartitions(CabacReader &r, ContextSet &cs);  // returns IntraSubPartitionsSplitType
// ctxInc of tu_y_coded_flag (9.3.4.2): 1 with BDPCM, 0 without ISP, else
// 2 + tu_y_coded_flag of the previous sub-partition (0 for the first).
inline int tu_y_coded_flag_ctx(bool bdpcm, int isp_split, int prev_tu_cbf_y) {
  return CTX_TU_Y_CODED_FLAG + (bdpcm ? 1 : isp_split ? 2 + prev_tu_cbf_y : 0);
}

// intra_chroma_pred_mode (0..4, 4 = DM): the syntax after cclm_mode_flag = 0
// (coding_tree.cpp codes the CCLM part).
void write_intra_chroma_pred_mode(CabacWriter &w, ContextSet &cs, int value);
int read_intra_chroma_pred_mode(CabacReader &r, ContextSet &cs);

// bdpcm: intra_bdpcm_luma_flag (Y) / intra_bdpcm_chroma_flag (Cb, Cr) of the CU (9.3.4.2: ctxInc 1 / 1 / 2).
void write_tu_y_coded_flag(CabacWriter &w, ContextSet &cs, int flag, bool bdpcm = false);
void write_tu_cb_coded_flag(CabacWriter &w, ContextSet &cs, int flag, bool bdpcm = false);
void write_tu_cr_coded_flag(CabacWriter &w, ContextSet &cs, int flag, int cb_flag, bool bdpcm = false);
int read_tu_y_coded_flag(CabacReader &r, ContextSet &cs, bool bdpcm = false);
int read_tu_cb_coded_flag(CabacReader &r, ContextSet &cs, bool bdpcm = false);
int read_tu_cr_coded_flag(CabacReader &r, ContextSet &cs, int cb_flag, bool bdpcm = false);
// Context index of the coded flag of component comp (cb_flag: tu_cb_coded_flag, for Cr).
inline int tu_coded_flag_ctx(int comp, int cb_flag, bool bdpcm) {
  if (comp == 0) return CTX_TU_Y_CODED_FLAG + (bdpcm ? 1 : 0);
  if (comp == 1) return CTX_TU_CB_CODED_FLAG + (bdpcm ? 1 : 0);
  return CTX_TU_CR_CODED_FLAG + (bdpcm ? 2 : (cb_flag ? 1 : 0));
}
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
// The ResidualCodingInfo write_residual_coding() gives for these levels
// (regular residual coding), without coding them.
void residual_coding_info(const int32_t *levels, int log2w, int log2h, int c_idx, ResidualCodingInfo &info);

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
  bool transform_skip = false;         // a coded TB with transform_skip_flag (lfnstNotTsFlag = 0)
  bool luma_transform_skip = false;    // transform_skip_flag[x0][y0][0] (no mts_idx, 7.3.11.5)
  void add(const ResidualCodingInfo &tb);
  // A coded TB of component c with transform_skip_flag (its residual adds nothing else).
  void set_transform_skip(int c) {
    transform_skip = true;
    if (c == 0) luma_transform_skip = true;
  }
};

// Number of coeff_sign_flag values that sign data hiding leaves out of
// residual_coding() of these TransCoeffLevel values (0 unless p.sign_hiding
// and !p.dep_quant).
int count_hidden_signs(const int32_t *levels, int log2w, int log2h, const ResidualCodingParams &p);
// Encoder: makes every hidden sign of these levels match the parity of its
// subblock by moving the magnitude of the subblock's last significant level
// by one (towards zero when above 1), so the first / last significant
// positions stay (any TB shape, e.g. the narrow ones of ISP).
void fix_hidden_sign_parity(int32_t *levels, int log2w, int log2h, const ResidualCodingParams &p);

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

// residual_ts_coding() (7.3.11.12) of a W x H transform-skip TB (sides 4..32)
// whose TransCoeffLevel values are given in raster order with stride W; at
// least one must be nonzero. bdpcm: BdpcmFlag of the TB's component (no
// level prediction, BDPCM sign / gtx contexts). The writer maps each level
// to the coded AbsLevel inverse of the level prediction of 7.4.11.12
// (ts_level_to_coded), the reader applies the prediction.
void write_residual_ts_coding(CabacWriter &w, ContextSet &cs, const int32_t *levels, int log2w, int log2h,
                              bool bdpcm);
// Throws DecodeError on levels outside the 16-bit range of TransCoeffLevel.
void read_residual_ts_coding(CabacReader &r, ContextSet &cs, int log2w, int log2h, bool bdpcm, int32_t *levels);

// transform_skip_flag (ctxInc 0 luma, 1 chroma).
void write_transform_skip_flag(CabacWriter &w, ContextSet &cs, int c_idx, int flag);
int read_transform_skip_flag(CabacReader &r, ContextSet &cs, int c_idx);

// intra_bdpcm_{luma,chroma}_flag and, when set, intra_bdpcm_{luma,chroma}_dir_flag (ch 0: luma, 1: chroma).
void write_intra_bdpcm(CabacWriter &w, ContextSet &cs, int ch, int flag, int dir);
void read_intra_bdpcm(CabacReader &r, ContextSet &cs, int ch, uint8_t &flag, uint8_t &dir);

}  // namespace pyvtm
