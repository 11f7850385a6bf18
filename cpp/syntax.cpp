#include "syntax.h"

#include <cstdlib>
#include <string>

#include "api.h"

#include "common.h"
#include "derive.h"
#include "tables.h"

namespace pyvtm {

void write_intra_luma_mode(CabacWriter &w, ContextSet &cs, int mode, const int mpm[6]) {
  int idx = -1;
  for (int i = 0; i < 6; i++)
    if (mpm[i] == mode) idx = i;
  w.encode_bin(cs.m[CTX_INTRA_LUMA_MPM_FLAG], idx >= 0);
  if (idx >= 0) {
    // intra_luma_not_planar_flag, ctxInc = !intra_subpartitions_mode_flag = 1
    w.encode_bin(cs.m[CTX_INTRA_LUMA_NOT_PLANAR_FLAG + 1], idx > 0);
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

int read_intra_luma_mode(CabacReader &r, ContextSet &cs, const int mpm[6]) {
  if (r.decode_bin(cs.m[CTX_INTRA_LUMA_MPM_FLAG])) {
    if (!r.decode_bin(cs.m[CTX_INTRA_LUMA_NOT_PLANAR_FLAG + 1])) return mpm[0];
    int idx = 0;  // intra_luma_mpm_idx: TR, cMax = 4, bypass
    while (idx < 4 && r.decode_bypass()) idx++;
    return mpm[1 + idx];
  }
  int rem = int(r.decode_bypass_bins(kMpmRemainderTbK));
  if (rem >= kMpmRemainderTbU) rem = ((rem << 1) | r.decode_bypass()) - kMpmRemainderTbU;
  return mode_from_mpm_remainder(rem, mpm);
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
  const ScanPos *scan_sb, *scan4;
  ResidualLayout(int lw, int lh)
      : log2w(lw), log2h(lh), zo_w(log2_zo_tb_size(lw)), zo_h(log2_zo_tb_size(lh)), w(1 << lw),
        nzw(1 << zo_w), nzh(1 << zo_h), sbw(1 << (zo_w - 2)), sbh(1 << (zo_h - 2)),
        num_sb(1 << (zo_w + zo_h - 4)), scan_sb(diag_scan(zo_w - 2, zo_h - 2)), scan4(diag_scan(2, 2)) {}
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

void write_residual_coding(CabacWriter &w, ContextSet &cs, const int32_t *levels, int log2w, int log2h,
                           int c_idx, const ResidualCodingParams &p, ResidualCodingInfo *info) {
  const ResidualLayout L(log2w, log2h);
  const int nzw = L.nzw, nzh = L.nzh, tw = L.w;
  const ScanPos *scan_sb = L.scan_sb, *scan4 = L.scan4;

  // Absolute levels of the coded region (for templates), stride nzw.
  int abs_lv[32 * 32];
  for (int y = 0; y < nzh; y++)
    for (int x = 0; x < nzw; x++) abs_lv[y * nzw + x] = std::abs(levels[y * tw + x]);

  // Last significant position in scan order.
  int last_sb = -1, last_pos = -1;
  for (int s = L.num_sb - 1; s >= 0 && last_sb < 0; s--) {
    const int xs = scan_sb[s].x << 2, ys = scan_sb[s].y << 2;
    for (int p = 15; p >= 0; p--) {
      if (abs_lv[(ys + scan4[p].y) * nzw + xs + scan4[p].x]) { last_sb = s; last_pos = p; break; }
    }
  }
  const int last_x = (scan_sb[last_sb].x << 2) + scan4[last_pos].x;
  const int last_y = (scan_sb[last_sb].y << 2) + scan4[last_pos].y;

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
      for (int p = 0; p < 16 && !coded; p++)
        coded = abs_lv[((ys << 2) + scan4[p].y) * nzw + (xs << 2) + scan4[p].x] != 0;
      w.encode_bin(cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(L.csbf(sb_coded, xs, ys), c_idx)], coded);
      infer_dc = true;
    }
    sb_coded[ys * L.sbw + xs] = uint8_t(coded);
    if (!coded) continue;

    const int first_pos_mode0 = (i == last_sb) ? last_pos : 15;
    int first_pos_mode1 = first_pos_mode0;
    // Pass 1: sig_coeff_flag, abs_level_gtx_flag[0], par_level_flag, abs_level_gtx_flag[1].
    int n_pos = first_pos_mode0;
    for (; n_pos >= 0 && rem_bins_pass1 >= 4; n_pos--) {
      const int xc = (xs << 2) + scan4[n_pos].x, yc = (ys << 2) + scan4[n_pos].y;
      const int a = abs_lv[yc * nzw + xc];
      const bool is_last = (xc == last_x && yc == last_y);
      // Template (9.3.4.2.8): locSumAbsPass1 and numSigCoeff of 5 neighbours.
      int loc_sum, num_sig;
      residual_template_pass1(abs_lv, nzw, nzh, xc, yc, loc_sum, num_sig);
      if (!is_last && (n_pos > 0 || !infer_dc)) {
        w.encode_bin(cs.m[CTX_SIG_COEFF_FLAG + sig_coeff_flag_ctx_inc(loc_sum, xc, yc, c_idx)], a != 0);
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
    for (int p = first_pos_mode0; p > first_pos_mode1; p--) {
      const int xc = (xs << 2) + scan4[p].x, yc = (ys << 2) + scan4[p].y;
      const int a = abs_lv[yc * nzw + xc];
      if (a >= 4) write_rice_golomb(w, uint32_t((a - 4) >> 1), rice_at(xc, yc, 4));
    }
    // Pass 3: dec_abs_level for the positions beyond the regular-bin budget.
    for (int p = first_pos_mode1; p >= 0; p--) {
      const int xc = (xs << 2) + scan4[p].x, yc = (ys << 2) + scan4[p].y;
      const int a = abs_lv[yc * nzw + xc];
      const int rice = rice_at(xc, yc, 0);
      const int zero_pos = dec_abs_level_zero_pos(rice);  // QState 0
      const uint32_t v = a == 0 ? uint32_t(zero_pos) : (a <= zero_pos ? uint32_t(a - 1) : uint32_t(a));
      write_rice_golomb(w, v, rice);
    }
    // coeff_sign_flag for every nonzero level, in reverse scan order.
    for (int p = 15; p >= 0; p--) {
      const int xc = (xs << 2) + scan4[p].x, yc = (ys << 2) + scan4[p].y;
      const int32_t l = levels[yc * tw + xc];
      if (l) w.encode_bypass(l < 0);
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
    if (scan_sb[s].x == (last_x >> 2) && scan_sb[s].y == (last_y >> 2)) last_sb = s;
  for (int p = 0; p < 16; p++)
    if (scan4[p].x == (last_x & 3) && scan4[p].y == (last_y & 3)) last_pos = p;

  int abs_lv[32 * 32];  // AbsLevelPass1, then AbsLevel, of the coded region (stride nzw)
  std::fill(abs_lv, abs_lv + nzw * nzh, 0);
  int rem_bins_pass1 = L.rem_bins_pass1();
  uint8_t sb_coded[8 * 8] = {0};

  for (int i = last_sb; i >= 0; i--) {
    const int xs = scan_sb[i].x, ys = scan_sb[i].y;
    int coded = 1;
    bool infer_dc = false;
    if (i < last_sb && i > 0) {
      coded = r.decode_bin(cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(L.csbf(sb_coded, xs, ys), c_idx)]);
      infer_dc = true;
    }
    sb_coded[ys * L.sbw + xs] = uint8_t(coded);
    if (!coded) continue;

    const int first_pos_mode0 = (i == last_sb) ? last_pos : 15;
    int first_pos_mode1 = first_pos_mode0;
    // Pass 1: sig_coeff_flag, abs_level_gtx_flag[0], par_level_flag, abs_level_gtx_flag[1].
    for (int n_pos = first_pos_mode0; n_pos >= 0 && rem_bins_pass1 >= 4; n_pos--) {
      const int xc = (xs << 2) + scan4[n_pos].x, yc = (ys << 2) + scan4[n_pos].y;
      const bool is_last = (i == last_sb && n_pos == last_pos);
      int loc_sum, num_sig;
      residual_template_pass1(abs_lv, nzw, nzh, xc, yc, loc_sum, num_sig);
      int sig = 1;  // inferred for the last position and an inferred subblock DC
      if (!is_last && (n_pos > 0 || !infer_dc)) {
        sig = r.decode_bin(cs.m[CTX_SIG_COEFF_FLAG + sig_coeff_flag_ctx_inc(loc_sum, xc, yc, c_idx)]);
        rem_bins_pass1--;
        if (sig) infer_dc = false;
      }
      if (sig) {
        const int ctx_off = gtx_ctx_inc(is_last, loc_sum, num_sig, xc, yc, c_idx);
        const int gt1 = r.decode_bin(cs.m[CTX_ABS_LEVEL_GT1_FLAG + ctx_off]);
        rem_bins_pass1--;
        int par = 0, gt3 = 0;
        if (gt1) {
          par = r.decode_bin(cs.m[CTX_PAR_LEVEL_FLAG + ctx_off]);
          gt3 = r.decode_bin(cs.m[CTX_ABS_LEVEL_GT3_FLAG + ctx_off]);
          rem_bins_pass1 -= 2;
        }
        abs_lv[yc * nzw + xc] = 1 + gt1 + par + 2 * gt3;
      }
      first_pos_mode1 = n_pos - 1;
    }
    // Pass 2: abs_remainder where abs_level_gtx_flag[1] was 1 (AbsLevelPass1 >= 4).
    for (int p = first_pos_mode0; p > first_pos_mode1; p--) {
      const int xc = (xs << 2) + scan4[p].x, yc = (ys << 2) + scan4[p].y;
      int &a = abs_lv[yc * nzw + xc];
      if (a >= 4) {
        const uint32_t rem =
            read_rice_golomb(r, rice_param(residual_template_sum_abs(abs_lv, nzw, nzh, xc, yc), 4));
        if (rem > 32768) throw DecodeError("slice data: coefficient level out of range (corrupt residual)");
        a += 2 * int(rem);
      }
    }
    // Pass 3: dec_abs_level beyond the regular-bin budget.
    for (int p = first_pos_mode1; p >= 0; p--) {
      const int xc = (xs << 2) + scan4[p].x, yc = (ys << 2) + scan4[p].y;
      const int rice = rice_param(residual_template_sum_abs(abs_lv, nzw, nzh, xc, yc), 0);
      const uint32_t v = read_rice_golomb(r, rice);
      const uint32_t zero_pos = uint32_t(dec_abs_level_zero_pos(rice));
      if (v > 65536) throw DecodeError("slice data: coefficient level out of range (corrupt residual)");
      abs_lv[yc * nzw + xc] = v == zero_pos ? 0 : (v < zero_pos ? int(v) + 1 : int(v));
    }
    // coeff_sign_flag, reverse scan order.
    for (int p = 15; p >= 0; p--) {
      const int xc = (xs << 2) + scan4[p].x, yc = (ys << 2) + scan4[p].y;
      const int a = abs_lv[yc * nzw + xc];
      if (!a) continue;
      const int sign = r.decode_bypass();
      // TransCoeffLevel must fit in 16 bits (CoeffMinY..CoeffMaxY).
      if (a > 32768 || (a == 32768 && !sign))
        throw DecodeError("slice data: coefficient level " + std::to_string(sign ? -a : a) +
                          " outside the 16-bit range (corrupt residual)");
      levels[yc * tw + xc] = sign ? -a : a;
    }
  }
}

}  // namespace pyvtm
