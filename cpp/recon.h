// Block reconstruction shared by the decoder and the encoder's search:
// intra prediction of one transform block (regular modes or CCLM) and the
// residual path (8.7.2 scaling, 8.7.4 inverse transform, 8.7.5 picture
// construction).
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"
#include "deblocking.h"
#include "intra_pred.h"

namespace pyvtm {

// Per-component reconstruction state of a picture: the planes and which
// samples are reconstructed (reference availability, 6.4.4 / 8.4.5.2.8).
struct ReconPicture {
  Plane plane[3];
  int width = 0, height = 0;  // luma coded size
  int bit_depth = 10;
  int log2_ctu = 7;
  int map_stride = 0;  // 4x4 luma units per row
  std::vector<uint8_t> done[2];  // [0]: luma per 4x4; [1]: chroma per 2x2 chroma samples (same grid)

  void init(int w, int h, int bd, int log2_ctu_size);
  RefAvailability availability(int comp) const;
  // Marks the block (component samples) reconstructed / not reconstructed.
  void mark(int comp, int x, int y, int w, int h, uint8_t v);
};

// Transform block edges and sizes per 4x4 luma unit, for the deblocking
// filter (8.8.3): [0] luma TBs, [1] chroma TBs (sizes in chroma samples).
struct TbEdgeMaps {
  int stride = 0;
  std::vector<uint8_t> edge[2];          // bit0: TB edge on the unit's left side, bit1: on its top side
  std::vector<uint8_t> tb_w_log2[2], tb_h_log2[2];
  std::vector<int8_t> qp_y;  // QpY of the luma CU (one per picture: no cu_qp_delta)
  std::vector<uint8_t> bdpcm[2];  // intra_bdpcm_luma_flag / intra_bdpcm_chroma_flag of the CU covering the unit
  // Qp'Cb / Qp'Cr - QpBdOffset of the chroma TB per unit (DeblockParams::qp_c),
  // filled by mark_record_edges once set_chroma_qps gave the picture's values.
  std::vector<int8_t> qp_c[2];
  int qp_c_value[3] = {0, 0, 0};  // Qp'Cb, Qp'Cr, Qp'CbCr - QpBdOffset
  void init(int w, int h, int slice_qp_y);
  void set_chroma_qps(int qp_cb, int qp_cr, int qp_cbcr);
  // The TB covering luma area (x, y, w, h); log2w/log2h in the component's samples.
  void mark(int ch, int x, int y, int w, int h, int log2w, int log2h);
};

struct CtuRecord;
// Marks the luma and chroma TBs of a CTU's record (every CU edge is a TB edge).
void mark_record_edges(TbEdgeMaps &e, const CtuRecord &rec);

// Points the deblocking parameters' per-unit maps at e (which must outlive p).
void attach_edge_maps(const TbEdgeMaps &e, DeblockParams &p);

// Prediction of the TB of component comp at (x, y) of 2^log2w x 2^log2h
// samples of that component with IntraPredModeY/C `mode` (0..66 or CCLM
// 81..83). dst has stride 2^log2w.
// bdpcm: the TB of a BDPCM CU (mode 18 or 50 without PDPC, 8.4.5.2.6).
// ref_idx: IntraLumaRefLineIdx of the CU (luma only; 0 for chroma).
void predict_tb(const ReconPicture &pic, int comp, int mode, int x, int y, int log2w, int log2h, Pel *dst,
                bool bdpcm = false, int ref_idx = 0);
// MIP prediction (8.4.5.2.2) of the luma TB at (x, y) with intra_mip_mode
// `mode` and intra_mip_transposed_flag `transposed` (unfiltered references of
// 8.4.5.2.8 / 8.4.5.2.9). dst has stride 2^log2w.
void predict_mip_tb(const ReconPicture &pic, int mode, bool transposed, int x, int y, int log2w, int log2h, Pel *dst);
// 8.4.5.1: the luma prediction of sub-partition k (x, y, w x h) of an ISP CU
// of cb_w x cb_h with IntraPredModeY mode (8.4.5.2 with the ISP rules of
// predict_intra). Sub-partitions of a vertical split narrower than 4 are
// predicted as one 4-wide block (nPbW = 4) with the first of each group of
// 4 / w, kept in pb (4 * h samples) for the following ones. dst: stride w.
void predict_isp_subpartition(const ReconPicture &pic, int mode, int cb_w, int cb_h, int isp_split, int k, int x, int y,
                              int w, int h, Pel *dst, Pel *pb);
// BDPCM prediction from unfiltered references: a copy of the left column
// (bdpcm_dir 1, INTRA_ANGULAR18) or the top row (2, INTRA_ANGULAR50).
void predict_bdpcm(int bdpcm_dir, int log2w, int log2h, const IntraRefs &refs, Pel *dst);

// How a TB's levels become its residual (8.7.2 - 8.7.4), beyond DCT-II with
// plain scalar dequantisation. Default: DCT-II both ways, no tool.
struct TbResidualMode {
  bool dep_quant = false;                 // dependent quantisation (8.7.3, sh_dep_quant_used_flag)
  int tr_type_hor = 0, tr_type_ver = 0;   // trTypeHor/Ver (8.7.4.1): 0 DCT-II, 1 DST-VII, 2 DCT-VIII
  int lfnst_idx = 0;                      // lfnst_idx of the CU (8.7.4.2), 0: off
  int lfnst_pred_mode = 0;                // predModeIntra for the LFNST set / transposition (after the
                                          // CCLM substitution and wide-angle mapping: lfnst_pred_mode())
  bool transform_skip = false;            // transform_skip_flag (8.7.4.x residual = scaled coefficients)
  int bdpcm_dir = 0;                      // 0: off, 1: horizontal, 2: vertical (BdpcmFlag / BdpcmDir)
  int joint_cbcr = 0;                     // TuCResMode (0: off, 1..3) for the chroma residual pair
  int qp_prime_ts_min = 4;                // QpPrimeTsMin (7.4.3.4) for transform-skip TBs
  int joint_cbcr_sign = 0;                // ph_joint_cbcr_sign_flag (CSign = 1 - 2 * flag)
  int chroma_scale = 0;                   // LMCS varScale of a chroma TB (8.7.5.3), 0: no scaling
};

// 8.7.3 / 8.7.2 residual of a transform-skip TB: BDPCM accumulation of the
// levels (bdpcm_dir 1: along rows, 2: along columns, clipped to 16 bits),
// scaling with max(qp, QpPrimeTsMin), rectNonTsFlag 0, bdShift 10; the
// scaled coefficients are the residual.
void ts_residual(const int32_t *levels, int log2w, int log2h, int qp, const TbResidualMode &mode, int32_t *resid);

// The residual of one TB from its levels: scaling (8.7.3) and inverse
// transform (8.7.4) as `mode` says; resid has stride 2^log2w.
void tb_residual(const int32_t *levels, int log2w, int log2h, int qp, int bit_depth, const TbResidualMode &mode,
                 int32_t *resid);
// 8.7.5 picture construction: pred + resid clipped to the sample range
// (resid nullptr: the prediction), written into the picture and marked
// reconstructed.
void construct_tb(ReconPicture &pic, int comp, int x, int y, int log2w, int log2h, const Pel *pred,
                  const int32_t *resid);
// Scaling + inverse transform of the levels, added to pred and written into
// the picture (clipped); without levels (nullptr) the prediction is copied.
void reconstruct_tb(ReconPicture &pic, int comp, int x, int y, int log2w, int log2h, const Pel *pred,
                    const int32_t *levels, int qp, const TbResidualMode &mode = {});

// 8.7.2, joint Cb-Cr residual: resCb and resCr (n samples each) from the
// residual res of the one coded TB, TuCResMode 1..3, CSign = +-1:
//   1: resCb = res, resCr = (CSign * res) >> 1
//   2: resCb = res, resCr = CSign * res
//   3: resCr = res, resCb = (CSign * res) >> 1
void joint_cbcr_residuals(const int32_t *res, int n, int tu_cres_mode, int c_sign, int32_t *res_cb, int32_t *res_cr);
// Both chroma TBs of a TU with tu_joint_cbcr_residual_flag: levels of the
// coded TB (Cb for TuCResMode 1 and 2, Cr for 3) dequantised with qp (its qP
// of 8.7.1: Qp'Cb, Qp'CbCr or Qp'Cr), mode.joint_cbcr = TuCResMode,
// mode.joint_cbcr_sign = ph_joint_cbcr_sign_flag; (x, y) in chroma samples.
void reconstruct_joint_cbcr(ReconPicture &pic, int x, int y, int log2w, int log2h, const Pel *pred_cb,
                            const Pel *pred_cr, const int32_t *levels, int qp, const TbResidualMode &mode);

}  // namespace pyvtm
