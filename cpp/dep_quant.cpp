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

// Rate-relevant contexts of one scan position, from a template estimate.
// The template (9.3.4.2.8) is split into the neighbours inside the current
// subblock, whose levels each trellis state tracks along its own path, and
// those in subblocks coded before, taken from an estimate.
struct PosCtx {
  int x, y;            // position in the coded region
  double q;            // |coeff| in units of the DQ lattice step (Delta / 2)
  int out_sum1, out_num, out_sum;  // template terms of the neighbours outside the subblock
  int num_in;          // neighbours inside the subblock ...
  int in_n[5];         // ... by scan index n in the subblock
};

// Bits of an AbsLevel k >= 1 without its sig_coeff_flag: sign, gt1, par,
// gt3, abs_remainder (the regular-bin passes of 7.3.11.11).
double level_bits(const ContextSet &cs, int k, int ctx_off, int rice) {
  double b = 1.0;  // coeff_sign_flag
  b += cost_bits(cs.m[CTX_ABS_LEVEL_GT1_FLAG + ctx_off], k > 1);
  if (k > 1) {
    b += cost_bits(cs.m[CTX_PAR_LEVEL_FLAG + ctx_off], k & 1);
    b += cost_bits(cs.m[CTX_ABS_LEVEL_GT3_FLAG + ctx_off], k > 3);
    if (k > 3) b += rice_golomb_bits(uint32_t((k - 4) >> 1), rice);
  }
  return b;
}

// |TransCoeffLevel| of AbsLevel k in the quantiser of QState qs.
inline int trans_level(int k, int qs) { return k == 0 ? 0 : 2 * k - (qs > 1 ? 1 : 0); }

struct Decision {
  int8_t prev;  // state before this position, -1: the path starts here (last significant position)
  int32_t k;    // AbsLevel chosen here
};

}  // namespace

