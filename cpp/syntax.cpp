#include "syntax.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "api.h"

#include "common.h"
#include "derive.h"
#include "tables.h"

namespace pyvtm {

void write_intra_subpartitions(CabacWriter &w, ContextSet &cs, int isp_split) {
  w.encode_bin(cs.m[CTX_INTRA_SUBPARTITIONS_MODE_FLAG], isp_split != 0);
  if (isp_split) w.encode_bin(cs.m[CTX_INTRA_SUBPARTITIONS_SPLIT_FLAG], isp_split - 1);
}

int read_intra_subpartitions(CabacReader &r, ContextSet &cs) {
  if (!r.decode_bin(cs.m[CTX_INTRA_SUBPARTITIONS_MODE_FLAG])) return 0;
  return 1 + r.decode_bin(cs.m[CTX_INTRA_SUBPARTITIONS_SPLIT_FLAG]);
}

void write_intra_luma_mode(CabacWriter &w, ContextSet &cs, int mode, const int mpm[6], int ref_idx, int not_planar_ctx) {
  int idx = -1;
  for (int i = 0; i < 6; i++)
    if (mpm[i] == mode) idx = i;
  if (ref_idx && idx <= 0)
    throw std::logic_error("intra_luma_ref_idx > 0 with a mode that is not in candModeList (or planar)");
  if (!ref_idx) w.encode_bin(cs.m[CTX_INTRA_LUMA_MPM_FLAG], idx >= 0);
  if (idx >= 0) {
    // intra_luma_not_planar_flag, ctxInc = !intra_subpartitions_mode_flag
    if (!ref_idx) w.encode_bin(cs.m[CTX_INTRA_LUMA_NOT_PLANAR_FLAG + not_planar_ctx], idx > 0);
    if (idx > 0) {
      // intra_luma_mpm_idx = idx - 1: TR, cMax = 4, bypass
      const int v = idx - 1;
      for (int i = 0; i < 4; i++) {
        const int bin = v > i;
        w.encode_bypass(bin);
        if (!bin) break;
      }
    }
  } else {
    // 8.4.2 inverse: remainder over the 61 non-MPM modes, TB with cMax = 60.
    const int rem = mpm_remainder_from_mode(mode, mpm);
    // TB binarisation (9.3.3.4) with n = 61: k = 5, u = 3.
    if (rem < kMpmRemainderTbU) w.encode_bypass_bins(uint32_t(rem), kMpmRemainderTbK);
    else w.encode_bypass_bins(uint32_t(rem + kMpmRemainderTbU), kMpmRemainderTbK + 1);
  }
}

int read_intra_luma_mode(CabacReader &r, ContextSet &cs, const int mpm[6], int ref_idx, int not_planar_ctx) {
  if (ref_idx || r.decode_bin(cs.m[CTX_INTRA_LUMA_MPM_FLAG])) {
    if (!ref_idx && !r.decode_bin(cs.m[CTX_INTRA_LUMA_NOT_PLANAR_FLAG + not_planar_ctx])) return mpm[0];
    int idx = 0;  // intra_luma_mpm_idx: TR, cMax = 4, bypass
    while (idx < 4 && r.decode_bypass()) idx++;
    return mpm[1 + idx];
  }
  int rem = int(r.decode_bypass_bins(kMpmRemainderTbK));
  if (rem >= kMpmRemainderTbU) rem = ((rem << 1) | r.decode_bypass()) - kMpmRemainderTbU;
  return mode_from_mpm_remainder(rem, mpm);
}

void write_intra_luma_ref_idx(CabacWriter &w, ContextSet &cs, int ref_idx) {
  w.encode_bin(cs.m[CTX_INTRA_LUMA_REF_IDX], ref_idx > 0);
  if (ref_idx > 0) w.encode_bin(cs.m[CTX_INTRA_LUMA_REF_IDX + 1], ref_idx > 1);
}

int read_intra_luma_ref_idx(CabacReader &r, ContextSet &cs) {
  if (!r.decode_bin(cs.m[CTX_INTRA_LUMA_REF_IDX])) return 0;
  return r.decode_bin(cs.m[CTX_INTRA_LUMA_REF_IDX + 1]) ? 2 : 1;
}

void write_intra_mip(CabacWriter &w, ContextSet &cs, int ctx_inc, int flag, int transposed, int mode, int num_modes) {
  w.encode_bin(cs.m[CTX_INTRA_MIP_FLAG + ctx_inc], flag);
  if (!flag) return;
  w.encode_bypass(transposed);
  // TB binarisation (9.3.3.4) with n = num_modes: k = Floor(Log2(n)), u = 2^(k + 1) - n.
  const int k = floor_log2(uint32_t(num_modes)), u = (1 << (k + 1)) - num_modes;
  if (mode < u) w.encode_bypass_bins(uint32_t(mode), k);
  else w.encode_bypass_bins(uint32_t(mode + u), k + 1);
}

void read_intra_mip(CabacReader &r, ContextSet &cs, int ctx_inc, int num_modes, uint8_t &flag, uint8_t &transposed,
                    int &mode) {
  flag = uint8_t(r.decode_bin(cs.m[CTX_INTRA_MIP_FLAG + ctx_inc]));
  transposed = 0;
  mode = 0;
  if (!flag) return;
  transposed = uint8_t(r.decode_bypass());
  const int k = floor_log2(uint32_t(num_modes)), u = (1 << (k + 1)) - num_modes;
  mode = int(r.decode_bypass_bins(k));
  if (mode >= u) mode = ((mode << 1) | r.decode_bypass()) - u;
}

void write_intra_chroma_pred_mode(CabacWriter &w, ContextSet &cs, int value) {
  // Table 127 with sps_cclm_enabled_flag = 0: 4 -> "0", 0..3 -> "1" + FL(2).
  if (value == 4) {
    w.encode_bin(cs.m[CTX_INTRA_CHROMA_PRED_MODE], 0);
  } else {
    w.encode_bin(cs.m[CTX_INTRA_CHROMA_PRED_MODE], 1);
    w.encode_bypass_bins(uint32_t(value), 2);
  }
}

int read_intra_chroma_pred_mode(CabacReader &r, ContextSet &cs) {
  if (!r.decode_bin(cs.m[CTX_INTRA_CHROMA_PRED_MODE])) return 4;
  return int(r.decode_bypass_bins(2));
}

void write_tu_y_coded_flag(CabacWriter &w, ContextSet &cs, int flag, bool bdpcm) {
  w.encode_bin(cs.m[tu_coded_flag_ctx(0, 0, bdpcm)], flag);
}
void write_tu_cb_coded_flag(CabacWriter &w, ContextSet &cs, int flag, bool bdpcm) {
  w.encode_bin(cs.m[tu_coded_flag_ctx(1, 0, bdpcm)], flag);
}
void write_tu_cr_coded_flag(CabacWriter &w, ContextSet &cs, int flag, int cb_flag, bool bdpcm) {
  w.encode_bin(cs.m[tu_coded_flag_ctx(2, cb_flag, bdpcm)], flag);
}

int read_tu_y_coded_flag(CabacReader &r, ContextSet &cs, bool bdpcm) {
  return r.decode_bin(cs.m[tu_coded_flag_ctx(0, 0, bdpcm)]);
}
int read_tu_cb_coded_flag(CabacReader &r, ContextSet &cs, bool bdpcm) {
  return r.decode_bin(cs.m[tu_coded_flag_ctx(1, 0, bdpcm)]);
}
int read_tu_cr_coded_flag(CabacReader &r, ContextSet &cs, int cb_flag, bool bdpcm) {
  return r.decode_bin(cs.m[tu_coded_flag_ctx(2, cb_flag, bdpcm)]);
}

void write_tu_joint_cbcr_residual_flag(CabacWriter &w, ContextSet &cs, int flag, int cb_flag, int cr_flag) {
  w.encode_bin(cs.m[CTX_TU_JOINT_CBCR_RESIDUAL_FLAG + 2 * (cb_flag ? 1 : 0) + (cr_flag ? 1 : 0) - 1], flag);
}
int read_tu_joint_cbcr_residual_flag(CabacReader &r, ContextSet &cs, int cb_flag, int cr_flag) {
  return r.decode_bin(cs.m[CTX_TU_JOINT_CBCR_RESIDUAL_FLAG + 2 * (cb_flag ? 1 : 0) + (cr_flag ? 1 : 0) - 1]);
}

// 9.3.3.11 / 9.3.3.12: the Rice-Golomb binarisation of abs_remainder and
// dec_abs_level with the prefix limited to 5 + escape (maxLog2TrDynamicRange 15).
static void write_rice_golomb(CabacWriter &w, uint32_t value, int rice) {
  const uint32_t cutoff = kRiceCutoff;
  const uint32_t threshold = cutoff << rice;
  if (value < threshold) {
    const int len = int(value >> rice) + 1;
    w.encode_bypass_bins((1u << len) - 2, len);
    w.encode_bypass_bins(value & ((1u << rice) - 1), rice);
    return;
  }
  const int max_prefix_ext = kRiceMaxPrefixExt;
  uint32_t code = (value >> rice) - cutoff;
  int prefix_len, suffix_len;
  if (code >= (1u << max_prefix_ext) - 1) {
    prefix_len = max_prefix_ext;
    suffix_len = kLog2TransformRange;
  } else {
    prefix_len = 0;
    while (code > (2u << prefix_len) - 2) prefix_len++;
    suffix_len = prefix_len + rice + 1;
  }
  const int total_prefix = prefix_len + int(cutoff);
  w.encode_bypass_bins((1u << total_prefix) - 1, total_prefix);
  const uint32_t suffix = ((code - ((1u << prefix_len) - 1)) << rice) | (value & ((1u << rice) - 1));
  w.encode_bypass_bins(suffix, suffix_len);
}

// Inverse of write_rice_golomb().
static uint32_t read_rice_golomb(CabacReader &r, int rice) {
  int prefix = 0;
  while (prefix < kRiceCutoff + kRiceMaxPrefixExt && r.decode_bypass()) prefix++;
  if (prefix < kRiceCutoff) return (uint32_t(prefix) << rice) + r.decode_bypass_bins(rice);
  if (prefix < kRiceCutoff + kRiceMaxPrefixExt) {
    const int p = prefix - kRiceCutoff;  // the separator zero was read by the loop
    return r.decode_bypass_bins(p + rice) + ((uint32_t(1 << p) + kRiceCutoff - 1) << rice);
  }
  return r.decode_bypass_bins(kLog2TransformRange) + ((uint32_t(1 << kRiceMaxPrefixExt) + kRiceCutoff - 1) << rice);
}

// The same binarisation for abs_remainder of residual_ts_coding() (syntax_ts.cpp).
void write_abs_remainder_bins(CabacWriter &w, uint32_t value, int rice) { write_rice_golomb(w, value, rice); }
uint32_t read_abs_remainder_bins(CabacReader &r, int rice) { return read_rice_golomb(r, rice); }

static int read_last_pos_prefix(CabacReader &r, ContextSet &cs, int base, int max_group, int ctx_offset,
                                int ctx_shift) {
  int group = 0;
  while (group < max_group && r.decode_bin(cs.m[base + ctx_offset + (group >> ctx_shift)])) group++;
  return group;
}

static void write_last_pos_prefix(CabacWriter &w, ContextSet &cs, int base, int group, int max_group,
                                  int ctx_offset, int ctx_shift) {
  for (int i = 0; i < group; i++) w.encode_bin(cs.m[base + ctx_offset + (i >> ctx_shift)], 1);
  if (group < max_group) w.encode_bin(cs.m[base + ctx_offset + (group >> ctx_shift)], 0);
}

// Layout of the coded region of residual_coding() (7.3.11.11) for a W x H
// TB with W, H >= 4: the zero-out region log2ZoTbWidth x log2ZoTbHeight,
// split into 4x4 subblocks (log2SbW = log2SbH = 2) scanned diagonally over
// the sub-block grid, and the 4x4 diagonal scan inside each subblock.
namespace {
struct ResidualLayout {
  int log2w, log2h;      // log2TbWidth / log2TbHeight (before zero-out)
  int zo_w, zo_h;        // log2ZoTbWidth / log2ZoTbHeight
  int w, nzw, nzh;       // TB stride, coded region width and height
  int sbw, sbh;          // sub-block grid width and height
  int num_sb;            // lastSubBlock + 1 for the whole region
  int lsw, lsh;          // log2SbW / log2SbH: 4x4, or 1x16 / 2x8 / 16x1 / 8x2 for narrow TBs
  const ScanPos *scan_sb, *scan4;
  ResidualLayout(int lw, int lh)
      : log2w(lw), log2h(lh), zo_w(log2_zo_tb_size(lw)), zo_h(log2_zo_tb_size(lh)), w(1 << lw),
        nzw(1 << zo_w), nzh(1 << zo_h), lsw(log2_sb_w(zo_w, zo_h)), lsh(log2_sb_h(zo_w, zo_h)),
        scan_sb(diag_scan(zo_w - lsw, zo_h - lsh)), scan4(diag_scan(lsw, lsh)) {
    sbw = 1 << (zo_w - lsw);
    sbh = 1 << (zo_h - lsh);
    num_sb = sbw * sbh;
  }
  // 7.3.11.11: the subblock size (TBs of at least 16 samples: 16 positions).
  static int log2_sb_w(int zw, int zh) {
    if (zw + zh > 3 && zw < 2) return zw;
    if (zw + zh > 3 && zh < 2) return 4 - zh;
    return std::min(zw, zh) < 2 ? 1 : 2;
  }
  static int log2_sb_h(int zw, int zh) {
    if (zw + zh > 3 && zw < 2) return 4 - zw;
    if (zw + zh > 3 && zh < 2) return zh;
    return std::min(zw, zh) < 2 ? 1 : 2;
  }
  int xc(int xs, const ScanPos &p) const { return (xs << lsw) + p.x; }
  int yc(int ys, const ScanPos &p) const { return (ys << lsh) + p.y; }
  // remBinsPass1 = ((1 << (log2TbWidth + log2TbHeight)) * 7) >> 2 after zero-out.
  int rem_bins_pass1() const { return ((1 << (zo_w + zo_h)) * 7) >> 2; }
  // csbfCtx of 9.3.4.2.5: sb_coded_flag of the right or the below subblock.
  int csbf(const uint8_t *sb_coded, int xs, int ys) const {
    int c = 0;
    if (xs + 1 < sbw) c |= sb_coded[ys * sbw + xs + 1];
    if (ys + 1 < sbh) c |= sb_coded[(ys + 1) * sbw + xs];
    return c;
  }
};
}  // namespace

// signHidden of a subblock (7.3.11.11): firstSigScanPosSb / lastSigScanPosSb
// are the lowest / highest scan positions with AbsLevel > 0; the sign of the
// first is hidden when they are more than 3 apart (sign hiding on, dependent
// quantisation off). That sign is negative iff sumAbsLevel is odd. (The
// positions and the sum are only derived when sign hiding applies.)
namespace {
struct SignHiding {
  bool hidden = false;
  int first_sig = 16, last_sig = -1, sum_abs = 0;
};
SignHiding sign_hiding_of_subblock(const int *abs_lv, int nzw, int xs, int ys, const ScanPos *scan4, int lsw,
                                   int lsh, const ResidualCodingParams &p) {
  SignHiding h;
  if (!p.sign_hiding || p.dep_quant) return h;
  for (int n = 15; n >= 0; n--) {
    const int a = abs_lv[((ys << lsh) + scan4[n].y) * nzw + (xs << lsw) + scan4[n].x];
    if (!a) continue;
    if (h.last_sig < 0) h.last_sig = n;
    h.first_sig = n;
    h.sum_abs += a;
  }
  h.hidden = p.sign_hiding && !p.dep_quant && h.last_sig - h.first_sig > 3;
  return h;
}
}  // namespace

int count_hidden_signs(const int32_t *levels, int log2w, int log2h, const ResidualCodingParams &p) {
  if (!p.sign_hiding || p.dep_quant) return 0;
  const ResidualLayout L(log2w, log2h);
  int abs_lv[32 * 32];
  for (int y = 0; y < L.nzh; y++)
    for (int x = 0; x < L.nzw; x++) abs_lv[y * L.nzw + x] = std::abs(levels[y * L.w + x]);
  int n = 0;
  for (int i = 0; i < L.num_sb; i++) n += sign_hiding_of_subblock(abs_lv, L.nzw, L.scan_sb[i].x, L.scan_sb[i].y, L.scan4, L.lsw, L.lsh, p).hidden;
  return n;
}

void fix_hidden_sign_parity(int32_t *levels, int log2w, int log2h, const ResidualCodingParams &p) {
  if (!p.sign_hiding || p.dep_quant) return;
  const ResidualLayout L(log2w, log2h);
  int abs_lv[32 * 32];
  for (int y = 0; y < L.nzh; y++)
    for (int x = 0; x < L.nzw; x++) abs_lv[y * L.nzw + x] = std::abs(levels[y * L.w + x]);
  for (int i = 0; i < L.num_sb; i++) {
    const int xs = L.scan_sb[i].x, ys = L.scan_sb[i].y;
    const SignHiding h = sign_hiding_of_subblock(abs_lv, L.nzw, xs, ys, L.scan4, L.lsw, L.lsh, p);
    if (!h.hidden) continue;
    const ScanPos &f = L.scan4[h.first_sig];
    if ((levels[L.yc(ys, f) * L.w + L.xc(xs, f)] < 0) == bool(h.sum_abs & 1)) continue;
    const ScanPos &l = L.scan4[h.last_sig];
    int32_t &v = levels[L.yc(ys, l) * L.w + L.xc(xs, l)];
    const int a = std::abs(v), na = a > 1 ? a - 1 : a + 1;
    v = v < 0 ? -na : na;
  }
}

void residual_info_from_last(int last_sub_block, int last_scan_pos, int log2w, int log2h, int c_idx,
                             ResidualCodingInfo &info) {
  // 7.3.11.11 (no transform skip here: residual_ts_coding() sets none of these).
  if (last_sub_block == 0 && log2w >= 2 && log2h >= 2 && last_scan_pos > 0) info.lfnst_dc_only = false;
  if ((last_sub_block > 0 && log2w >= 2 && log2h >= 2) ||
      (last_scan_pos > 7 && (log2w == 2 || log2w == 3) && log2w == log2h))
    info.lfnst_zero_out_sig = true;
  if ((last_sub_block > 0 || last_scan_pos > 0) && c_idx == 0) info.mts_dc_only = false;
}

void residual_coding_info(const int32_t *levels, int log2w, int log2h, int c_idx, ResidualCodingInfo &info) {
  const ResidualLayout L(log2w, log2h);
  info = ResidualCodingInfo{};
  int last_sb = -1, last_pos = -1;
  for (int s = L.num_sb - 1; s >= 0 && last_sb < 0; s--)
    for (int n = 15; n >= 0; n--)
      if (levels[L.yc(L.scan_sb[s].y, L.scan4[n]) * L.w + L.xc(L.scan_sb[s].x, L.scan4[n])]) {
        last_sb = s;
        last_pos = n;
        break;
      }
  if (last_sb < 0) return;
  const ScanPos &lp = L.scan4[last_pos];
  info.last_x = L.xc(L.scan_sb[last_sb].x, lp);
  info.last_y = L.yc(L.scan_sb[last_sb].y, lp);
  residual_info_from_last(last_sb, last_pos, log2w, log2h, c_idx, info);
  if (c_idx) return;
  for (int i = 0; i <= last_sb && !info.mts_zero_out_sig; i++) {
    const int xs = L.scan_sb[i].x, ys = L.scan_sb[i].y;
    if (xs <= 3 && ys <= 3) continue;
    bool coded = i == 0 || i == last_sb;
    for (int n = 0; n < 16 && !coded; n++) coded = levels[L.yc(ys, L.scan4[n]) * L.w + L.xc(xs, L.scan4[n])] != 0;
    info.mts_zero_out_sig = coded;
  }
}

void write_residual_coding(CabacWriter &w, ContextSet &cs, const int32_t *levels, int log2w, int log2h,
                           int c_idx, const ResidualCodingParams &p, ResidualCodingInfo *info) {
  const ResidualLayout L(log2w, log2h);
  const int nzw = L.nzw, nzh = L.nzh, tw = L.w;
  const ScanPos *scan_sb = L.scan_sb, *scan4 = L.scan4;

  // AbsLevel of the coded region (for templates), stride nzw. With dependent
  // quantisation TransCoeffLevel = (2 * AbsLevel - (QState > 1)) * sign
  // (7.3.11.11): AbsLevel follows from the states along the scan, and
  // qs_at holds QState at each position (before its transition).
  int abs_lv[32 * 32];
  uint8_t qs_at[32 * 32] = {0};
  for (int y = 0; y < nzh; y++)
    for (int x = 0; x < nzw; x++) abs_lv[y * nzw + x] = std::abs(levels[y * tw + x]);

  // Last significant position in scan order.
  int last_sb = -1, last_pos = -1;
  for (int s = L.num_sb - 1; s >= 0 && last_sb < 0; s--) {
    const int xs = scan_sb[s].x << L.lsw, ys = scan_sb[s].y << L.lsh;
    for (int n = 15; n >= 0; n--) {
      if (abs_lv[(ys + scan4[n].y) * nzw + xs + scan4[n].x]) { last_sb = s; last_pos = n; break; }
    }
  }
  const int last_x = L.xc(scan_sb[last_sb].x, scan4[last_pos]);
  const int last_y = L.yc(scan_sb[last_sb].y, scan4[last_pos]);
  if (p.dep_quant) {
    int qstate = 0;
    for (int s = last_sb * 16 + last_pos; s >= 0; s--) {
      const int k = L.yc(scan_sb[s >> 4].y, scan4[s & 15]) * nzw + L.xc(scan_sb[s >> 4].x, scan4[s & 15]);
      qs_at[k] = uint8_t(qstate);
      if (abs_lv[k]) {
        const int t = abs_lv[k] + (qstate > 1 ? 1 : 0);
        if (t & 1) throw std::invalid_argument("residual_coding: TransCoeffLevel parity does not match QState");
        abs_lv[k] = t >> 1;
      }
      qstate = qstate_next(qstate, abs_lv[k]);
    }
  }
  if (info) {
    *info = ResidualCodingInfo{};
    info->last_x = last_x;
    info->last_y = last_y;
    residual_info_from_last(last_sb, last_pos, log2w, log2h, c_idx, *info);
  }

  // last_sig_coeff_{x,y}_prefix (contexts from each dimension's log2, 9.3.4.2.4), then the suffixes.
  {
    int off_x, shift_x, off_y, shift_y;
    last_sig_coeff_prefix_ctx(log2w, c_idx, off_x, shift_x);
    last_sig_coeff_prefix_ctx(log2h, c_idx, off_y, shift_y);
    const int gx = g_last_group_idx[last_x], gy = g_last_group_idx[last_y];
    write_last_pos_prefix(w, cs, CTX_LAST_X_PREFIX, gx, last_sig_coeff_prefix_cmax(L.zo_w), off_x, shift_x);
    write_last_pos_prefix(w, cs, CTX_LAST_Y_PREFIX, gy, last_sig_coeff_prefix_cmax(L.zo_h), off_y, shift_y);
    if (gx > 3) w.encode_bypass_bins(uint32_t(last_x - g_last_min_in_group[gx]), last_sig_coeff_suffix_len(gx));
    if (gy > 3) w.encode_bypass_bins(uint32_t(last_y - g_last_min_in_group[gy]), last_sig_coeff_suffix_len(gy));
  }

  int rem_bins_pass1 = L.rem_bins_pass1();
  uint8_t sb_coded[8 * 8] = {0};

  for (int i = last_sb; i >= 0; i--) {
    const int xs = scan_sb[i].x, ys = scan_sb[i].y;
    int coded = 1;
    bool infer_dc = false;
    if (i < last_sb && i > 0) {
      coded = 0;
      for (int n = 0; n < 16 && !coded; n++)
        coded = abs_lv[L.yc(ys, scan4[n]) * nzw + L.xc(xs, scan4[n])] != 0;
      w.encode_bin(cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(L.csbf(sb_coded, xs, ys), c_idx)], coded);
      infer_dc = true;
    }
    sb_coded[ys * L.sbw + xs] = uint8_t(coded);
    if (coded && (xs > 3 || ys > 3) && c_idx == 0 && info) info->mts_zero_out_sig = true;
    if (!coded) continue;

    const int first_pos_mode0 = (i == last_sb) ? last_pos : 15;
    int first_pos_mode1 = first_pos_mode0;
    // Pass 1: sig_coeff_flag, abs_level_gtx_flag[0], par_level_flag, abs_level_gtx_flag[1].
    int n_pos = first_pos_mode0;
    for (; n_pos >= 0 && rem_bins_pass1 >= 4; n_pos--) {
      const int xc = L.xc(xs, scan4[n_pos]), yc = L.yc(ys, scan4[n_pos]);
      const int a = abs_lv[yc * nzw + xc];
      const bool is_last = (xc == last_x && yc == last_y);
      // Template (9.3.4.2.8): locSumAbsPass1 and numSigCoeff of 5 neighbours.
      int loc_sum, num_sig;
      residual_template_pass1(abs_lv, nzw, nzh, xc, yc, loc_sum, num_sig);
      if (!is_last && (n_pos > 0 || !infer_dc)) {
        w.encode_bin(cs.m[CTX_SIG_COEFF_FLAG + sig_coeff_flag_ctx_inc(loc_sum, xc, yc, c_idx, qs_at[yc * nzw + xc])],
                     a != 0);
        rem_bins_pass1--;
        if (a) infer_dc = false;
      }
      if (a) {
        const int ctx_off = gtx_ctx_inc(is_last, loc_sum, num_sig, xc, yc, c_idx);  // 9.3.4.2.9
        w.encode_bin(cs.m[CTX_ABS_LEVEL_GT1_FLAG + ctx_off], a > 1);
        rem_bins_pass1--;
        if (a > 1) {
          w.encode_bin(cs.m[CTX_PAR_LEVEL_FLAG + ctx_off], a & 1);
          w.encode_bin(cs.m[CTX_ABS_LEVEL_GT3_FLAG + ctx_off], a > 3);
          rem_bins_pass1 -= 2;
        }
      }
      first_pos_mode1 = n_pos - 1;
    }
    // Rice parameter from the full levels of the template (9.3.3.11).
    auto rice_at = [&](int xc, int yc, int base_level) {
      return rice_param(residual_template_sum_abs(abs_lv, nzw, nzh, xc, yc), base_level);
    };
    // Pass 2: abs_remainder for positions whose abs_level_gtx_flag[1] was 1.
    for (int n = first_pos_mode0; n > first_pos_mode1; n--) {
      const int xc = L.xc(xs, scan4[n]), yc = L.yc(ys, scan4[n]);
      const int a = abs_lv[yc * nzw + xc];
      if (a >= 4) write_rice_golomb(w, uint32_t((a - 4) >> 1), rice_at(xc, yc, 4));
    }
    // Pass 3: dec_abs_level for the positions beyond the regular-bin budget.
    for (int n = first_pos_mode1; n >= 0; n--) {
      const int xc = L.xc(xs, scan4[n]), yc = L.yc(ys, scan4[n]);
      const int a = abs_lv[yc * nzw + xc];
      const int rice = rice_at(xc, yc, 0);
      const int zero_pos = dec_abs_level_zero_pos(rice, qs_at[yc * nzw + xc]);
      const uint32_t v = a == 0 ? uint32_t(zero_pos) : (a <= zero_pos ? uint32_t(a - 1) : uint32_t(a));
      write_rice_golomb(w, v, rice);
    }
    // coeff_sign_flag for every nonzero level, in reverse scan order, but
    // the one of firstSigScanPosSb when its sign is hidden.
    const SignHiding sh = sign_hiding_of_subblock(abs_lv, nzw, xs, ys, scan4, L.lsw, L.lsh, p);
    for (int n = 15; n >= 0; n--) {
      const int xc = L.xc(xs, scan4[n]), yc = L.yc(ys, scan4[n]);
      const int32_t l = levels[yc * tw + xc];
      if (!l) continue;
      if (sh.hidden && n == sh.first_sig) {
        if ((l < 0) != (sh.sum_abs & 1))
          throw std::invalid_argument("residual_coding: hidden sign does not match the parity of the subblock");
        continue;
      }
      w.encode_bypass(l < 0);
    }
  }
}

