// Rate-distortion optimised quantisation (encoder only): chooses each level
// among {round, round - 1, 0}, drops whole 4x4 subblocks and moves the last
// significant position where that lowers D + lambda * R. Rates come from the
// current CABAC context states (held fixed within the block).
#include "rdoq.h"

#include <cmath>
#include <cstdlib>

#include "common.h"
#include "derive.h"
#include "quant.h"
#include "tables.h"

namespace pyvtm {

static inline double cost_bits(const ContextModel &c, int bin) {
  return double(bin_cost(c, bin)) / (1 << kFracBitsShift);
}

double rice_golomb_bits(uint32_t value, int rice) {
  const uint32_t cutoff = kRiceCutoff;
  if (value < (cutoff << rice)) return double((value >> rice) + 1 + rice);
  uint32_t code = (value >> rice) - cutoff;
  int prefix_len = 0;
  if (code >= (1u << kRiceMaxPrefixExt) - 1) return double(cutoff + kRiceMaxPrefixExt + kLog2TransformRange);
  while (code > (2u << prefix_len) - 2) prefix_len++;
  return double(cutoff + prefix_len + prefix_len + rice + 1);
}

namespace {
struct PosInfo {
  int x, y;
  double err0;      // distortion of level 0
  double cost_sel;  // cost of the chosen level, sig flag included
  double cost_last; // cost of the chosen level as the last position (no sig flag)
  double cost_sig0; // cost of level 0 with its sig flag
  int level;        // chosen absolute level
};
}  // namespace

int rdoq_quantize(const int32_t *coeff, int log2w, int log2h, int qp, int c_idx, int bit_depth,
                  const ContextSet &cs, double lambda, int32_t *level) {
  const int tw = 1 << log2w;  // TB stride
  // Coded (zero-out) region of 7.3.11.11, nzw x nzh.
  const int zo_w = log2_zo_tb_size(log2w), zo_h = log2_zo_tb_size(log2h);
  const int nzw = 1 << zo_w, nzh = 1 << zo_h;
  const QuantParams qpar = quant_params(log2w, log2h, qp, bit_depth);
  const double scale = qpar.scale;
  const double inv_step = scale / std::ldexp(1.0, qpar.qbits);  // level per coefficient unit
  const double step = 1.0 / inv_step;
  // To pixel-domain SSE: 2^(-2 * transformShift); 2 * transformShift is an integer.
  const double err_scale = std::ldexp(1.0, -int(std::lround(2 * qpar.transform_shift)));

  std::fill(level, level + (size_t(1) << (log2w + log2h)), 0);
  // Rounded levels of the coded region (stride nzw).
  int abs_lv[32 * 32];
  int max_lv[32 * 32];
  bool any = false;
  for (int y = 0; y < nzh; y++)
    for (int x = 0; x < nzw; x++) {
      const double a = std::abs(double(coeff[y * tw + x])) * inv_step;
      int l = int(a + 0.5);
      l = std::min(l, 32767);
      max_lv[y * nzw + x] = l;
      abs_lv[y * nzw + x] = 0;
      any |= l != 0;
    }
  if (!any) return 0;

  // 4x4 subblocks on a sbw x sbh grid, both scanned diagonally.
  const int sbw = 1 << (zo_w - 2), sbh = 1 << (zo_h - 2);
  const ScanPos *scan_sb = diag_scan(zo_w - 2, zo_h - 2);
  const ScanPos *scan4 = diag_scan(2, 2);
  const int num_sb = sbw * sbh;
  const int total = num_sb * 16;

  // Last candidate position in scan order.
  int last_scan = -1;
  for (int s = total - 1; s >= 0 && last_scan < 0; s--) {
    const int x = (scan_sb[s >> 4].x << 2) + scan4[s & 15].x, y = (scan_sb[s >> 4].y << 2) + scan4[s & 15].y;
    if (max_lv[y * nzw + x]) last_scan = s;
  }


  PosInfo info[32 * 32];
  for (int s = last_scan; s >= 0; s--) {
    const int xc = (scan_sb[s >> 4].x << 2) + scan4[s & 15].x, yc = (scan_sb[s >> 4].y << 2) + scan4[s & 15].y;
    PosInfo &pi = info[s];
    pi.x = xc;
    pi.y = yc;
    const double c = std::abs(double(coeff[yc * tw + xc]));
    pi.err0 = c * c * err_scale;
    // Templates from the levels already decided (right/below neighbours).
    int loc_sum, num_sig;
    residual_template_pass1(abs_lv, nzw, nzh, xc, yc, loc_sum, num_sig);
    const int off = gtx_ctx_inc(false, loc_sum, num_sig, xc, yc, c_idx);
    const int last_off = gtx_ctx_inc(true, 0, 0, xc, yc, c_idx);
    const int rice = rice_param(residual_template_sum_abs(abs_lv, nzw, nzh, xc, yc), 4);
    const ContextModel &sig_m = cs.m[CTX_SIG_COEFF_FLAG + sig_coeff_flag_ctx_inc(loc_sum, xc, yc, c_idx)];
    pi.cost_sig0 = pi.err0 + lambda * cost_bits(sig_m, 0);
    const int lmax = max_lv[yc * nzw + xc];
    auto level_bits = [&](int l, int ctx_off) {
      // gt1, par, gt3 and remainder bits plus the sign of a level l >= 1.
      double b = 1.0;  // sign
      b += cost_bits(cs.m[CTX_ABS_LEVEL_GT1_FLAG + ctx_off], l > 1);
      if (l > 1) {
        b += cost_bits(cs.m[CTX_PAR_LEVEL_FLAG + ctx_off], l & 1);
        b += cost_bits(cs.m[CTX_ABS_LEVEL_GT3_FLAG + ctx_off], l > 3);
        if (l > 3) b += rice_golomb_bits(uint32_t((l - 4) >> 1), rice);
      }
      return b;
    };
    double best = pi.cost_sig0, best_last = 1e300;
    int best_l = 0;
    for (int l = lmax; l >= std::max(1, lmax - 1); l--) {
      const double e = c - l * step;
      const double dist = e * e * err_scale;
      const double j = dist + lambda * (cost_bits(sig_m, 1) + level_bits(l, off));
      if (j < best) { best = j; best_l = l; }
      const double jl = dist + lambda * level_bits(l, last_off);
      if (jl < best_last) best_last = jl;
    }
    pi.level = best_l;
    pi.cost_sel = best;
    pi.cost_last = best_l ? best_last : 1e300;
    abs_lv[yc * nzw + xc] = best_l;
  }

  // Subblock zeroing (sb_coded_flag = 0) for subblocks strictly between the
  // first and the last.
  const int last_sb = last_scan >> 4;
  uint8_t sb_coded[64] = {0};
  for (int i = last_sb; i >= 0; i--) {
    const int xs = scan_sb[i].x, ys = scan_sb[i].y;
    bool coded = false;
    for (int p = 0; p < 16; p++) {
      const int s = i * 16 + p;
      if (s <= last_scan && info[s].level) coded = true;
    }
    if (coded && i < last_sb && i > 0) {
      int csbf = 0;
      if (xs + 1 < sbw) csbf |= sb_coded[ys * sbw + xs + 1];
      if (ys + 1 < sbh) csbf |= sb_coded[(ys + 1) * sbw + xs];
      const ContextModel &sb_m = cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(csbf, c_idx)];
      double cost_coded = lambda * cost_bits(sb_m, 1);
      double cost_zero = lambda * cost_bits(sb_m, 0);
      for (int p = 0; p < 16; p++) {
        cost_coded += info[i * 16 + p].cost_sel;
        cost_zero += info[i * 16 + p].err0;
      }
      if (cost_zero < cost_coded) {
        coded = false;
        for (int p = 0; p < 16; p++) {
          PosInfo &pi = info[i * 16 + p];
          pi.level = 0;
          pi.cost_sel = pi.err0;
          pi.cost_last = 1e300;
        }
      }
    }
    sb_coded[ys * sbw + xs] = coded;
  }

