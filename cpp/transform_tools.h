// Transform tool selection shared by the syntax walker, the decoder's
// reconstruction and the encoder's search: multiple transform selection
// (implicit MTS, explicit mts_idx) and the low-frequency non-separable
// transform (lfnst_idx): their SPS switches, the 7.3.11.5 conditions under
// which lfnst_idx / mts_idx are coded, the elements' CABAC syntax, and the
// 8.7.4.1 derivation of a TB's trTypeHor / trTypeVer / LFNST.
#pragma once
#include "cabac.h"
#include "coding_tree.h"
#include "recon.h"
#include "syntax.h"

namespace pyvtm {

// 7.3.11.5: lfnst_idx is coded (intra CU; an ISP CU by its sub-partitions' size; a MIP CU only
// with both sides >= 16).
bool lfnst_idx_coded(const TransformTools &t, const CodingUnit &cu, const CuResidualState &r, int max_tb);
// 7.3.11.5: mts_idx is coded (after lfnst_idx; needs cu.lfnst_idx == 0).
bool mts_idx_coded(const TransformTools &t, const CodingUnit &cu, const CuResidualState &r);

// lfnst_idx: TR cMax 2, bin 0 ctxInc = (treeType != SINGLE_TREE), bin 1 ctxInc 2 (9.3.4.2).
void write_lfnst_idx(CabacWriter &w, ContextSet &cs, int lfnst_idx, TreeType tree);
int read_lfnst_idx(CabacReader &r, ContextSet &cs, TreeType tree);
// mts_idx: TR cMax 4, bin i ctxInc i.
void write_mts_idx(CabacWriter &w, ContextSet &cs, int mts_idx);
int read_mts_idx(CabacReader &r, ContextSet &cs);

// predModeIntra of 8.7.4.1 for the LFNST of a TB of component comp coded
// with intra mode `mode` (IntraPredModeY / IntraPredModeC): a CCLM mode is
// replaced by cclm_luma_mode (IntraPredModeY at the TB centre), then the
// wide-angle mapping (8.4.5.2.7) for the TB's size.
int lfnst_pred_mode(int mode, int log2w, int log2h, int cclm_luma_mode);

// 8.7.4.1: trTypeHor / trTypeVer (implicit MTS or mts_idx) and the LFNST of
// the TB of component comp of cu (log2 sizes in that component's samples).
TbResidualMode tb_residual_mode(const TransformTools &t, const CodingUnit &cu, int comp, int log2w, int log2h,
                                int cclm_luma_mode);
// trTypeHor / trTypeVer of mts_idx (Table 39).
void mts_tr_types(int mts_idx, int &tr_hor, int &tr_ver);

}  // namespace pyvtm
