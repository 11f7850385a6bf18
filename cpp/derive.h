// Derivation processes shared by the syntax WRITER (syntax.cpp, encoder.cpp)
// and the syntax READER (syntax.cpp read_*, slice_parser.cpp): context index
// selection of clause 9.3.4.2, the Rice parameter of 9.3.3.11, the MPM list
// of 8.4.2 and the chroma mode of 8.4.3. Writer and reader call the same
// functions, so the two sides cannot drift apart: change a derivation here
// and both follow.
#pragma once
#include <algorithm>
#include <cstdint>

#include "common.h"

namespace pyvtm {

// ---------------------------------------------------------------------------
// 8.4.2: candModeList from the two neighbour candidates, as a 6-entry list
// whose entry 0 is INTRA_PLANAR (the entry selected by
// intra_luma_not_planar_flag = 0); entries 1..5 are candModeList[0..4].
inline void mpm_list_from_candidates(int cand_a, int cand_b, int mpm[6]) {
  auto wrap = [](int m) { return (m - 2 + 64) % 64 + 2; };  // 2 + ((m - 2 + 64) % 64)
  mpm[0] = INTRA_PLANAR;
  const int mn = std::min(cand_a, cand_b), mx = std::max(cand_a, cand_b);
  if (mx <= INTRA_DC) {
    mpm[1] = INTRA_DC; mpm[2] = INTRA_ANGULAR50; mpm[3] = INTRA_ANGULAR18; mpm[4] = 46; mpm[5] = 54;
  } else if (cand_a == cand_b || mn <= INTRA_DC) {
    mpm[1] = mx; mpm[2] = wrap(mx - 1); mpm[3] = wrap(mx + 1); mpm[4] = wrap(mx - 2); mpm[5] = wrap(mx + 2);
  } else {
    mpm[1] = cand_a; mpm[2] = cand_b;
    if (mx - mn == 1) { mpm[3] = wrap(mn - 1); mpm[4] = wrap(mx + 1); mpm[5] = wrap(mn - 2); }
    else if (mx - mn >= 62) { mpm[3] = wrap(mn + 1); mpm[4] = wrap(mx - 1); mpm[5] = wrap(mn + 2); }
    else if (mx - mn == 2) { mpm[3] = wrap(mn + 1); mpm[4] = wrap(mn - 1); mpm[5] = wrap(mx + 1); }
    else { mpm[3] = wrap(mn - 1); mpm[4] = wrap(mn + 1); mpm[5] = wrap(mx - 1); }
  }
}

// 8.4.2 in full for the luma CU at (x_cb, y_cb) of cb_width x cb_height.
// mode_at(x, y) returns IntraPredModeY of the CU covering luma sample (x, y)
// when that CU is available (6.4.4: inside the picture, same slice/tile,
// already decoded) and intra coded without MIP, else -1. The above
// neighbour is only used inside the current CTU row.
template <class ModeAt>
inline void derive_mpm_list(int x_cb, int y_cb, int cb_width, int cb_height, int log2_ctb, const ModeAt &mode_at,
                            int mpm[6]) {
  int cand_a = mode_at(x_cb - 1, y_cb + cb_height - 1);
  int cand_b = -1;
  if (y_cb - 1 >= ((y_cb >> log2_ctb) << log2_ctb)) cand_b = mode_at(x_cb + cb_width - 1, y_cb - 1);
  mpm_list_from_candidates(cand_a < 0 ? INTRA_PLANAR : cand_a, cand_b < 0 ? INTRA_PLANAR : cand_b, mpm);
}

// 7.3.11.5: intra_luma_ref_idx is coded when sps_mrl_enabled_flag and the
// CU is not on the first row of its CTU ((y0 % CtbSizeY) > 0); else 0.
// IntraLumaRefLineIdx equals intra_luma_ref_idx (Table 16: 0, 1, 2).
inline bool intra_luma_ref_idx_coded(bool sps_mrl, int y_cb, int log2_ctb) {
  return sps_mrl && (y_cb & ((1 << log2_ctb) - 1)) > 0;
}

// 9.3.4.2.2: ctxInc of intra_mip_flag: 3 for a CB with cbWidth > 2 * cbHeight
// or cbHeight > 2 * cbWidth, else the number of available left / above
// neighbours (x0 - 1, y0) / (x0, y0 - 1) coded with intra_mip_flag.
inline int intra_mip_flag_ctx_inc(int cb_w, int cb_h, bool mip_left, bool mip_above) {
  if (cb_w > 2 * cb_h || cb_h > 2 * cb_w) return 3;
  return int(mip_left) + int(mip_above);
}

// intra_luma_mpm_remainder <-> IntraPredModeY (8.4.2, last step): the
// remainder counts the modes that are not in the 6-entry list.
inline int mpm_remainder_from_mode(int mode, const int mpm[6]) {
  int rem = mode;
  for (int i = 0; i < 6; i++)
    if (mode > mpm[i]) rem--;
  return rem;
}
inline int mode_from_mpm_remainder(int rem, const int mpm[6]) {
  int sorted[6];
  std::copy(mpm, mpm + 6, sorted);
  std::sort(sorted, sorted + 6);
  int mode = rem;
  for (int i = 0; i < 6; i++)
    if (mode >= sorted[i]) mode++;
  return mode;
}
// TB binarisation (9.3.3.4) of intra_luma_mpm_remainder: cMax = 60, so
// n = 61, k = 5, u = 3.
constexpr int kMpmRemainderTbK = 5, kMpmRemainderTbU = 3;

// ---------------------------------------------------------------------------
// 8.4.3 (4:2:0, no CCLM): IntraPredModeC from intra_chroma_pred_mode (0..4,
// 4 = DM) and the luma mode at the centre of the chroma CU.
inline int chroma_intra_mode(int intra_chroma_pred_mode, int luma_mode) {
  static const int kModes[4] = {INTRA_PLANAR, INTRA_ANGULAR50, INTRA_ANGULAR18, INTRA_DC};
  if (intra_chroma_pred_mode == 4) return luma_mode;
  const int m = kModes[intra_chroma_pred_mode];
  return m == luma_mode ? INTRA_ANGULAR66 : m;
}

// ---------------------------------------------------------------------------
// Residual coding (7.3.11.11).

// 9.3.4.2.4: last_sig_coeff_{x,y}_prefix ctxInc = ctx_offset + (binIdx >> ctx_shift),
// with log2_tb_size = log2TbWidth for the x prefix and log2TbHeight for the y prefix.
inline void last_sig_coeff_prefix_ctx(int log2_tb_size, int c_idx, int &ctx_offset, int &ctx_shift) {
  static const uint8_t kOffsetY[7] = {0, 0, 0, 3, 6, 10, 15};  // offsetY[log2TbSize - 1]
  if (c_idx == 0) {
    ctx_offset = kOffsetY[log2_tb_size];
    ctx_shift = (log2_tb_size + 1) >> 2;
  } else {
    ctx_offset = 20;
    ctx_shift = clip3(0, 2, (1 << log2_tb_size) >> 3);
  }
}
// cMax of the prefix (TR binarisation), from the zero-out size Min(log2TbSize, 5).
inline int last_sig_coeff_prefix_cmax(int log2_zo_tb_size) { return (log2_zo_tb_size << 1) - 1; }
// Number of bypass bins of last_sig_coeff_{x,y}_suffix for a prefix value.
inline int last_sig_coeff_suffix_len(int prefix) { return prefix > 3 ? (prefix >> 1) - 1 : 0; }

// 9.3.4.2.5 (regular residual coding): sb_coded_flag ctxInc from
// csbfCtx = sb_coded_flag of the right | below subblocks (those inside the
// sub-block grid of the zero-out region).
inline int sb_coded_flag_ctx_inc(int csbf_right_or_below, int c_idx) {
  return std::min(csbf_right_or_below, 1) + (c_idx ? 2 : 0);
}

// 7.3.11.11: log2ZoTbWidth / log2ZoTbHeight without SBT, MTS or LFNST:
// Min(log2TbWidth, 5), Min(log2TbHeight, 5). Only that top-left region of a
// 64-long dimension carries coefficients and is scanned.
inline int log2_zo_tb_size(int log2_tb_size) { return std::min(log2_tb_size, 5); }

// Template of 9.3.4.2.8 / 9.3.3.11: the neighbours (x+1, y), (x+2, y),
// (x+1, y+1), (x, y+1), (x, y+2) inside the coded region of w x h
// (positions outside are 0). abs_lv holds absolute levels, stride w.
// AbsLevelPass1 of a level a is Min(4 + (a & 1), a): the same value whether
// abs_lv holds pass-1 values (reader, during pass 1) or final levels.
inline void residual_template_pass1(const int *abs_lv, int w, int h, int x, int y, int &loc_sum_abs_pass1,
                                    int &num_sig_coeff) {
  int s = 0, n = 0;
  auto add = [&](int xx, int yy) {
    if (xx < w && yy < h) {
      const int v = abs_lv[yy * w + xx];
      s += std::min(4 + (v & 1), v);
      n += v != 0;
    }
  };
  add(x + 1, y); add(x + 2, y); add(x + 1, y + 1); add(x, y + 1); add(x, y + 2);
  loc_sum_abs_pass1 = s;
  num_sig_coeff = n;
}
inline int residual_template_sum_abs(const int *abs_lv, int w, int h, int x, int y) {
  int s = 0;
  if (x + 1 < w) s += abs_lv[y * w + x + 1];
  if (x + 2 < w) s += abs_lv[y * w + x + 2];
  if (x + 1 < w && y + 1 < h) s += abs_lv[(y + 1) * w + x + 1];
  if (y + 1 < h) s += abs_lv[(y + 1) * w + x];
  if (y + 2 < h) s += abs_lv[(y + 2) * w + x];
  return s;
}
// Square forms (coded region side x side).
inline void residual_template_pass1(const int *abs_lv, int side, int x, int y, int &loc_sum_abs_pass1,
                                    int &num_sig_coeff) {
  residual_template_pass1(abs_lv, side, side, x, y, loc_sum_abs_pass1, num_sig_coeff);
}
inline int residual_template_sum_abs(const int *abs_lv, int side, int x, int y) {
  return residual_template_sum_abs(abs_lv, side, side, x, y);
}

// 9.3.4.2.8: sig_coeff_flag ctxInc; the context set follows QState (0 when
// dependent quantisation is off): luma 12 * Max(0, QState - 1) + ..,
// chroma 36 + 8 * Max(0, QState - 1) + .. of CTX_SIG_COEFF_FLAG.
inline int sig_coeff_flag_ctx_inc(int loc_sum_abs_pass1, int x, int y, int c_idx, int qstate = 0) {
  const int d = x + y;
  const int base = std::min((loc_sum_abs_pass1 + 1) >> 1, 3);
  const int set = std::max(0, qstate - 1);
  if (c_idx == 0) return 12 * set + base + (d < 2 ? 8 : (d < 5 ? 4 : 0));
  return 36 + 8 * set + base + (d < 2 ? 4 : 0);
}

// 7.3.11.11 QStateTransTable[QState][AbsLevel & 1] of dependent quantisation.
inline int qstate_next(int qstate, int abs_level) {
  static const uint8_t kQStateTransTable[4][2] = {{0, 2}, {2, 0}, {1, 3}, {3, 1}};
  return kQStateTransTable[qstate][abs_level & 1];
}

// 9.3.4.2.9: ctxInc of abs_level_gtx_flag[][0], par_level_flag and
// abs_level_gtx_flag[][1] (the same for the three): luma 0..20, chroma 21..31.
inline int gtx_ctx_inc(bool is_last, int loc_sum_abs_pass1, int num_sig_coeff, int x, int y, int c_idx) {
  if (is_last) return c_idx == 0 ? 0 : 21;
  const int d = x + y;
  const int off = std::min(loc_sum_abs_pass1 - num_sig_coeff, 4);
  if (c_idx == 0) return 1 + off + (d == 0 ? 15 : (d < 3 ? 10 : (d < 10 ? 5 : 0)));
  return 22 + off + (d == 0 ? 5 : 0);
}

// 9.3.3.11: cRiceParam from locSumAbs of the template and baseLevel (4 for
// abs_remainder, 0 for dec_abs_level).
inline int rice_param(int loc_sum_abs, int base_level) {
  static const uint8_t kRiceParFromSum[32] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2,
                                              2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3};
  return kRiceParFromSum[clip3(0, 31, loc_sum_abs - 5 * base_level)];
}
// ZeroPos of dec_abs_level (7.4.12.11): (QState < 2 ? 1 : 2) << cRiceParam.
inline int dec_abs_level_zero_pos(int rice, int qstate = 0) { return (qstate < 2 ? 1 : 2) << rice; }