  // Last position: minimise sum(cost before) + cost_last + sum(err0 after).
  {
    // Prefix contexts and cMax per dimension (9.3.4.2.4, 7.3.11.11).
    const int max_gx = last_sig_coeff_prefix_cmax(zo_w), max_gy = last_sig_coeff_prefix_cmax(zo_h);
    int off_x, shift_x, off_y, shift_y;
    last_sig_coeff_prefix_ctx(log2w, c_idx, off_x, shift_x);
    last_sig_coeff_prefix_ctx(log2h, c_idx, off_y, shift_y);
    auto last_bits = [&](int x, int y) {
      double b = 0;
      const int gx = g_last_group_idx[x], gy = g_last_group_idx[y];
      for (int i = 0; i < gx; i++) b += cost_bits(cs.m[CTX_LAST_X_PREFIX + off_x + (i >> shift_x)], 1);
      if (gx < max_gx) b += cost_bits(cs.m[CTX_LAST_X_PREFIX + off_x + (gx >> shift_x)], 0);
      for (int i = 0; i < gy; i++) b += cost_bits(cs.m[CTX_LAST_Y_PREFIX + off_y + (i >> shift_y)], 1);
      if (gy < max_gy) b += cost_bits(cs.m[CTX_LAST_Y_PREFIX + off_y + (gy >> shift_y)], 0);
      b += last_sig_coeff_suffix_len(gx) + last_sig_coeff_suffix_len(gy);
      return b;
    };
    // prefix[s] = sum over q < s of cost_sel; suffix handled incrementally.
    double before = 0;
    for (int s = 0; s <= last_scan; s++) before += info[s].cost_sel;
    double after = 0;
    double best = 1e300;
    int best_s = -1;
    for (int s = last_scan; s >= 0; s--) {
      before -= info[s].cost_sel;
      if (info[s].level) {
        const double j = before + info[s].cost_last + lambda * last_bits(info[s].x, info[s].y) + after;
        if (j < best) { best = j; best_s = s; }
      }
      after += info[s].err0;
    }
    if (best_s < 0) return 0;
    int nzc = 0;
    for (int s = 0; s <= best_s; s++) {
      const PosInfo &pi = info[s];
      if (pi.level) {
        level[pi.y * tw + pi.x] = coeff[pi.y * tw + pi.x] < 0 ? -pi.level : pi.level;
        nzc++;
      }
    }
    return nzc;
  }
}

}  // namespace pyvtm
