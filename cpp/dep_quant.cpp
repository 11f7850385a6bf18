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

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
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

// rice_golomb_bits() with the common short codes inline.
inline double rice_bits(uint32_t value, int rice) {
  return value < (uint32_t(kRiceCutoff) << rice) ? double((value >> rice) + 1 + rice) : rice_golomb_bits(value, rice);
}

// |TransCoeffLevel| of AbsLevel k in the quantiser of QState qs.
inline int trans_level(int k, int qs) { return k == 0 ? 0 : 2 * k - (qs > 1 ? 1 : 0); }

// rice_param(sum_abs, 4) and rice_param(sum_abs, 0) by the template sum
// (at most 5 * 63, see tpl_level).
struct RiceTables {
  uint8_t r4[5 * 63 + 1], r0[5 * 63 + 1];
  RiceTables() {
    for (int v = 0; v <= 5 * 63; v++) {
      r4[v] = uint8_t(rice_param(v, 4));
      r0[v] = uint8_t(rice_param(v, 0));
    }
  }
};
const RiceTables kRice;

// AbsLevel as kept for the templates: values above 63 only matter through
// their parity (AbsLevelPass1) and a saturated Rice sum.
inline uint8_t tpl_level(int k) { return uint8_t(k > 63 ? 62 + (k & 1) : k); }

// Template terms of one neighbour AbsLevel v (tpl_level), packed so that a
// sum over the (at most 5) neighbours adds them all at once: bits 0..7
// AbsLevelPass1 (Min(4 + (v & 1), v)), 8..15 v != 0, 16..31 v.
struct TplPack {
  uint32_t v[64];
  constexpr TplPack() : v() {
    for (int a = 0; a < 64; a++) v[a] = uint32_t(std::min(4 + (a & 1), a)) | (uint32_t(a != 0) << 8) | (uint32_t(a) << 16);
  }
};
constexpr TplPack kTpl;

// The AbsLevels one path chose in one 4x4 subblock, by scan index inside it.
// v[16]: always 0, the slot of the absent template neighbours (see DqShape::in_n).
struct Lv16 {
  uint8_t v[17];
};

struct Decision {
  int8_t prev;  // state before this position, -1: the path starts here (last significant position)
  int32_t k;    // AbsLevel chosen here
};

// Scan geometry of one coded region (Min(W, 32) x Min(H, 32)), shared by all
// calls: position of each scan index and the template neighbours
// (9.3.4.2.8: (x+1, y), (x+2, y), (x+1, y+1), (x, y+1), (x, y+2)) inside its
// subblock (scan index there) and outside it (j, see kOutRight.., and the
// scan index inside that subblock). Subblocks of 16 positions (7.3.11.11):
// 4x4, or 1x16 / 2x8 / 16x1 / 8x2 in TBs one or two samples wide or tall.
enum : uint8_t { kOutRight, kOutBelow, kOutBelowRight, kOutRight2, kOutBelow2, kNumOut };
struct DqShape {
  int sbw = 0, sbh = 0, total = 0;
  int lsw = 2, lsh = 2;  // log2SbW, log2SbH
  std::vector<uint8_t> px, py, num_in, num_out;
  // in_n: num_in neighbours, then index 16 (a zero AbsLevel) up to 5.
  std::vector<std::array<uint8_t, 5>> in_n, out_j, out_n;
  std::vector<int8_t> sb_index;  // subblock (ys * sbw + xs) -> its scan index
};

// log2SbW / log2SbH of 7.3.11.11 for a coded region of at least 16 positions.
inline int dq_log2_sb_w(int zw, int zh) { return zw < 2 ? zw : zh < 2 ? 4 - zh : 2; }
inline int dq_log2_sb_h(int zw, int zh) { return zw < 2 ? 4 - zw : zh < 2 ? zh : 2; }

