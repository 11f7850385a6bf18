// Dependent quantisation trellis and sign data hiding (encoder only).
//
// With DQ the decoder reconstructs TransCoeffLevel * Delta / 2, Delta the
// step of qP + 1 (8.7.3: levelScale of qP + 1, bdShift + 1). Two scalar
// quantisers share that lattice: Q0 (QState 0, 1) reconstructs the even
// multiples, Q1 (QState 2, 3) the odd ones and zero; AbsLevel is the index
// inside the quantiser (|TransCoeffLevel| = 2k, resp. 2k - 1), and its
// parity drives the state machine of 7.3.11.11. The trellis keeps, per
// state, the cheapest path from the last significant position down to the
// current scan position.
#include "dep_quant.h"

#include <cmath>
#include <cstdlib>
#include <vector>

#include "common.h"
#include "derive.h"
#include "quant.h"
#include "rdoq.h"
#include "tables.h"

namespace pyvtm {

namespace {

inline double cost_bits(const ContextModel &c, int bin) { return double(bin_cost(c, bin)) / (1 << kFracBitsShift); }

constexpr double kInf = 1e300;

// Bin costs of one TB's quantisation, filled on first use per context.
class BinCosts {
 public:
  explicit BinCosts(const ContextSet &cs) : cs_(cs) {}
  double operator()(int ctx, int bin) {
    if (!filled_[ctx]) {
      cost_[ctx][0] = cost_bits(cs_.m[ctx], 0);
      cost_[ctx][1] = cost_bits(cs_.m[ctx], 1);
      filled_[ctx] = true;
    }
    return cost_[ctx][bin];
  }

 private:
  const ContextSet &cs_;
  bool filled_[CTX_NUM] = {};
  double cost_[CTX_NUM][2];
};

// Bits of an AbsLevel k >= 1 without its sig_coeff_flag: sign, gt1, par,
// gt3, abs_remainder (the regular-bin passes of 7.3.11.11).
double level_bits(BinCosts &bc, int k, int ctx_off, int rice) {
  double b = 1.0;  // coeff_sign_flag
  b += bc(CTX_ABS_LEVEL_GT1_FLAG + ctx_off, k > 1);
  if (k > 1) {
    b += bc(CTX_PAR_LEVEL_FLAG + ctx_off, k & 1);
    b += bc(CTX_ABS_LEVEL_GT3_FLAG + ctx_off, k > 3);
    if (k > 3) b += rice_golomb_bits(uint32_t((k - 4) >> 1), rice);
  }
  return b;
}

// |TransCoeffLevel| of AbsLevel k in the quantiser of QState qs.
inline int trans_level(int k, int qs) { return k == 0 ? 0 : 2 * k - (qs > 1 ? 1 : 0); }

// AbsLevel as kept for the templates: values above 63 only matter through
// their parity (AbsLevelPass1) and a saturated Rice sum.
inline uint8_t tpl_level(int k) { return uint8_t(k > 63 ? 62 + (k & 1) : k); }

struct Decision {
  int8_t prev;  // state before this position, -1: the path starts here (last significant position)
  int32_t k;    // AbsLevel chosen here
};

// One position of the coded region in scan order.
struct ScanPoint {
  int x, y;  // position in the coded region
  double q;  // |coeff| in units of the DQ lattice step (Delta / 2)
};

}  // namespace

// The trellis keeps, per QState, the cheapest path from its last significant
// position down to the current scan position. The context templates
// (9.3.4.2.8) and csbfCtx are those of each path: a state carries the
// AbsLevels its path chose in the current subblock and, from the subblocks
// coded before, the AbsLevels and sb_coded_flags of its path (copied from
// the state it came from when a subblock ends).
int dep_quant_quantize(const int32_t *coeff, int log2w, int log2h, int qp, int c_idx, int bit_depth,
                       const ContextSet &cs, double lambda, int32_t *level) {
  const int tw = 1 << log2w;
  const int zo_w = log2_zo_tb_size(log2w), zo_h = log2_zo_tb_size(log2h);
  const int nzw = 1 << zo_w, nzh = 1 << zo_h;
  // Lattice step Delta / 2 of qP + 1 in forward_transform() units.
  const QuantParams qpar = quant_params(log2w, log2h, qp + 1, bit_depth);
  const double inv_step = 2.0 * qpar.scale / std::ldexp(1.0, qpar.qbits);
  const double err_scale = std::ldexp(1.0, -int(std::lround(2 * qpar.transform_shift)));
  const double dscale = err_scale / (inv_step * inv_step);  // SSE of one lattice unit

  std::fill(level, level + (size_t(1) << (log2w + log2h)), 0);
  const int sbw = 1 << (zo_w - 2), sbh = 1 << (zo_h - 2);
  const ScanPos *scan_sb = diag_scan(zo_w - 2, zo_h - 2);
  const ScanPos *scan4 = diag_scan(2, 2);
  const int total = sbw * sbh * 16;

  // Scratch buffers reused across calls (the search calls this per TB candidate).
  static thread_local std::vector<ScanPoint> pt_buf;
  static thread_local std::vector<Decision> dec_buf;
  pt_buf.resize(size_t(total));
  ScanPoint *pt = pt_buf.data();
  int last_scan = -1;
  for (int s = 0; s < total; s++) {
    ScanPoint &p = pt[s];
    p.x = (scan_sb[s >> 4].x << 2) + scan4[s & 15].x;
    p.y = (scan_sb[s >> 4].y << 2) + scan4[s & 15].y;
    p.q = std::min(std::abs(double(coeff[p.y * tw + p.x])) * inv_step, 32766.0);
    if (p.q >= 1.0) last_scan = s;  // a last position needs a nonzero level of Q0 (QState 0)
  }
  if (last_scan < 0) return 0;
  BinCosts bc(cs);

  // Bits of last_sig_coeff_{x,y}_{prefix,suffix} (9.3.4.2.4), per coordinate.
  const int max_gx = last_sig_coeff_prefix_cmax(zo_w), max_gy = last_sig_coeff_prefix_cmax(zo_h);
  int off_x, shift_x, off_y, shift_y;
  last_sig_coeff_prefix_ctx(log2w, c_idx, off_x, shift_x);
  last_sig_coeff_prefix_ctx(log2h, c_idx, off_y, shift_y);
  auto prefix_bits = [&](int v, int base, int off, int shift, int max_g) {
    double b = 0;
    const int g = g_last_group_idx[v];
    for (int i = 0; i < g; i++) b += cost_bits(cs.m[base + off + (i >> shift)], 1);
    if (g < max_g) b += cost_bits(cs.m[base + off + (g >> shift)], 0);
    return b + last_sig_coeff_suffix_len(g);
  };
  double last_x_bits[32], last_y_bits[32];  // filled on first use (< 0: not yet)
  std::fill_n(last_x_bits, nzw, -1.0);
  std::fill_n(last_y_bits, nzh, -1.0);
  const int last_gtx_off = gtx_ctx_inc(true, 0, 0, 0, 0, c_idx);
  const int last_rice = rice_param(0, 4);  // nothing is coded after the last position
  double sb_bits[2][2];                    // sb_coded_flag bits by csbfCtx and bin
  for (int c = 0; c < 2; c++)
    for (int b = 0; b < 2; b++) sb_bits[c][b] = cost_bits(cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(c, c_idx)], b);
  // Scan index inside a subblock of each (x & 3, y & 3).
  int n_of[16];
  for (int m = 0; m < 16; m++) n_of[scan4[m].y * 4 + scan4[m].x] = m;