void read_residual_coding(CabacReader &r, ContextSet &cs, int log2w, int log2h, int c_idx, int32_t *levels,
                          const ResidualCodingParams &p, ResidualCodingInfo *info) {
  const ResidualLayout L(log2w, log2h);
  const int nzw = L.nzw, nzh = L.nzh, tw = L.w;
  const ScanPos *scan_sb = L.scan_sb, *scan4 = L.scan4;
  std::fill(levels, levels + (size_t(1) << (log2w + log2h)), 0);

  // last_sig_coeff_{x,y}_prefix, then the suffixes.
  int last_x, last_y;
  {
    int off_x, shift_x, off_y, shift_y;
    last_sig_coeff_prefix_ctx(log2w, c_idx, off_x, shift_x);
    last_sig_coeff_prefix_ctx(log2h, c_idx, off_y, shift_y);
    const int gx = read_last_pos_prefix(r, cs, CTX_LAST_X_PREFIX, last_sig_coeff_prefix_cmax(L.zo_w), off_x, shift_x);
    const int gy = read_last_pos_prefix(r, cs, CTX_LAST_Y_PREFIX, last_sig_coeff_prefix_cmax(L.zo_h), off_y, shift_y);
    last_x = gx > 3 ? g_last_min_in_group[gx] + int(r.decode_bypass_bins(last_sig_coeff_suffix_len(gx))) : gx;
    last_y = gy > 3 ? g_last_min_in_group[gy] + int(r.decode_bypass_bins(last_sig_coeff_suffix_len(gy))) : gy;
  }
  // Scan positions of the last coefficient (subblock, position inside it).
  int last_sb = 0, last_pos = 0;
  for (int s = 0; s < L.num_sb; s++)
    if (scan_sb[s].x == (last_x >> L.lsw) && scan_sb[s].y == (last_y >> L.lsh)) last_sb = s;
  for (int p = 0; p < 16; p++)
    if (scan4[p].x == (last_x & ((1 << L.lsw) - 1)) && scan4[p].y == (last_y & ((1 << L.lsh) - 1))) last_pos = p;
  if (info) {
    *info = ResidualCodingInfo{};
    info->last_x = last_x;
    info->last_y = last_y;
    residual_info_from_last(last_sb, last_pos, log2w, log2h, c_idx, *info);
  }

  // The templates of 9.3.4.2.8 / 9.3.3.11 over arrays of the coded region
  // padded by two zero columns and rows (the neighbours outside it count 0),
  // stride ps: abs_lv holds AbsLevelPass1, then AbsLevel; pass1 holds
  // AbsLevelPass1 + 32 for the nonzero levels of pass 1, so that the sum of
  // five gives locSumAbsPass1 (at most 25) in its low 5 bits and numSigCoeff
  // above. Pass 1 never reads a position of pass 3 (remBinsPass1 only
  // decreases), so pass1 needs only pass 1's values; for them
  // Min(4 + (AbsLevel & 1), AbsLevel) = AbsLevelPass1 (residual_template_pass1).
  const int ps = nzw + 2;
  int abs_lv[34 * 34];
  uint8_t pass1[34 * 34];
  std::fill_n(abs_lv, ps * (nzh + 2), 0);
  std::fill_n(pass1, ps * (nzh + 2), 0);
  int rem_bins_pass1 = L.rem_bins_pass1();
  uint8_t sb_coded[8 * 8] = {0};
  int qstate = 0;  // QState (dependent quantisation)
  const bool dep_quant = p.dep_quant;
  ContextModel *const sig_ctx = cs.m + CTX_SIG_COEFF_FLAG;
  ContextModel *const gt1_ctx = cs.m + CTX_ABS_LEVEL_GT1_FLAG;
  ContextModel *const par_ctx = cs.m + CTX_PAR_LEVEL_FLAG;
  ContextModel *const gt3_ctx = cs.m + CTX_ABS_LEVEL_GT3_FLAG;
  auto sum_abs = [&](int k) {  // residual_template_sum_abs
    const int *t = abs_lv + k;
    return t[1] + t[2] + t[ps] + t[ps + 1] + t[2 * ps];
  };

  for (int i = last_sb; i >= 0; i--) {
    const int xs = scan_sb[i].x, ys = scan_sb[i].y;
    const int x0 = xs << L.lsw, y0 = ys << L.lsh;
    const int start_qstate_sb = qstate;
    int coded = 1;
    bool infer_dc = false;
    if (i < last_sb && i > 0) {
      coded = r.decode_bin(cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(L.csbf(sb_coded, xs, ys), c_idx)]);
      infer_dc = true;
    }
    sb_coded[ys * L.sbw + xs] = uint8_t(coded);
    if (coded && (xs > 3 || ys > 3) && c_idx == 0 && info) info->mts_zero_out_sig = true;
    if (!coded) continue;

    const int first_pos_mode0 = (i == last_sb) ? last_pos : 15;
    int first_pos_mode1 = first_pos_mode0;
    // Pass 1: sig_coeff_flag, abs_level_gtx_flag[0], par_level_flag, abs_level_gtx_flag[1].
    for (int n_pos = first_pos_mode0; n_pos >= 0 && rem_bins_pass1 >= 4; n_pos--) {
      const int xc = x0 + scan4[n_pos].x, yc = y0 + scan4[n_pos].y;
      const int k = yc * ps + xc;
      const bool is_last = (i == last_sb && n_pos == last_pos);
      const uint8_t *t = pass1 + k;
      const int tsum = t[1] + t[2] + t[ps] + t[ps + 1] + t[2 * ps];
      const int loc_sum = tsum & 31, num_sig = tsum >> 5;
      int sig = 1;  // inferred for the last position and an inferred subblock DC
      if (!is_last && (n_pos > 0 || !infer_dc)) {
        sig = r.decode_bin(sig_ctx[sig_coeff_flag_ctx_inc(loc_sum, xc, yc, c_idx, qstate)]);
        rem_bins_pass1--;
        if (sig) infer_dc = false;
      }
      int v = 0;
      if (sig) {
        const int ctx_off = gtx_ctx_inc(is_last, loc_sum, num_sig, xc, yc, c_idx);
        const int gt1 = r.decode_bin(gt1_ctx[ctx_off]);
        rem_bins_pass1--;
        v = 1 + gt1;
        if (gt1) {
          v += r.decode_bin(par_ctx[ctx_off]);
          v += 2 * r.decode_bin(gt3_ctx[ctx_off]);
          rem_bins_pass1 -= 2;
        }
        abs_lv[k] = v;
        pass1[k] = uint8_t(v + 32);
      }
      if (dep_quant) qstate = qstate_next(qstate, v);  // AbsLevelPass1 & 1
      first_pos_mode1 = n_pos - 1;
    }
    // Pass 2: abs_remainder where abs_level_gtx_flag[1] was 1 (AbsLevelPass1 >= 4).
    for (int n = first_pos_mode0; n > first_pos_mode1; n--) {
      const int k = (y0 + scan4[n].y) * ps + x0 + scan4[n].x;
      int &a = abs_lv[k];
      if (a >= 4) {
        const uint32_t rem = read_rice_golomb(r, rice_param(sum_abs(k), 4));
        if (rem > 32768) throw DecodeError("slice data: coefficient level out of range (corrupt residual)");
        a += 2 * int(rem);
      }
    }
    // Pass 3: dec_abs_level beyond the regular-bin budget.
    for (int n = first_pos_mode1; n >= 0; n--) {
      const int k = (y0 + scan4[n].y) * ps + x0 + scan4[n].x;
      const int rice = rice_param(sum_abs(k), 0);
      const uint32_t v = read_rice_golomb(r, rice);
      const uint32_t zero_pos = uint32_t(dec_abs_level_zero_pos(rice, qstate));
      if (v > 65536) throw DecodeError("slice data: coefficient level out of range (corrupt residual)");
      abs_lv[k] = v == zero_pos ? 0 : (v < zero_pos ? int(v) + 1 : int(v));
      if (dep_quant) qstate = qstate_next(qstate, abs_lv[k]);
    }
    // coeff_sign_flag, reverse scan order (one hidden with sign hiding), and
    // TransCoeffLevel: 2 * AbsLevel - (QState > 1) with dependent
    // quantisation, the hidden sign from the parity of sumAbsLevel.
    const SignHiding sh = sign_hiding_of_subblock(abs_lv, ps, xs, ys, scan4, L.lsw, L.lsh, p);
    qstate = start_qstate_sb;
    for (int n = first_pos_mode0; n >= 0; n--) {
      const int xc = x0 + scan4[n].x, yc = y0 + scan4[n].y;
      const int a = abs_lv[yc * ps + xc];
      if (a) {
        const int sign = (sh.hidden && n == sh.first_sig) ? (sh.sum_abs & 1) : r.decode_bypass();
        const int t = dep_quant ? 2 * a - (qstate > 1 ? 1 : 0) : a;
        // TransCoeffLevel must fit in 16 bits (CoeffMinY..CoeffMaxY).
        if (t > 32768 || (t == 32768 && !sign))
          throw DecodeError("slice data: coefficient level " + std::to_string(sign ? -t : t) +
                            " outside the 16-bit range (corrupt residual)");
        levels[yc * tw + xc] = sign ? -t : t;
      }
      if (dep_quant) qstate = qstate_next(qstate, a);
    }
  }
}

}  // namespace pyvtm