// zo_w, zo_h: log2ZoTbWidth / log2ZoTbHeight, 0..5, zo_w + zo_h >= 4.
const DqShape &dq_shape(int zo_w, int zo_h) {
  static const auto *shapes = [] {
    auto *t = new DqShape[36];
    for (int lw = 0; lw <= 5; lw++)
      for (int lh = 0; lh <= 5; lh++) {
        if (lw + lh < 4) continue;
        DqShape &sh = t[lw * 6 + lh];
        const int nzw = 1 << lw, nzh = 1 << lh;
        const int lsw = dq_log2_sb_w(lw, lh), lsh = dq_log2_sb_h(lw, lh);
        sh.lsw = lsw;
        sh.lsh = lsh;
        sh.sbw = 1 << (lw - lsw);
        sh.sbh = 1 << (lh - lsh);
        sh.total = nzw * nzh;
        const ScanPos *scan_sb = diag_scan(lw - lsw, lh - lsh), *scan16 = diag_scan(lsw, lsh);
        int n_of[16];
        for (int m = 0; m < 16; m++) n_of[(scan16[m].y << lsw) + scan16[m].x] = m;
        sh.sb_index.assign(size_t(sh.sbw * sh.sbh), 0);
        for (int i = 0; i < sh.sbw * sh.sbh; i++) sh.sb_index[scan_sb[i].y * sh.sbw + scan_sb[i].x] = int8_t(i);
        const size_t n = size_t(sh.total);
        sh.px.resize(n);
        sh.py.resize(n);
        sh.num_in.assign(n, 0);
        sh.num_out.assign(n, 0);
        sh.in_n.assign(n, {16, 16, 16, 16, 16});
        sh.out_j.resize(n);
        sh.out_n.resize(n);
        for (int s = 0; s < sh.total; s++) {
          const int xs = scan_sb[s >> 4].x, ys = scan_sb[s >> 4].y;
          const int x = (xs << lsw) + scan16[s & 15].x, y = (ys << lsh) + scan16[s & 15].y;
          sh.px[size_t(s)] = uint8_t(x);
          sh.py[size_t(s)] = uint8_t(y);
          const int nb[5][2] = {{x + 1, y}, {x + 2, y}, {x + 1, y + 1}, {x, y + 1}, {x, y + 2}};
          for (const auto &c : nb) {
            if (c[0] >= nzw || c[1] >= nzh) continue;
            const int nn = n_of[((c[1] & ((1 << lsh) - 1)) << lsw) + (c[0] & ((1 << lsw) - 1))];
            const int dx = (c[0] >> lsw) - xs, dy = (c[1] >> lsh) - ys;
            if (!dx && !dy) {
              sh.in_n[size_t(s)][sh.num_in[size_t(s)]++] = uint8_t(nn);
            } else {
              // (A neighbour two subblocks away only in 1-wide / 1-tall subblocks.)
              const int k = sh.num_out[size_t(s)]++;
              sh.out_j[size_t(s)][k] = uint8_t(dx && dy ? kOutBelowRight
                                               : dx == 2 ? kOutRight2
                                               : dy == 2 ? kOutBelow2
                                               : dx      ? kOutRight
                                                         : kOutBelow);
              sh.out_n[size_t(s)][k] = uint8_t(nn);
            }
          }
        }
      }
    return t;
  }();
  return shapes[zo_w * 6 + zo_h];
}