  dec_buf.resize(size_t(last_scan + 1) * 4);
  Decision *dec = dec_buf.data();
  // Each path's AbsLevels of the subblocks it completed, as a history per
  // subblock: hist[sb][st] the levels the path ending in state st at the end
  // of subblock sb chose there, par[sb][st] its state at the end of subblock
  // sb + 1 (-1: the path started in sb). Subblock index -> (xs, ys) and back.
  uint8_t hist[64][4][16];
  int8_t par[64][4];
  int8_t sb_index[64];
  for (int i = 0; i < sbw * sbh; i++) sb_index[scan_sb[i].y * sbw + scan_sb[i].x] = int8_t(i);
  int sbl[4][16] = {}, nsbl[4][16];  // AbsLevels of the current subblock along each path
  int origin[4] = {-1, -1, -1, -1};  // state at the entry of the current subblock, -1: started in it
  int norigin[4];
  // remBinsPass1 left along each path: below 4 the levels go to
  // dec_abs_level (bypass, ZeroPos by QState) instead of the context-coded passes.
  const int rem_bins_start = ((1 << (zo_w + zo_h)) * 7) >> 2;
  int rem[4] = {0, 0, 0, 0}, nrem[4], rem_entry[4] = {0, 0, 0, 0};
  int csbf_of[4] = {0, 0, 0, 0};     // csbfCtx of the current subblock along each entry state's path

