// Context variables of the syntax elements we code (clause 9.3.2.2,
// Tables 51..) with their initValue and shiftIdx for I slices (initType 0).
#pragma once
#include <cstdint>

namespace pyvtm {

// Offsets of each syntax element's contexts inside one flat array.
enum CtxOffset : uint16_t {
  CTX_SPLIT_CU_FLAG = 0,                             // 9
  CTX_SPLIT_QT_FLAG = CTX_SPLIT_CU_FLAG + 9,         // 6
  CTX_INTRA_LUMA_MPM_FLAG = CTX_SPLIT_QT_FLAG + 6,   // 1
  CTX_INTRA_LUMA_NOT_PLANAR_FLAG = CTX_INTRA_LUMA_MPM_FLAG + 1,  // 2
  CTX_INTRA_CHROMA_PRED_MODE = CTX_INTRA_LUMA_NOT_PLANAR_FLAG + 2,  // 1
  CTX_TU_Y_CODED_FLAG = CTX_INTRA_CHROMA_PRED_MODE + 1,  // 4
  CTX_TU_CB_CODED_FLAG = CTX_TU_Y_CODED_FLAG + 4,        // 2
  CTX_TU_CR_CODED_FLAG = CTX_TU_CB_CODED_FLAG + 2,       // 3
  CTX_LAST_X_PREFIX = CTX_TU_CR_CODED_FLAG + 3,          // 23 (20 luma + 3 chroma)
  CTX_LAST_Y_PREFIX = CTX_LAST_X_PREFIX + 23,            // 23
  CTX_SB_CODED_FLAG = CTX_LAST_Y_PREFIX + 23,            // 4 (2 luma + 2 chroma)
  CTX_SIG_COEFF_FLAG = CTX_SB_CODED_FLAG + 4,            // 60: luma 3 x 12, chroma 3 x 8 (QState sets)
  CTX_PAR_LEVEL_FLAG = CTX_SIG_COEFF_FLAG + 60,          // 32 (21 luma + 11 chroma)
  CTX_ABS_LEVEL_GT1_FLAG = CTX_PAR_LEVEL_FLAG + 32,      // 32: abs_level_gtx_flag[][0]
  CTX_ABS_LEVEL_GT3_FLAG = CTX_ABS_LEVEL_GT1_FLAG + 32,  // 32: abs_level_gtx_flag[][1]
  CTX_MTT_SPLIT_CU_VERTICAL_FLAG = CTX_ABS_LEVEL_GT3_FLAG + 32,  // 5
  CTX_MTT_SPLIT_CU_BINARY_FLAG = CTX_MTT_SPLIT_CU_VERTICAL_FLAG + 5,  // 4
  CTX_CCLM_MODE_FLAG = CTX_MTT_SPLIT_CU_BINARY_FLAG + 4,  // 1
  CTX_CCLM_MODE_IDX = CTX_CCLM_MODE_FLAG + 1,            // 1 (first bin; second bin bypass)
  CTX_SAO_MERGE_FLAG = CTX_CCLM_MODE_IDX + 1,            // 1: sao_merge_left_flag and sao_merge_up_flag
  CTX_SAO_TYPE_IDX = CTX_SAO_MERGE_FLAG + 1,             // 1: first bin of sao_type_idx_luma / _chroma
  CTX_TU_JOINT_CBCR_RESIDUAL_FLAG = CTX_SAO_TYPE_IDX + 1,  // 3
  CTX_LFNST_IDX = CTX_TU_JOINT_CBCR_RESIDUAL_FLAG + 3,                 // 3 (bin 0: SINGLE_TREE / not, bin 1)
  CTX_MTS_IDX = CTX_LFNST_IDX + 3,                       // 4 (one per bin)
  CTX_ALF_CTB_FLAG = CTX_MTS_IDX + 4,  // 9: cIdx * 3 + left + above
  CTX_ALF_USE_APS_FLAG = CTX_ALF_CTB_FLAG + 9,           // 1
  CTX_ALF_CTB_CC_IDC = CTX_ALF_USE_APS_FLAG + 1,         // 6: Cb 3, Cr 3 (first bin)
  CTX_ALF_CTB_FILTER_ALT_IDX = CTX_ALF_CTB_CC_IDC + 6,   // 2: per chroma component
  // Transform skip and BDPCM (7.3.11.5, 7.3.11.10, 7.3.11.12).
  CTX_TRANSFORM_SKIP_FLAG = CTX_ALF_CTB_FILTER_ALT_IDX + 2,  // 2 (luma, chroma)
  CTX_INTRA_BDPCM_LUMA_FLAG = CTX_TRANSFORM_SKIP_FLAG + 2,   // 1
  CTX_INTRA_BDPCM_LUMA_DIR_FLAG = CTX_INTRA_BDPCM_LUMA_FLAG + 1,      // 1
  CTX_INTRA_BDPCM_CHROMA_FLAG = CTX_INTRA_BDPCM_LUMA_DIR_FLAG + 1,    // 1
  CTX_INTRA_BDPCM_CHROMA_DIR_FLAG = CTX_INTRA_BDPCM_CHROMA_FLAG + 1,  // 1
  CTX_TS_SB_CODED_FLAG = CTX_INTRA_BDPCM_CHROMA_DIR_FLAG + 1,  // 3: sb_coded_flag of residual_ts_coding()
  CTX_TS_SIG_COEFF_FLAG = CTX_TS_SB_CODED_FLAG + 3,            // 3
  CTX_TS_PAR_LEVEL_FLAG = CTX_TS_SIG_COEFF_FLAG + 3,           // 1
  CTX_TS_ABS_LEVEL_GTX_FLAG = CTX_TS_PAR_LEVEL_FLAG + 1,       // 8: [0] 0..2, [0] with BDPCM 3, [j] 3 + j
  CTX_TS_COEFF_SIGN_FLAG = CTX_TS_ABS_LEVEL_GTX_FLAG + 8,      // 6: 0..2, with BDPCM 3..5
  CTX_INTRA_LUMA_REF_IDX = CTX_TS_COEFF_SIGN_FLAG + 6,       // 2: ctxInc = binIdx (MRL)
  // Matrix-based intra prediction (7.3.11.5).
  CTX_INTRA_MIP_FLAG = CTX_INTRA_LUMA_REF_IDX + 2,  // 4: left + above MIP neighbours (0..2), 3 for w > 2h or h > 2w
  // Intra sub-partitions (7.3.11.5).
  CTX_INTRA_SUBPARTITIONS_MODE_FLAG = CTX_INTRA_MIP_FLAG + 4,          // 1
  CTX_INTRA_SUBPARTITIONS_SPLIT_FLAG = CTX_INTRA_SUBPARTITIONS_MODE_FLAG + 1,  // 1
  CTX_NUM = CTX_INTRA_SUBPARTITIONS_SPLIT_FLAG + 1
};

struct ContextInit {
  uint8_t init_value;
  uint8_t shift_idx;
};
extern const ContextInit g_context_init_i_slice[CTX_NUM];

}  // namespace pyvtm