// Bin costs of one TB's quantisation, filled up front for its component
// (sig_coeff_flag ctxInc 0..35 luma / 36..59 chroma, 9.3.4.2.8; gtx ctxInc
// 0..20 luma / 21..31 chroma, 9.3.4.2.9): the sig_coeff_flag bins, and per
// gtx context the bits of an AbsLevel without its sig_coeff_flag and
// remainder (sign, gt1, par, gt3) by slot (k = 1, 2, 3, >= 4 even, >= 4
// odd). (Up front rather than on first use: about 5% less trellis time.)
class BinCosts {
 public:
  BinCosts(const ContextSet &cs, int c_idx) {
    for (int ctx = c_idx ? 36 : 0; ctx < (c_idx ? 60 : 36); ctx++) {
      sig_[ctx][0] = cost_bits(cs.m[CTX_SIG_COEFF_FLAG + ctx], 0);
      sig_[ctx][1] = cost_bits(cs.m[CTX_SIG_COEFF_FLAG + ctx], 1);
    }
    for (int gtx = c_idx ? 21 : 0; gtx < (c_idx ? 32 : 21); gtx++) {
      const ContextModel &g1 = cs.m[CTX_ABS_LEVEL_GT1_FLAG + gtx], &pa = cs.m[CTX_PAR_LEVEL_FLAG + gtx],
                         &g3 = cs.m[CTX_ABS_LEVEL_GT3_FLAG + gtx];
      double *t = lv_[gtx];
      t[0] = 1.0 + cost_bits(g1, 0);
      for (int k = 2; k <= 5; k++) t[k - 1] = 1.0 + cost_bits(g1, 1) + cost_bits(pa, k & 1) + cost_bits(g3, k > 3);
    }
  }
  // The two sig_coeff_flag bin costs of context ctxInc ctx.
  const double *sig(int ctx) const { return sig_[ctx]; }
  // Bits of AbsLevels k >= 1 without their sig_coeff_flag: sign, gt1, par,
  // gt3 (the regular-bin passes of 7.3.11.11) by slot, see level_bits().
  const double *level(int gtx) const { return lv_[gtx]; }
  static double level_bits(const double *t, int k, int rice) {
    return k <= 3 ? t[k - 1] : t[3 + (k & 1)] + rice_bits(uint32_t((k - 4) >> 1), rice);
  }

 private:
  double sig_[60][2];
  double lv_[32][5];
};

}  // namespace