  double J[4] = {kInf, kInf, kInf, kInf};
  double j_entry[4] = {kInf, kInf, kInf, kInf};
  bool zero_sb[64][4] = {};
  double j_none = 0;  // all levels zero so far (no last position yet)
  double err0_sb = 0;
  // Template terms of the neighbours outside the current subblock, per entry
  // state and scan index: sum of AbsLevelPass1, nonzero count, sum of AbsLevel.
  int out_sum1[4][16], out_num[4][16], out_sum[4][16];
  int in_n[16][5], num_in[16];
  for (int s = last_scan; s >= 0; s--) {
    const ScanPoint &p = pt[s];
    const int sb = s >> 4, n = s & 15, xs = scan_sb[sb].x, ys = scan_sb[sb].y;
    if (n == 15 || s == last_scan) {
      // Entering a subblock: paths started before code sb_coded_flag = 1
      // (inner subblock), the template terms from their completed subblocks.
      err0_sb = 0;
      // The right, below and below-right subblocks hold the template
      // neighbours outside this one; each path's levels there come from its history.
      int nb_sb[3] = {-1, -1, -1};
      if (xs + 1 < sbw) nb_sb[0] = sb_index[ys * sbw + xs + 1];
      if (ys + 1 < sbh) nb_sb[1] = sb_index[(ys + 1) * sbw + xs];
      if (xs + 1 < sbw && ys + 1 < sbh) nb_sb[2] = sb_index[(ys + 1) * sbw + xs + 1];
      const int reach = std::max(nb_sb[0], std::max(nb_sb[1], nb_sb[2]));
      const uint8_t *nb_lv[4][3] = {};
      for (int st = 0; st < 4; st++) {
        j_entry[st] = J[st];
        origin[st] = st;
        rem_entry[st] = rem[st];
        std::fill_n(sbl[st], 16, 0);
        csbf_of[st] = 0;
        if (J[st] >= kInf) continue;
        for (int k = sb + 1, cur = st; k <= reach && cur >= 0; k++) {
          for (int j = 0; j < 3; j++)
            if (nb_sb[j] == k) nb_lv[st][j] = hist[k][cur];
          cur = par[k][cur];
        }
        for (int j = 0; j < 2; j++)
          if (nb_lv[st][j])
            for (int m = 0; m < 16; m++) csbf_of[st] |= nb_lv[st][j][m] != 0;
        if (sb > 0) J[st] += lambda * sb_bits[csbf_of[st]][1];
      }
      for (int m = 0; m < 16; m++) {
        const int x = (xs << 2) + scan4[m].x, y = (ys << 2) + scan4[m].y;
        const int nb[5][2] = {{x + 1, y}, {x + 2, y}, {x + 1, y + 1}, {x, y + 1}, {x, y + 2}};
        num_in[m] = 0;
        for (int st = 0; st < 4; st++) out_sum1[st][m] = out_num[st][m] = out_sum[st][m] = 0;
        for (const auto &c : nb) {
          if (c[0] >= nzw || c[1] >= nzh) continue;
          const int nn = n_of[(c[1] & 3) * 4 + (c[0] & 3)];
          const int dx = (c[0] >> 2) - xs, dy = (c[1] >> 2) - ys;
          if (!dx && !dy) {
            in_n[m][num_in[m]++] = nn;
            continue;
          }
          const int j = dx && dy ? 2 : (dx ? 0 : 1);
          for (int st = 0; st < 4; st++) {
            if (!nb_lv[st][j]) continue;
            const int v = nb_lv[st][j][nn];
            out_sum1[st][m] += std::min(4 + (v & 1), v);
            out_num[st][m] += v != 0;
            out_sum[st][m] += v;
          }
        }
      }
    }
    const double err0 = p.q * p.q * dscale;
    err0_sb += err0;
    double Jn[4] = {kInf, kInf, kInf, kInf};
    Decision *d = &dec[size_t(s) * 4];
    // Candidate AbsLevels per quantiser: 0 and the two nearest, with their distortion.
    int cand[2][3], ncand[2];
    double dist[2][3];
    for (int qz = 0; qz < 2; qz++) {
      cand[qz][0] = 0;
      dist[qz][0] = err0;
      ncand[qz] = 1;
      const int k0 = qz == 0 ? int(p.q * 0.5) : int((p.q + 1.0) * 0.5);
      if (p.q >= (qz == 0 ? 1.0 : 0.5))
        for (int k = std::max(1, k0); k <= k0 + 1; k++) {
          const double e = p.q - trans_level(k, 2 * qz);
          cand[qz][ncand[qz]] = k;
          dist[qz][ncand[qz]++] = e * e * dscale;
        }
    }
    int key[4];               // gtx ctxInc and cRiceParam of each state's template
    double lbits[4][3] = {};  // level bits of its candidates (shared by states with equal key and quantiser)
    int used[4][3] = {};      // regular bins of each candidate
    for (int st = 0; st < 4; st++) {
      if (J[st] >= kInf) continue;
      const int qz = st >> 1, o = origin[st];
      int loc_sum = 0, num_sig = 0, sum_abs = 0;
      if (o >= 0) { loc_sum = out_sum1[o][n]; num_sig = out_num[o][n]; sum_abs = out_sum[o][n]; }
      for (int i = 0; i < num_in[n]; i++) {
        const int v = sbl[st][in_n[n][i]];
        loc_sum += std::min(4 + (v & 1), v);
        num_sig += v != 0;
        sum_abs += v;
      }
      double r[3];
      if (rem[st] >= 4) {
        const int sig_ctx = CTX_SIG_COEFF_FLAG + sig_coeff_flag_ctx_inc(loc_sum, p.x, p.y, c_idx, st);
        const int gtx_off = gtx_ctx_inc(false, loc_sum, num_sig, p.x, p.y, c_idx);
        const int rice = rice_param(sum_abs, 4);
        key[st] = gtx_off * 4 + rice;
        int same = -1;
        for (int o2 = qz * 2; o2 < st; o2++)
          if (J[o2] < kInf && rem[o2] >= 4 && key[o2] == key[st]) same = o2;
        for (int c = 1; c < ncand[qz]; c++)
          lbits[st][c] = same >= 0 ? lbits[same][c] : level_bits(bc, cand[qz][c], gtx_off, rice);
        r[0] = bc(sig_ctx, 0);
        used[st][0] = 1;
        for (int c = 1; c < ncand[qz]; c++) {
          r[c] = bc(sig_ctx, 1) + lbits[st][c];
          used[st][c] = cand[qz][c] > 1 ? 4 : 2;
        }
      } else {
        // dec_abs_level (9.3.3.12 binarisation of the mapped value) and the sign.
        key[st] = -1;
        const int rice = rice_param(sum_abs, 0);
        const int zero_pos = dec_abs_level_zero_pos(rice, st);
        for (int c = 0; c < ncand[qz]; c++) {
          const int k = cand[qz][c];
          const uint32_t v = k == 0 ? uint32_t(zero_pos) : (k <= zero_pos ? uint32_t(k - 1) : uint32_t(k));
          r[c] = rice_golomb_bits(v, rice) + (k ? 1.0 : 0.0);
          used[st][c] = 0;
        }
      }
      for (int c = 0; c < ncand[qz]; c++) {
        const int k = cand[qz][c];
        const double j = J[st] + dist[qz][c] + lambda * r[c];
        const int ns = qstate_next(st, k);
        if (j < Jn[ns]) { Jn[ns] = j; d[ns] = Decision{int8_t(st), k}; nrem[ns] = rem[st] - used[st][c]; }
      }
    }
    // A path starting here: this is the last significant position, QState
    // 0, nothing coded after it.
    if (ncand[0] > 1 && last_x_bits[p.x] < 0) last_x_bits[p.x] = prefix_bits(p.x, CTX_LAST_X_PREFIX, off_x, shift_x, max_gx);
    if (ncand[0] > 1 && last_y_bits[p.y] < 0) last_y_bits[p.y] = prefix_bits(p.y, CTX_LAST_Y_PREFIX, off_y, shift_y, max_gy);
    const double last_pos_bits = last_x_bits[p.x] + last_y_bits[p.y];
    for (int c = 1; c < ncand[0]; c++) {
      const int k = cand[0][c];
      const double j = j_none + dist[0][c] + lambda * (level_bits(bc, k, last_gtx_off, last_rice) + last_pos_bits);
      const int ns = qstate_next(0, k);
      if (j < Jn[ns]) { Jn[ns] = j; d[ns] = Decision{-1, k}; nrem[ns] = rem_bins_start - (k > 1 ? 3 : 1); }
    }
    j_none += err0;
    for (int ns = 0; ns < 4; ns++) {
      if (Jn[ns] >= kInf) continue;
      const int ps = d[ns].prev;
      if (ps >= 0) { std::copy_n(sbl[ps], 16, nsbl[ns]); norigin[ns] = origin[ps]; }
      else { std::fill_n(nsbl[ns], 16, 0); norigin[ns] = -1; }
      nsbl[ns][n] = d[ns].k;
    }
    if (n == 0 && sb > 0) {
      // Leaving an inner subblock: the alternative sb_coded_flag = 0 keeps
      // the entry state (16 parity-0 transitions are the identity).
      for (int st = 0; st < 4; st++) {
        zero_sb[sb][st] = false;
        if (j_entry[st] >= kInf) continue;
        const double jz = j_entry[st] + lambda * sb_bits[csbf_of[st]][0] + err0_sb;
        if (jz < Jn[st]) {
          Jn[st] = jz;
          zero_sb[sb][st] = true;
          std::fill_n(nsbl[st], 16, 0);
          norigin[st] = st;
          nrem[st] = rem_entry[st];
        }
      }
    }
    for (int st = 0; st < 4; st++) {
      J[st] = Jn[st];
      if (Jn[st] >= kInf) continue;
      std::copy_n(nsbl[st], 16, sbl[st]);
      origin[st] = norigin[st];
      rem[st] = nrem[st];
    }
    if (n == 0 && s > 0) {
      // Subblock end: the history of each path.
      for (int st = 0; st < 4; st++) {
        if (J[st] >= kInf) continue;
        for (int m = 0; m < 16; m++) hist[sb][st][m] = tpl_level(sbl[st][m]);
        par[sb][st] = int8_t(origin[st]);
      }
    }
  }
  int best = -1;
  double jb = j_none;
  for (int st = 0; st < 4; st++)
    if (J[st] < jb) { jb = J[st]; best = st; }
  if (best < 0) return 0;
  // Back-tracking from scan position 0 up to the last significant position.
  int nz = 0, st = best, s = 0;
  while (s <= last_scan) {
    if ((s & 15) == 0 && (s >> 4) > 0 && zero_sb[s >> 4][st]) { s += 16; continue; }
    const Decision &d = dec[size_t(s) * 4 + st];
    const int t = trans_level(d.k, d.prev < 0 ? 0 : d.prev);
    if (t) {
      const ScanPoint &p = pt[s];
      level[p.y * tw + p.x] = coeff[p.y * tw + p.x] < 0 ? -t : t;
      nz++;
    }
    if (d.prev < 0) break;
    st = d.prev;
    s++;
  }
  return nz;
}