// Binarisation of abs_remainder / dec_abs_level (9.3.3.11 with the limited
// EGk suffix of 9.3.3.6, log2TransformRange = 15): unary prefix up to
// kRiceCutoff ones is a plain Rice code; beyond it an escape with at most
// kRiceMaxPrefixExt further ones and, at that maximum, a 15-bit suffix.
constexpr int kRiceCutoff = 5;
constexpr int kLog2TransformRange = 15;
constexpr int kRiceMaxPrefixExt = 32 - kRiceCutoff - kLog2TransformRange;  // 12

// ---------------------------------------------------------------------------
// residual_ts_coding() (7.3.11.12) contexts (9.3.4.2.x, transform skip
// branches) and the level prediction of 7.4.11.12. Arguments are the
// sig_coeff_flag / CoeffSignLevel / sb_coded_flag of the left and above
// neighbours (0 outside the TB).
inline int ts_sb_coded_flag_ctx_inc(int left, int above) { return left + above; }
inline int ts_sig_coeff_flag_ctx_inc(int left_sig, int above_sig) { return left_sig + above_sig; }
// abs_level_gtx_flag[n][0]; [n][j] for j = 1..4 is ts_gtx_ctx_inc(j).
inline int ts_gt1_ctx_inc(bool bdpcm, int left_sig, int above_sig) { return bdpcm ? 3 : left_sig + above_sig; }
inline int ts_gtx_ctx_inc(int j) { return 3 + j; }
// coeff_sign_flag from the signs (-1, 0, 1) of the left / above levels.
inline int ts_coeff_sign_flag_ctx_inc(int left_sign, int above_sign, bool bdpcm) {
  int c;
  if (left_sign == -above_sign) c = 0;
  else if (left_sign >= 0 && above_sign >= 0) c = 1;
  else c = 2;
  return c + (bdpcm ? 3 : 0);
}
// cRiceParam of abs_remainder in residual_ts_coding(): sh_ts_residual_coding_rice_idx_minus1 + 1
// (no range extension: 1).
constexpr int kTsRiceParam = 1;
// 7.4.11.12 level prediction (BdpcmFlag 0, positions n <= lastScanPosPass1):
// the coded AbsLevel -> the level, with predCoeff = Max(|left|, |above|) of
// the final levels; and its inverse for the writer.
inline int ts_level_from_coded(int coded, int pred) {
  if (coded == 1 && pred > 0) return pred;
  if (coded > 0 && coded <= pred) return coded - 1;
  return coded;
}
inline int ts_level_to_coded(int level, int pred) {
  if (pred == 0 || level == 0 || level > pred) return level;
  return level == pred ? 1 : level + 1;
}

}  // namespace pyvtm