int dep_quant_quantize(const int32_t *coeff, int log2w, int log2h, int qp, int c_idx, int bit_depth,
                       const ContextSet &cs, double lambda, int32_t *level, int passes) {
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
  static thread_local std::vector<PosCtx> pc_buf;
  static thread_local std::vector<int> est_buf, k_buf, t_buf;
  static thread_local std::vector<Decision> dec_buf;
  pc_buf.resize(size_t(total));
  PosCtx *pc = pc_buf.data();
  int last_scan = -1;
  for (int s = 0; s < total; s++) {
    PosCtx &p = pc[size_t(s)];
    p.x = (scan_sb[s >> 4].x << 2) + scan4[s & 15].x;
    p.y = (scan_sb[s >> 4].y << 2) + scan4[s & 15].y;
    p.q = std::min(std::abs(double(coeff[p.y * tw + p.x])) * inv_step, 32766.0);
    if (p.q >= 0.5) last_scan = s;
  }
  if (last_scan < 0) return 0;
  const int last_sb_cand = last_scan >> 4;

  // Last position bits (prefix contexts per dimension, 9.3.4.2.4).
  const int max_gx = last_sig_coeff_prefix_cmax(zo_w), max_gy = last_sig_coeff_prefix_cmax(zo_h);
  int off_x, shift_x, off_y, shift_y;
  last_sig_coeff_prefix_ctx(log2w, c_idx, off_x, shift_x);
  last_sig_coeff_prefix_ctx(log2h, c_idx, off_y, shift_y);
  // Bits of last_sig_coeff_{x,y}_{prefix,suffix}: one term per coordinate.
  auto prefix_bits = [&](int v, int base, int off, int shift, int max_g) {
    double b = 0;
    const int g = g_last_group_idx[v];
    for (int i = 0; i < g; i++) b += cost_bits(cs.m[base + off + (i >> shift)], 1);
    if (g < max_g) b += cost_bits(cs.m[base + off + (g >> shift)], 0);
    return b + last_sig_coeff_suffix_len(g);
  };
  double last_x_bits[32], last_y_bits[32];
  for (int v = 0; v < nzw; v++) last_x_bits[v] = prefix_bits(v, CTX_LAST_X_PREFIX, off_x, shift_x, max_gx);
  for (int v = 0; v < nzh; v++) last_y_bits[v] = prefix_bits(v, CTX_LAST_Y_PREFIX, off_y, shift_y, max_gy);
  const int last_gtx_off = gtx_ctx_inc(true, 0, 0, 0, 0, c_idx);

  // Template estimate (AbsLevel per position of the coded region): first a
  // rounding of the lattice index, then the previous pass's decisions.
  est_buf.assign(size_t(nzw) * nzh, 0);
  int *est = est_buf.data();
  for (int s = 0; s <= last_scan; s++) {
    const PosCtx &p = pc[size_t(s)];
    est[size_t(p.y) * nzw + p.x] = p.q < 0.75 ? 0 : int(p.q * 0.5 + 0.5);
  }

  dec_buf.resize(size_t(last_scan + 1) * 4);
  k_buf.resize(size_t(total));
  t_buf.resize(size_t(total));
  Decision *dec = dec_buf.data();
  int *chosen_k = k_buf.data(), *chosen_t = t_buf.data();
  int nz = 0;
  // Scan index inside its subblock of each position of the coded region.
  static thread_local std::vector<int8_t> n_at_buf;
  n_at_buf.resize(size_t(nzw) * nzh);
  int8_t *n_at = n_at_buf.data();
  for (int s = 0; s < total; s++) n_at[size_t(pc[size_t(s)].y) * nzw + pc[size_t(s)].x] = int8_t(s & 15);
  for (int pass = 0; pass < std::max(1, passes); pass++) {
    // Template terms of every position: outside the subblock from the estimate.
    for (int s = 0; s <= last_scan; s++) {
      PosCtx &p = pc[size_t(s)];
      p.out_sum1 = p.out_num = p.out_sum = p.num_in = 0;
      const int nb[5][2] = {{p.x + 1, p.y}, {p.x + 2, p.y}, {p.x + 1, p.y + 1}, {p.x, p.y + 1}, {p.x, p.y + 2}};
      for (const auto &c : nb) {
        if (c[0] >= nzw || c[1] >= nzh) continue;
        if ((c[0] >> 2) == (p.x >> 2) && (c[1] >> 2) == (p.y >> 2)) {
          p.in_n[p.num_in++] = n_at[size_t(c[1]) * nzw + c[0]];
        } else {
          const int v = est[size_t(c[1]) * nzw + c[0]];
          p.out_sum1 += std::min(4 + (v & 1), v);
          p.out_num += v != 0;
          p.out_sum += v;
        }
      }
    }
    // sb_coded_flag bits per subblock (csbf from the estimate).
    double sb_bits[64][2] = {};
    {
      uint8_t sb_nz[64] = {0};
      for (int s = 0; s <= last_scan; s++)
        if (est[size_t(pc[size_t(s)].y) * nzw + pc[size_t(s)].x]) sb_nz[s >> 4] = 1;
      for (int i = 0; i <= last_sb_cand; i++) {
        const int xs = scan_sb[i].x, ys = scan_sb[i].y;
        int csbf = 0;
        for (int j = 0; j <= last_sb_cand; j++) {
          if ((scan_sb[j].x == xs + 1 && scan_sb[j].y == ys) || (scan_sb[j].x == xs && scan_sb[j].y == ys + 1))
            csbf |= sb_nz[j];
        }
        const ContextModel &m = cs.m[CTX_SB_CODED_FLAG + sb_coded_flag_ctx_inc(csbf, c_idx)];
        sb_bits[i][0] = cost_bits(m, 0);
        sb_bits[i][1] = cost_bits(m, 1);
      }
    }

    // Viterbi over the reverse scan; sbl[st] holds the AbsLevels the path
    // of state st chose in the current subblock.
    double J[4] = {kInf, kInf, kInf, kInf};
    double j_entry[4] = {kInf, kInf, kInf, kInf};
    int sbl[4][16] = {}, nsbl[4][16];
    bool zero_sb[64][4] = {};
    double j_none = 0;  // all levels zero so far (no last position yet)
    double err0_sb = 0;
    for (int s = last_scan; s >= 0; s--) {
      const PosCtx &p = pc[size_t(s)];
      const int sb = s >> 4, n = s & 15;
      if (n == 15 || s == last_scan) {
        err0_sb = 0;
        std::fill(&sbl[0][0], &sbl[0][0] + 64, 0);
        for (int st = 0; st < 4; st++) {
          j_entry[st] = J[st];
          // Paths started above code sb_coded_flag = 1 for an inner subblock.
          if (sb > 0 && J[st] < kInf) J[st] += lambda * sb_bits[sb][1];
        }
      }
      const double err0 = p.q * p.q * dscale;
      err0_sb += err0;
      double Jn[4] = {kInf, kInf, kInf, kInf};
      Decision *d = &dec[size_t(s) * 4];
      // Candidate AbsLevels per quantiser: 0 and the two nearest, with their distortion.
      int cand[2][3], ncand[2] = {0, 0};
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
      for (int st = 0; st < 4; st++) {
        if (J[st] >= kInf) continue;
        const int qz = st >> 1;
        int loc_sum = p.out_sum1, num_sig = p.out_num, sum_abs = p.out_sum;
        for (int i = 0; i < p.num_in; i++) {
          const int v = sbl[st][p.in_n[i]];
          loc_sum += std::min(4 + (v & 1), v);
          num_sig += v != 0;
          sum_abs += v;
        }
        const ContextModel &sig_m = cs.m[CTX_SIG_COEFF_FLAG + sig_coeff_flag_ctx_inc(loc_sum, p.x, p.y, c_idx, st)];
        const int gtx_off = gtx_ctx_inc(false, loc_sum, num_sig, p.x, p.y, c_idx);
        const int rice = rice_param(sum_abs, 4);
        key[st] = gtx_off * 4 + rice;
        int same = -1;
        for (int o = qz * 2; o < st; o++)
          if (J[o] < kInf && key[o] == key[st]) same = o;
        for (int c = 1; c < ncand[qz]; c++)
          lbits[st][c] = same >= 0 ? lbits[same][c] : level_bits(cs, cand[qz][c], gtx_off, rice);
        const double sig0 = cost_bits(sig_m, 0), sig1 = cost_bits(sig_m, 1);
        for (int c = 0; c < ncand[qz]; c++) {
          const int k = cand[qz][c];
          const double r = k ? sig1 + lbits[st][c] : sig0;
          const double j = J[st] + dist[qz][c] + lambda * r;
          const int ns = qstate_next(st, k);
          if (j < Jn[ns]) { Jn[ns] = j; d[ns] = Decision{int8_t(st), k}; }
        }
      }
      // A path starting here: this is the last significant position, QState
      // 0, nothing after it (template sum 0).
      const double last_pos_bits = last_x_bits[p.x] + last_y_bits[p.y];
      for (int c = 1; c < ncand[0]; c++) {
        const int k = cand[0][c];
        const double j = j_none + dist[0][c] + lambda * (level_bits(cs, k, last_gtx_off, rice_param(0, 4)) + last_pos_bits);
        const int ns = qstate_next(0, k);
        if (j < Jn[ns]) { Jn[ns] = j; d[ns] = Decision{-1, k}; }
      }
      j_none += err0;
      for (int ns = 0; ns < 4; ns++) {
        if (Jn[ns] >= kInf) continue;
        if (d[ns].prev >= 0) std::copy_n(sbl[d[ns].prev], 16, nsbl[ns]);
        else std::fill_n(nsbl[ns], 16, 0);
        nsbl[ns][n] = d[ns].k;
      }
      std::copy(&nsbl[0][0], &nsbl[0][0] + 64, &sbl[0][0]);
      // Leaving an inner subblock: the alternative sb_coded_flag = 0 keeps
      // the entry state (16 parity-0 transitions are the identity).
      if (n == 0 && sb > 0) {
        for (int st = 0; st < 4; st++) {
          zero_sb[sb][st] = false;
          if (j_entry[st] >= kInf) continue;
          const double jz = j_entry[st] + lambda * sb_bits[sb][0] + err0_sb;
          if (jz < Jn[st]) { Jn[st] = jz; zero_sb[sb][st] = true; }
        }
      }
      for (int st = 0; st < 4; st++) J[st] = Jn[st];
    }
    int best = -1;
    double jb = j_none;
    for (int st = 0; st < 4; st++)
      if (J[st] < jb) { jb = J[st]; best = st; }
    std::fill(chosen_k, chosen_k + total, 0);
    std::fill(chosen_t, chosen_t + total, 0);
    nz = 0;
    if (best >= 0) {
      // Back-tracking from scan position 0 up to the last significant position.
      int st = best, s = 0;
      while (s <= last_scan) {
        if ((s & 15) == 0 && (s >> 4) > 0 && zero_sb[s >> 4][st]) { s += 16; continue; }
        const Decision &d = dec[size_t(s) * 4 + st];
        const int prev = d.prev < 0 ? 0 : d.prev;
        chosen_k[size_t(s)] = d.k;
        chosen_t[size_t(s)] = trans_level(d.k, prev);
        nz += d.k != 0;
        if (d.prev < 0) break;
        st = d.prev;
        s++;
      }
    }
    if (nz == 0) break;
    for (int s = 0; s <= last_scan; s++) est[size_t(pc[size_t(s)].y) * nzw + pc[size_t(s)].x] = chosen_k[size_t(s)];
  }
  for (int s = 0; s <= last_scan; s++) {
    const int t = chosen_t[size_t(s)];
    if (!t) continue;
    const PosCtx &p = pc[size_t(s)];
    level[p.y * tw + p.x] = coeff[p.y * tw + p.x] < 0 ? -t : t;
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