int sign_hiding_adjust(const int32_t *coeff, int log2w, int log2h, int qp, int bit_depth, double lambda,
                       int32_t *level) {
  const int tw = 1 << log2w;
  const int zo_w = log2_zo_tb_size(log2w), zo_h = log2_zo_tb_size(log2h);
  const QuantParams qpar = quant_params(log2w, log2h, qp, bit_depth);
  const double inv_step = qpar.scale / std::ldexp(1.0, qpar.qbits);
  const double err_scale = std::ldexp(1.0, -int(std::lround(2 * qpar.transform_shift)));
  const double dscale = err_scale / (inv_step * inv_step);
  const double new_sig_bits = 3.0, drop_sig_bits = 3.0;  // rough rate of a level 1 (sig, gt1, sign)
  const ScanPos *scan4 = diag_scan(2, 2);
  const int sbw = 1 << (zo_w - 2), sbh = 1 << (zo_h - 2);
  int nz = 0;
  for (int ys = 0; ys < sbh; ys++)
    for (int xs = 0; xs < sbw; xs++) {
      int first = 16, last = -1, sum = 0;
      int idx[16];
      for (int n = 0; n < 16; n++) {
        idx[n] = ((ys << 2) + scan4[n].y) * tw + (xs << 2) + scan4[n].x;
        const int a = std::abs(level[idx[n]]);
        if (!a) continue;
        first = std::min(first, n);
        last = std::max(last, n);
        sum += a;
      }
      if (last - first > 3 && ((level[idx[first]] < 0) != bool(sum & 1))) {
        // One +-1 change flips the parity; keep firstSig / lastSig in place.
        double best = kInf;
        int best_n = -1, best_delta = 0;
        for (int n = first; n <= last; n++) {
          const int32_t l = level[idx[n]];
          const int a = std::abs(l);
          const double q = std::abs(double(coeff[idx[n]])) * inv_step;
          const double d0 = (q - a) * (q - a);
          auto consider = [&](int na, double rate_bits) {
            const double c = ((q - na) * (q - na) - d0) * dscale + lambda * rate_bits;
            if (c < best) { best = c; best_n = n; best_delta = na - a; }
          };
          if (a < 32767) consider(a + 1, a ? 0.0 : new_sig_bits);
          if (a > 1 || (a == 1 && n != first && n != last)) consider(a - 1, a == 1 ? -drop_sig_bits : 0.0);
        }
        const int32_t l = level[idx[best_n]];
        const int na = std::abs(l) + best_delta;
        const bool neg = l ? l < 0 : coeff[idx[best_n]] < 0;
        level[idx[best_n]] = neg ? -na : na;
      }
      for (int n = 0; n < 16; n++) nz += level[idx[n]] != 0;
    }
  return nz;
}

}  // namespace pyvtm