// The trellis keeps, per QState, the cheapest path from its last significant
// position down to the current scan position. The context templates
// (9.3.4.2.8) and csbfCtx are those of each path: a state carries the
// AbsLevels its path chose in the current subblock and, from the subblocks
// coded before, the AbsLevels and sb_coded_flags of its path (copied from
// the state it came from when a subblock ends).
int dep_quant_quantize(const int32_t *coeff, int log2w, int log2h, int qp, int c_idx, int bit_depth,
                       const ContextSet &cs, double lambda, int32_t *level, double *rate_bits) {
  const int tw = 1 << log2w;
  const int zo_w = log2_zo_tb_size(log2w), zo_h = log2_zo_tb_size(log2h);
  const int nzw = 1 << zo_w, nzh = 1 << zo_h;
  if (zo_w + zo_h < 4) throw std::invalid_argument("dep_quant_quantize: TBs of fewer than 16 samples");
  // Lattice step Delta / 2 of qP + 1 in forward_transform() units.
  const QuantParams qpar = quant_params(log2w, log2h, qp + 1, bit_depth);
  const double inv_step = 2.0 * qpar.scale / std::ldexp(1.0, qpar.qbits);
  const double err_scale = std::ldexp(1.0, -int(std::lround(2 * qpar.transform_shift)));
  // Costs in bits: D / lambda + R (dscale: SSE of one lattice unit over lambda).
  const double dscale = err_scale / (inv_step * inv_step) / lambda;

  std::fill(level, level + (size_t(1) << (log2w + log2h)), 0);
  const DqShape &sh = dq_shape(zo_w, zo_h);
  const int sbw = sh.sbw, sbh = sh.sbh;
  const ScanPos *scan_sb = diag_scan(zo_w - sh.lsw, zo_h - sh.lsh);
  const int total = sh.total;
  const uint8_t *px = sh.px.data(), *py = sh.py.data();

  // |coeff| in units of the DQ lattice step (Delta / 2), by scan index.
  double qv[32 * 32];
  int last_scan = -1;
  for (int s = 0; s < total; s++) {
    qv[s] = std::min(std::abs(double(coeff[py[s] * tw + px[s]])) * inv_step, 32766.0);
    if (qv[s] >= 1.0) last_scan = s;  // a last position needs a nonzero level of Q0 (QState 0)
  }
  if (last_scan < 0) return 0;
  const BinCosts bc(cs, c_idx);

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

  static thread_local std::vector<Decision> dec_buf;
  dec_buf.resize(size_t(last_scan + 1) * 4);
  Decision *dec = dec_buf.data();
  // Each path's AbsLevels of the subblocks it completed, as a history per
  // subblock: hist[sb][st] the levels the path ending in state st at the end
  // of subblock sb chose there, par[sb][st] its state at the end of subblock
  // sb + 1 (-1: the path started in sb).
  Lv16 hist[64][4];
  int8_t par[64][4];
  // AbsLevels of the current subblock along each path (double-buffered).
  Lv16 lv_a[4] = {}, lv_b[4] = {};
  Lv16 *sbl = lv_a, *nsbl = lv_b;
  int origin[4] = {-1, -1, -1, -1};  // state at the entry of the current subblock, -1: started in it
  int norigin[4];
  // remBinsPass1 left along each path: below 4 the levels go to
  // dec_abs_level (bypass, ZeroPos by QState) instead of the context-coded passes.
  const int rem_bins_start = ((1 << (zo_w + zo_h)) * 7) >> 2;
  int rem[4] = {0, 0, 0, 0}, nrem[4], rem_entry[4] = {0, 0, 0, 0};
  int csbf_of[4] = {0, 0, 0, 0};  // csbfCtx of the current subblock along each entry state's path

  double J[4] = {kInf, kInf, kInf, kInf};
  double j_entry[4] = {kInf, kInf, kInf, kInf};
  bool zero_sb[64][4];
  double j_none = 0;  // all levels zero so far (no last position yet)
  double err0_sb = 0;
  // Template terms of the neighbours outside the current subblock, per entry
  // state and scan index: sum of AbsLevelPass1, nonzero count, sum of AbsLevel.
  uint32_t out_tpl[4][16];  // packed (TplPack)
  const Lv16 kZero = {};
  for (int s = last_scan; s >= 0; s--) {
    const int sb = s >> 4, n = s & 15;
    const int x = px[s], y = py[s];
    if (n == 15 || s == last_scan) {
      // Entering a subblock: paths started before code sb_coded_flag = 1
      // (inner subblock), the template terms from their completed subblocks.
      const int xs = scan_sb[sb].x, ys = scan_sb[sb].y;
      err0_sb = 0;
      // The right, below and below-right subblocks (and, for 1-wide / 1-tall
      // subblocks, the next but one) hold the template neighbours outside
      // this one; each path's levels there come from its history.
      int nb_sb[kNumOut] = {-1, -1, -1, -1, -1};
      if (xs + 1 < sbw) nb_sb[kOutRight] = sh.sb_index[size_t(ys * sbw + xs + 1)];
      if (ys + 1 < sbh) nb_sb[kOutBelow] = sh.sb_index[size_t((ys + 1) * sbw + xs)];
      if (xs + 1 < sbw && ys + 1 < sbh) nb_sb[kOutBelowRight] = sh.sb_index[size_t((ys + 1) * sbw + xs + 1)];
      if (sh.lsw == 0 && xs + 2 < sbw) nb_sb[kOutRight2] = sh.sb_index[size_t(ys * sbw + xs + 2)];
      if (sh.lsh == 0 && ys + 2 < sbh) nb_sb[kOutBelow2] = sh.sb_index[size_t((ys + 2) * sbw + xs)];
      int reach = -1;
      for (int j = 0; j < kNumOut; j++) reach = std::max(reach, nb_sb[j]);
      const uint8_t *nb_lv[4][kNumOut];
      for (int st = 0; st < 4; st++) {
        j_entry[st] = J[st];
        origin[st] = st;
        rem_entry[st] = rem[st];
        sbl[st] = kZero;
        csbf_of[st] = 0;
        for (int j = 0; j < kNumOut; j++) nb_lv[st][j] = kZero.v;
        if (J[st] >= kInf) continue;
        for (int k = sb + 1, cur = st; k <= reach && cur >= 0; k++) {
          for (int j = 0; j < kNumOut; j++)
            if (nb_sb[j] == k) nb_lv[st][j] = hist[k][cur].v;
          cur = par[k][cur];
        }
        // csbfCtx: the right and the below subblock (9.3.4.2.5).
        for (int j : {int(kOutRight), int(kOutBelow)})
          for (int m = 0; m < 16; m++) csbf_of[st] |= nb_lv[st][j][m] != 0;
        if (sb > 0) J[st] += sb_bits[csbf_of[st]][1];
      }
      // (Only for the live states; a state whose neighbour subblocks are
      // those of an earlier state shares its terms; none at all: zeros.)
      for (int st = 0; st < 4; st++) {
        if (J[st] >= kInf) continue;
        int same = -1;
        for (int p = 0; p < st && same < 0; p++)
          if (J[p] < kInf && std::equal(nb_lv[p], nb_lv[p] + kNumOut, nb_lv[st])) same = p;
        if (same >= 0) {
          std::copy_n(out_tpl[same], 16, out_tpl[st]);
          continue;
        }
        if (std::all_of(nb_lv[st], nb_lv[st] + kNumOut, [&](const uint8_t *v) { return v == kZero.v; })) {
          std::fill_n(out_tpl[st], 16, 0u);
          continue;
        }
        for (int m = 0; m < 16; m++) {
          const size_t sm = size_t((sb << 4) + m);
          const int no = sh.num_out[sm];
          const uint8_t *oj = sh.out_j[sm].data(), *on = sh.out_n[sm].data();
          uint32_t t = 0;
          for (int i = 0; i < no; i++) t += kTpl.v[nb_lv[st][oj[i]][on[i]]];
          out_tpl[st][m] = t;
        }
      }
    }
    const double q = qv[s];
    const double err0 = q * q * dscale;
    err0_sb += err0;
    double Jn[4] = {kInf, kInf, kInf, kInf};
    Decision *d = &dec[size_t(s) * 4];
    // Candidate AbsLevels per quantiser with their distortion: 0 and the
    // levels of its parity among the four |TransCoeffLevel| from
    // Max(1, floor(q - 1.5)) (the nearest ones, rounding down preferred);
    // below q = 1.5 the smallest nonzero level of each quantiser, however
    // small q is: a level that costs a little distortion can move the state
    // to the quantiser that suits the next coefficients (against candidates
    // only from q >= 0.5: -2.0% instead of -0.1% BD-rate Y on img_004), and
    // in the dec_abs_level region it can be cheaper than a zero (ZeroPos).
    int cand[2][3], ncand[2];
    double dist[2][3];
    for (int qz = 0; qz < 2; qz++) {
      cand[qz][0] = 0;
      dist[qz][0] = err0;
      ncand[qz] = 1;
    }
    if (q < 1.5) {
      for (int qz = 0; qz < 2; qz++) {
        const double e = q - (2 - qz);
        cand[qz][1] = 1;
        dist[qz][1] = e * e * dscale;
        ncand[qz] = 2;
      }
    } else {
      const int t0 = std::max(1, int(q - 1.5));
      for (int t = t0; t < t0 + 4; t++) {
        const int qz = t & 1;
        const double e = q - t;
        cand[qz][ncand[qz]] = (t + 1) >> 1;
        dist[qz][ncand[qz]++] = e * e * dscale;
      }
    }
    const uint8_t *in_n = sh.in_n[size_t(s)].data();
    // ctxInc parts of this position (9.3.4.2.8, 9.3.4.2.9) without the template terms.
    const int dpos = x + y;
    const int sig_base = c_idx == 0 ? (dpos < 2 ? 8 : (dpos < 5 ? 4 : 0)) : 36 + (dpos < 2 ? 4 : 0);
    const int sig_set = c_idx == 0 ? 12 : 8;
    const int gtx_base = c_idx == 0 ? 1 + (dpos == 0 ? 15 : (dpos < 3 ? 10 : (dpos < 10 ? 5 : 0))) : 22 + (dpos == 0 ? 5 : 0);
    // Per quantiser the candidate with an even nonzero AbsLevel (-1: none)
    // and the one with an odd AbsLevel: they lead to different states.
    int c_even[2], c_odd[2];
    for (int qz = 0; qz < 2; qz++) {
      c_even[qz] = -1;
      c_odd[qz] = 1;
      for (int c = 1; c < ncand[qz]; c++) (cand[qz][c] & 1 ? c_odd[qz] : c_even[qz]) = c;
    }
    // Per state the cheapest candidate of each AbsLevel parity.
    struct Choice {
      double j;
      int k, rem;
    };
    Choice even[4], odd[4];
    for (int st = 0; st < 4; st++) {
      even[st].j = odd[st].j = kInf;
      if (J[st] >= kInf) continue;
      const int qz = st >> 1, o = origin[st];
      uint32_t t = o >= 0 ? out_tpl[o][n] : 0;
      const uint8_t *lv = sbl[st].v;
      t += kTpl.v[lv[in_n[0]]] + kTpl.v[lv[in_n[1]]] + kTpl.v[lv[in_n[2]]] + kTpl.v[lv[in_n[3]]] + kTpl.v[lv[in_n[4]]];
      const int loc_sum = int(t & 0xff), num_sig = int((t >> 8) & 0xff), sum_abs = int(t >> 16);
      double r[3];
      int used[3];
      if (rem[st] >= 4) {
        const int sig_ctx = sig_base + sig_set * std::max(0, st - 1) + std::min((loc_sum + 1) >> 1, 3);
        const int gtx_off = gtx_base + std::min(loc_sum - num_sig, 4);
        const int rice = kRice.r4[sum_abs];
        const double *sg = bc.sig(sig_ctx);
        r[0] = sg[0];
        used[0] = 1;
        const double *lt = bc.level(gtx_off);
        for (int c = 1; c < ncand[qz]; c++) {
          r[c] = sg[1] + BinCosts::level_bits(lt, cand[qz][c], rice);
          used[c] = cand[qz][c] > 1 ? 4 : 2;
        }
      } else {
        // dec_abs_level (9.3.3.12 binarisation of the mapped value) and the sign.
        const int rice = kRice.r0[sum_abs];
        const int zero_pos = dec_abs_level_zero_pos(rice, st);
        for (int c = 0; c < ncand[qz]; c++) {
          const int k = cand[qz][c];
          const uint32_t v = k == 0 ? uint32_t(zero_pos) : (k <= zero_pos ? uint32_t(k - 1) : uint32_t(k));
          r[c] = rice_bits(v, rice) + (k ? 1.0 : 0.0);
          used[c] = 0;
        }
      }
      even[st] = Choice{J[st] + dist[qz][0] + r[0], 0, rem[st] - used[0]};
      if (const int ce = c_even[qz]; ce >= 0) {
        const double j = J[st] + dist[qz][ce] + r[ce];
        if (j < even[st].j) even[st] = Choice{j, cand[qz][ce], rem[st] - used[ce]};
      }
      const int co = c_odd[qz];
      odd[st] = Choice{J[st] + dist[qz][co] + r[co], cand[qz][co], rem[st] - used[co]};
    }
    // QStateTransTable: state 0 <- (0, even), (1, odd); 2 <- (0, odd), (1, even);
    // 1 <- (2, even), (3, odd); 3 <- (2, odd), (3, even). Ties keep the lower state.
    {
      const Choice *src[4][2] = {{&even[0], &odd[1]}, {&even[2], &odd[3]}, {&odd[0], &even[1]}, {&odd[2], &even[3]}};
      const int8_t src_st[4][2] = {{0, 1}, {2, 3}, {0, 1}, {2, 3}};
      for (int ns = 0; ns < 4; ns++) {
        const int b = src[ns][1]->j < src[ns][0]->j;
        const Choice &ch = *src[ns][b];
        Jn[ns] = ch.j;
        d[ns] = Decision{src_st[ns][b], ch.k};
        nrem[ns] = ch.rem;
      }
    }
    // A path starting here: this is the last significant position, QState
    // 0, nothing coded after it.
    {
      if (last_x_bits[x] < 0) last_x_bits[x] = prefix_bits(x, CTX_LAST_X_PREFIX, off_x, shift_x, max_gx);
      if (last_y_bits[y] < 0) last_y_bits[y] = prefix_bits(y, CTX_LAST_Y_PREFIX, off_y, shift_y, max_gy);
      const double last_pos_bits = last_x_bits[x] + last_y_bits[y];
      const double *lt = bc.level(last_gtx_off);
      for (int c = 1; c < ncand[0]; c++) {
        const int k = cand[0][c];
        const double j = j_none + dist[0][c] + (BinCosts::level_bits(lt, k, last_rice) + last_pos_bits);
        const int ns = qstate_next(0, k);
        if (j < Jn[ns]) { Jn[ns] = j; d[ns] = Decision{-1, k}; nrem[ns] = rem_bins_start - (k > 1 ? 3 : 1); }
      }
    }
    j_none += err0;
    for (int ns = 0; ns < 4; ns++) {
      if (Jn[ns] >= kInf) continue;
      const int ps = d[ns].prev;
      if (ps >= 0) { nsbl[ns] = sbl[ps]; norigin[ns] = origin[ps]; }
      else { nsbl[ns] = kZero; norigin[ns] = -1; }
      nsbl[ns].v[n] = tpl_level(d[ns].k);
    }
    if (n == 0 && sb > 0) {
      // Leaving an inner subblock: the alternative sb_coded_flag = 0 keeps
      // the entry state (16 parity-0 transitions are the identity).
      for (int st = 0; st < 4; st++) {
        zero_sb[sb][st] = false;
        if (j_entry[st] >= kInf) continue;
        const double jz = j_entry[st] + sb_bits[csbf_of[st]][0] + err0_sb;
        if (jz < Jn[st]) {
          Jn[st] = jz;
          zero_sb[sb][st] = true;
          nsbl[st] = kZero;
          norigin[st] = st;
          nrem[st] = rem_entry[st];
        }
      }
    }
    std::swap(sbl, nsbl);
    for (int st = 0; st < 4; st++) {
      J[st] = Jn[st];
      if (Jn[st] >= kInf) continue;
      origin[st] = norigin[st];
      rem[st] = nrem[st];
    }
    if (n == 0 && s > 0) {
      // Subblock end: the history of each path.
      for (int st = 0; st < 4; st++) {
        if (J[st] >= kInf) continue;
        hist[sb][st] = sbl[st];
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
  double d_sum = 0;
  while (s <= last_scan) {
    if ((s & 15) == 0 && (s >> 4) > 0 && zero_sb[s >> 4][st]) {
      for (int m = 0; m < 16; m++) d_sum += qv[s + m] * qv[s + m];
      s += 16;
      continue;
    }
    const Decision &dd = dec[size_t(s) * 4 + st];
    const int t = trans_level(dd.k, dd.prev < 0 ? 0 : dd.prev);
    d_sum += (qv[s] - t) * (qv[s] - t);
    if (t) {
      const int pos = py[s] * tw + px[s];
      level[pos] = coeff[pos] < 0 ? -t : t;
      nz++;
    }
    if (dd.prev < 0) break;
    st = dd.prev;
    s++;
  }
  for (s++; s <= last_scan; s++) d_sum += qv[s] * qv[s];
  if (rate_bits) *rate_bits = jb - d_sum * dscale;
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
