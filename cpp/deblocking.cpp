#include "deblocking.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

#include "dsp.h"

namespace pyvtm {
namespace {

// Table 43: beta' indexed by Q = 0..63, and tC' (10-bit) by Q = 0..65.
const uint8_t kBetaTable[64] = {0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
                                6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22, 24,
                                26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56,
                                58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 84, 86, 88};
const uint16_t kTcTable[66] = {0,  0,  0,  0,  0,  0,  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
                               0,  3,  4,  4,  4,  4,  5,   5,   5,   5,   7,   7,   8,   9,   10,  10,  11,
                               13, 14, 15, 17, 19, 21, 24,  25,  29,  33,  36,  41,  45,  51,  57,  64,  71,
                               80, 89, 100, 112, 125, 141, 157, 177, 198, 222, 250, 280, 314, 352, 395};

constexpr int kBs = 2;  // boundary strength of every edge in an intra picture

struct Thresholds { int beta, tc; };

Thresholds thresholds(int qp, int beta_offset_div2, int tc_offset_div2, int bit_depth) {
  const int qb = clip3(0, 63, qp + 2 * beta_offset_div2);
  const int qt = clip3(0, 65, qp + 2 * (kBs - 1) + 2 * tc_offset_div2);
  Thresholds t;
  t.beta = kBetaTable[qb] * (1 << (bit_depth - 8));
  t.tc = bit_depth < 10 ? (kTcTable[qt] + (1 << (9 - bit_depth))) >> (10 - bit_depth)
                        : kTcTable[qt] * (1 << (bit_depth - 10));
  return t;
}

// Accessor of the samples across one edge line: s(i) is q_i for i >= 0 and
// p_{-i-1} for i < 0.
struct Line {
  Pel *q0;
  ptrdiff_t step;  // from one sample to the next across the edge
  Pel &operator()(int i) const { return q0[i * step]; }
  int p(int i) const { return q0[-(i + 1) * step]; }
  int q(int i) const { return q0[i * step]; }
};

inline int dp_of(const Line &l) { return std::abs(l.p(2) - 2 * l.p(1) + l.p(0)); }
inline int dq_of(const Line &l) { return std::abs(l.q(2) - 2 * l.q(1) + l.q(0)); }

// 8.8.3.6.5-style strong/long filter decision for one line (dSam).
bool strong_decision(const Line &l, int d2, int beta, int tc, int len_p, int len_q, bool large_p, bool large_q) {
  int sp = std::abs(l.p(3) - l.p(0));
  int sq = std::abs(l.q(3) - l.q(0));
  if (large_p || large_q) {
    if (large_p) {
      int far;
      if (len_p == 7) {
        sp += std::abs(l.p(4) - l.p(5) - l.p(6) + l.p(7));
        far = l.p(7);
      } else {
        far = l.p(5);
      }
      sp = (sp + std::abs(l.p(3) - far) + 1) >> 1;
    }
    if (large_q) {
      int far;
      if (len_q == 7) {
        sq += std::abs(l.q(4) - l.q(5) - l.q(6) + l.q(7));
        far = l.q(7);
      } else {
        far = l.q(5);
      }
      sq = (sq + std::abs(far - l.q(3)) + 1) >> 1;
    }
    return sp + sq < ((beta * 3) >> 5) && d2 < (beta >> 4) && std::abs(l.p(0) - l.q(0)) < ((tc * 5 + 1) >> 1);
  }
  return sp + sq < (beta >> 3) && d2 < (beta >> 2) && std::abs(l.p(0) - l.q(0)) < ((tc * 5 + 1) >> 1);
}

// 8.8.3.7.? long-tap luma filter with lengths len_p, len_q in {3, 5, 7}.
void long_filter(const Line &l, int len_p, int len_q, int tc) {
  static const int8_t kCoef3[3] = {53, 32, 11}, kCoef5[5] = {58, 45, 32, 19, 6},
                      kCoef7[7] = {59, 50, 41, 32, 23, 14, 5};
  static const int8_t kTc3[3] = {6, 4, 2}, kTc5[5] = {6, 5, 4, 3, 2}, kTc7[7] = {6, 5, 4, 3, 2, 1, 1};
  auto coef = [](int len) { return len == 7 ? kCoef7 : (len == 5 ? kCoef5 : kCoef3); };
  auto tcs = [](int len) { return len == 7 ? kTc7 : (len == 5 ? kTc5 : kTc3); };
  int p[8], q[8];
  for (int i = 0; i < 8; i++) { p[i] = l.p(i); q[i] = l.q(i); }
  const int ref_p = (p[len_p - 1] + p[len_p] + 1) >> 1;
  const int ref_q = (q[len_q - 1] + q[len_q] + 1) >> 1;
  int ref_middle;
  if (len_p == len_q) {
    if (len_p == 5)
      ref_middle = (2 * (p[0] + q[0] + p[1] + q[1] + p[2] + q[2]) + p[3] + q[3] + p[4] + q[4] + 8) >> 4;
    else
      ref_middle = (2 * (p[0] + q[0]) + p[1] + q[1] + p[2] + q[2] + p[3] + q[3] + p[4] + q[4] + p[5] + q[5] +
                    p[6] + q[6] + 8) >> 4;
  } else {
    // The longer side is called "a", the shorter "b".
    const int *a = len_p > len_q ? p : q, *b = len_p > len_q ? q : p;
    const int la = std::max(len_p, len_q), lb = std::min(len_p, len_q);
    if (la == 7 && lb == 5)
      ref_middle = (2 * (p[0] + q[0] + p[1] + q[1]) + p[2] + q[2] + p[3] + q[3] + p[4] + q[4] + p[5] + q[5] + 8) >> 4;
    else if (la == 7)  // 7 and 3
      ref_middle = (2 * (a[0] + b[0]) + b[0] + 2 * (b[1] + b[2]) + a[1] + b[1] + a[2] + a[3] + a[4] + a[5] + a[6] + 8) >> 4;
    else  // 5 and 3
      ref_middle = (p[0] + q[0] + p[1] + q[1] + p[2] + q[2] + p[3] + q[3] + 4) >> 3;
  }
  const int8_t *cp = coef(len_p), *cq = coef(len_q), *tp = tcs(len_p), *tq = tcs(len_q);
  for (int i = 0; i < len_p; i++) {
    const int c = (tc * tp[i]) >> 1;
    l(-i - 1) = Pel(clip3(p[i] - c, p[i] + c, (ref_middle * cp[i] + ref_p * (64 - cp[i]) + 32) >> 6));
  }
  for (int i = 0; i < len_q; i++) {
    const int c = (tc * tq[i]) >> 1;
    l(i) = Pel(clip3(q[i] - c, q[i] + c, (ref_middle * cq[i] + ref_q * (64 - cq[i]) + 32) >> 6));
  }
}

void short_strong_filter(const Line &l, int tc) {
  const int p0 = l.p(0), p1 = l.p(1), p2 = l.p(2), p3 = l.p(3);
  const int q0 = l.q(0), q1 = l.q(1), q2 = l.q(2), q3 = l.q(3);
  l(-1) = Pel(clip3(p0 - 3 * tc, p0 + 3 * tc, (p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3));
  l(0) = Pel(clip3(q0 - 3 * tc, q0 + 3 * tc, (p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3));
  l(-2) = Pel(clip3(p1 - 2 * tc, p1 + 2 * tc, (p2 + p1 + p0 + q0 + 2) >> 2));
  l(1) = Pel(clip3(q1 - 2 * tc, q1 + 2 * tc, (p0 + q0 + q1 + q2 + 2) >> 2));
  l(-3) = Pel(clip3(p2 - tc, p2 + tc, (2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3));
  l(2) = Pel(clip3(q2 - tc, q2 + tc, (p0 + q0 + q1 + 3 * q2 + 2 * q3 + 4) >> 3));
}

void weak_filter(const Line &l, int tc, bool second_p, bool second_q, int max_val) {
  const int p0 = l.p(0), p1 = l.p(1), p2 = l.p(2);
  const int q0 = l.q(0), q1 = l.q(1), q2 = l.q(2);
  int delta = (9 * (q0 - p0) - 3 * (q1 - p1) + 8) >> 4;
  if (std::abs(delta) >= tc * 10) return;
  delta = clip3(-tc, tc, delta);
  l(-1) = Pel(clip3(0, max_val, p0 + delta));
  l(0) = Pel(clip3(0, max_val, q0 - delta));
  const int tc2 = tc >> 1;
  if (second_p) l(-2) = Pel(clip3(0, max_val, p1 + clip3(-tc2, tc2, (((p2 + p0 + 1) >> 1) - p1 + delta) >> 1)));
  if (second_q) l(1) = Pel(clip3(0, max_val, q1 + clip3(-tc2, tc2, (((q2 + q0 + 1) >> 1) - q1 - delta) >> 1)));
}

// One 4-line luma edge segment. first points at q0 of line 0; along steps
// from one line to the next.
void filter_luma_segment(Pel *first, ptrdiff_t across, ptrdiff_t along, int len_p, int len_q, bool ctu_hor_boundary,
                         const Thresholds &t, int max_val) {
  const int beta = t.beta, tc = t.tc;
  const int side_thr = (beta + (beta >> 1)) >> 3;
  Line l0{first, across}, l3{first + 3 * along, across};
  const int dp0 = dp_of(l0), dq0 = dq_of(l0), dp3 = dp_of(l3), dq3 = dq_of(l3);
  bool large_p = len_p > 3, large_q = len_q > 3;
  if (ctu_hor_boundary) large_p = false;  // no long filter above a CTU row boundary
  if (large_p || large_q) {
    auto far_dp = [&](const Line &l) { Line m{l.q0 - 3 * across, across}; return dp_of(m); };
    auto far_dq = [&](const Line &l) { Line m{l.q0 + 3 * across, across}; return dq_of(m); };
    const int dp0l = large_p ? (dp0 + far_dp(l0) + 1) >> 1 : dp0;
    const int dp3l = large_p ? (dp3 + far_dp(l3) + 1) >> 1 : dp3;
    const int dq0l = large_q ? (dq0 + far_dq(l0) + 1) >> 1 : dq0;
    const int dq3l = large_q ? (dq3 + far_dq(l3) + 1) >> 1 : dq3;
    const int d0l = dp0l + dq0l, d3l = dp3l + dq3l;
    if (d0l + d3l < beta &&
        strong_decision(l0, 2 * d0l, beta, tc, len_p, len_q, large_p, large_q) &&
        strong_decision(l3, 2 * d3l, beta, tc, len_p, len_q, large_p, large_q)) {
      const int lp = large_p ? len_p : 3, lq = large_q ? len_q : 3;
      for (int i = 0; i < 4; i++) long_filter(Line{first + i * along, across}, lp, lq, tc);
      return;
    }
  }
  const int d0 = dp0 + dq0, d3 = dp3 + dq3;
  if (d0 + d3 >= beta) return;
  const bool longer_than1 = len_p > 1 && len_q > 1;
  const bool longer_than2 = len_p > 2 && len_q > 2;
  const bool second_p = longer_than1 && (dp0 + dp3) < side_thr;
  const bool second_q = longer_than1 && (dq0 + dq3) < side_thr;
  const bool strong = longer_than2 && strong_decision(l0, 2 * d0, beta, tc, 3, 3, false, false) &&
                      strong_decision(l3, 2 * d3, beta, tc, 3, 3, false, false);
  for (int i = 0; i < 4; i++) {
    Line l{first + i * along, across};
    if (strong) short_strong_filter(l, tc);
    else weak_filter(l, tc, second_p, second_q, max_val);
  }
}

// One 2-line chroma edge segment (4:2:0: four luma lines), 8.8.3.6.3 /
// 8.8.3.6.9-10. len.q == 3 allows the strong filter, len.p == 1 then uses
// the one-sided variant (horizontal CTU boundary).
void filter_chroma_segment(Pel *first, ptrdiff_t across, ptrdiff_t along, FilterLengths len, const Thresholds &t,
                           int max_val) {
  const int tc = t.tc, beta = t.beta;
  const bool large = len.q == 3, ctu_hor_boundary = len.p == 1;
  Line l0{first, across}, l1{first + along, across};
  bool strong = false;
  if (large) {
    // dp with the one-sample P side above a CTU row boundary.
    auto dp = [&](const Line &l) {
      return ctu_hor_boundary ? std::abs(l.p(0) - l.p(1)) : dp_of(l);
    };
    const int d0 = dp(l0) + dq_of(l0), d1 = dp(l1) + dq_of(l1);
    if (d0 + d1 < beta) {
      auto dec = [&](const Line &l, int d2) {
        const int sp = ctu_hor_boundary ? std::abs(l.p(1) - l.p(0)) : std::abs(l.p(3) - l.p(0));
        const int sq = std::abs(l.q(3) - l.q(0));
        return sp + sq < (beta >> 3) && d2 < (beta >> 2) && std::abs(l.p(0) - l.q(0)) < ((tc * 5 + 1) >> 1);
      };
      strong = dec(l0, 2 * d0) && dec(l1, 2 * d1);
    }
  }
  for (int i = 0; i < 2; i++) {
    Line l{first + i * along, across};
    const int p0 = l.p(0), p1 = l.p(1), p2 = l.p(2), p3 = l.p(3);
    const int q0 = l.q(0), q1 = l.q(1), q2 = l.q(2), q3 = l.q(3);
    if (strong) {
      if (ctu_hor_boundary) {
        l(-1) = Pel(clip3(p0 - tc, p0 + tc, (3 * p1 + 2 * p0 + q0 + q1 + q2 + 4) >> 3));
        l(0) = Pel(clip3(q0 - tc, q0 + tc, (2 * p1 + p0 + 2 * q0 + q1 + q2 + q3 + 4) >> 3));
        l(1) = Pel(clip3(q1 - tc, q1 + tc, (p1 + p0 + q0 + 2 * q1 + q2 + 2 * q3 + 4) >> 3));
        l(2) = Pel(clip3(q2 - tc, q2 + tc, (p0 + q0 + q1 + 2 * q2 + 3 * q3 + 4) >> 3));
      } else {
        l(-3) = Pel(clip3(p2 - tc, p2 + tc, (3 * p3 + 2 * p2 + p1 + p0 + q0 + 4) >> 3));
        l(-2) = Pel(clip3(p1 - tc, p1 + tc, (2 * p3 + p2 + 2 * p1 + p0 + q0 + q1 + 4) >> 3));
        l(-1) = Pel(clip3(p0 - tc, p0 + tc, (p3 + p2 + p1 + 2 * p0 + q0 + q1 + q2 + 4) >> 3));
        l(0) = Pel(clip3(q0 - tc, q0 + tc, (p2 + p1 + p0 + 2 * q0 + q1 + q2 + q3 + 4) >> 3));
        l(1) = Pel(clip3(q1 - tc, q1 + tc, (p1 + p0 + q0 + 2 * q1 + q2 + 2 * q3 + 4) >> 3));
        l(2) = Pel(clip3(q2 - tc, q2 + tc, (p0 + q0 + q1 + 2 * q2 + 3 * q3 + 4) >> 3));
      }
    } else {
      const int delta = clip3(-tc, tc, (4 * (q0 - p0) + p1 - q1 + 4) >> 3);
      l(-1) = Pel(clip3(0, max_val, p0 + delta));
      l(0) = Pel(clip3(0, max_val, q0 - delta));
    }
  }
}

}  // namespace

FilterLengths luma_max_filter_length(int size_p, int size_q) {
  if (size_p <= 4 || size_q <= 4) return {1, 1};
  return {size_p >= 32 ? 7 : 3, size_q >= 32 ? 7 : 3};
}

FilterLengths chroma_max_filter_length(int size_p, int size_q, bool hor_ctu_boundary) {
  if (size_p < 8 || size_q < 8) return {1, 1};
  return {hor_ctu_boundary ? 1 : 3, 3};
}

int deblock_chroma_qp(const DeblockParams &p, int comp, int qp_p, int qp_q) {
  // qPi = ((QpQ + QpP + 1) >> 1) + cQpPicOffset; QpC = ChromaQpTable[cIdx - 1][qPi].
  const int qp_bd = 6 * (p.bit_depth - 8);
  const int qpi = clip3(-qp_bd, 63, ((qp_p + qp_q + 1) >> 1) + p.chroma_qp_offset[comp - 1]);
  const int *table = p.chroma_qp_table[comp - 1];
  return table ? table[qpi + qp_bd] : qpi;
}

void deblock_picture(Plane planes[3], const DeblockParams &p) {
  deblock_units(planes, p, 0, 0, p.width / 4, p.height / 4, true, true);
}

void deblock_units(Plane planes[3], const DeblockParams &p, int ux0, int uy0, int ux1, int uy1, bool luma,
                   bool chroma) {
  const int max_val = (1 << p.bit_depth) - 1;
  ux1 = std::min(ux1, p.width / 4);
  uy1 = std::min(uy1, p.height / 4);
  const ptrdiff_t ms = p.map_stride;
  for (int dir = 0; dir < 2; dir++) {  // 0: vertical edges, 1: horizontal edges (8.8.3.1)
    const bool ver = dir == 0;
    const uint8_t bit = ver ? kDeblockEdgeLeft : kDeblockEdgeTop;
    const ptrdiff_t to_p = ver ? 1 : ms;  // from a unit to its neighbour on the P side
    const uint8_t *luma_size = ver ? p.luma_tb_w_log2 : p.luma_tb_h_log2;
    const uint8_t *chroma_size = ver ? p.chroma_tb_w_log2 : p.chroma_tb_h_log2;
    // Luma: edges on the 4x4 grid, one decision per 4-line segment (8.8.3.6.2).
    Plane &y = planes[0];
    const int extent = ver ? p.width : p.height;
    // One Thresholds per QP: the QP rarely changes from one segment to the next.
    int last_qp = -1000;
    Thresholds t{0, 0};
    for (int uy = std::max(uy0, ver ? 0 : 1); luma && uy < uy1; uy++)  // (the picture boundary is not filtered)
      for (int ux = std::max(ux0, ver ? 1 : 0); ux < ux1; ux++) {
        const ptrdiff_t uq = uy * ms + ux, up = uq - to_p;
        const int pos = ver ? ux * 4 : uy * 4;
        if (!(p.luma_edge[uq] & bit)) continue;  // no edge
        if (p.luma_bdpcm && p.luma_bdpcm[up] && p.luma_bdpcm[uq]) continue;  // bS = 0 (8.8.3.5)
        FilterLengths len = luma_max_filter_length(1 << luma_size[up], 1 << luma_size[uq]);
        // Keep the long filter inside the picture whatever the maps say.
        if (pos < 8) len.p = std::min(len.p, 3);
        if (extent - pos < 8) len.q = std::min(len.q, 3);
        const bool ctu_hor = !ver && (pos & ((1 << p.log2_ctu) - 1)) == 0;
        const int qp = (p.qp_y[up] + p.qp_y[uq] + 1) >> 1;
        if (qp != last_qp) t = thresholds(qp, p.beta_offset_div2, p.tc_offset_div2, p.bit_depth), last_qp = qp;
        Pel *q0 = y.row(uy * 4) + ux * 4;
        filter_luma_segment(q0, ver ? 1 : y.stride, ver ? y.stride : 1, len.p, len.q, ctu_hor, t, max_val);
      }
    // Chroma: edges on the 8x8 chroma sample grid, 2-line segments.
    for (int c = 1; chroma && c <= 2; c++) {
      Plane &pc = planes[c];
      int last_qp_c = -1000;
      Thresholds t{0, 0};
      // Units of 4 luma samples: the 8-sample chroma grid is every fourth one.
      // (the first unit of the range on that grid, at least 4: not the picture boundary)
      const int cy0 = ver ? uy0 : std::max(4, (uy0 + 3) & ~3), cx0 = ver ? std::max(4, (ux0 + 3) & ~3) : ux0;
      for (int uy = cy0; uy < uy1; uy += ver ? 1 : 4)
        for (int ux = cx0; ux < ux1; ux += ver ? 4 : 1) {
          const ptrdiff_t uq = uy * ms + ux, up = uq - to_p;
          const int pos = ver ? ux * 2 : uy * 2;  // in chroma samples
          if (!(p.chroma_edge[uq] & bit)) continue;
          if (p.chroma_bdpcm && p.chroma_bdpcm[up] && p.chroma_bdpcm[uq]) continue;  // bS = 0 (8.8.3.5)
          const bool ctu_hor = !ver && ((pos * 2) & ((1 << p.log2_ctu) - 1)) == 0;
          const FilterLengths len = chroma_max_filter_length(1 << chroma_size[up], 1 << chroma_size[uq], ctu_hor);
          const int8_t *qc = p.qp_c[c - 1];
          const int qp_c = qc ? (qc[up] + qc[uq] + 1) >> 1 : deblock_chroma_qp(p, c, p.qp_y[up], p.qp_y[uq]);
          if (qp_c != last_qp_c)
            t = thresholds(qp_c, p.chroma_beta_offset_div2[c - 1], p.chroma_tc_offset_div2[c - 1], p.bit_depth),
            last_qp_c = qp_c;
          Pel *q0 = pc.row(uy * 2) + ux * 2;
          filter_chroma_segment(q0, ver ? 1 : pc.stride, ver ? pc.stride : 1, len, t, max_val);
        }
    }
  }
}

void deblock_set_offsets(DeblockParams &p, const DeblockOffsets &o) {
  p.beta_offset_div2 = o.beta_div2[0];
  p.tc_offset_div2 = o.tc_div2[0];
  for (int c = 0; c < 2; c++) {
    p.chroma_beta_offset_div2[c] = o.beta_div2[c + 1];
    p.chroma_tc_offset_div2[c] = o.tc_div2[c + 1];
  }
}

DeblockOffsets deblock_choose_offsets(const Plane rec[3], const Plane org[3], const DeblockParams &p, int range) {
  if (range < 0 || range > 6) throw std::invalid_argument("deblock_choose_offsets: range outside 0..6");
  // (0, 0) first, then by growing |beta| + |tc|: a strict improvement is needed to move away from 0.
  std::vector<std::pair<int, int>> cand;
  for (int b = -range; b <= range; b++)
    for (int t = -range; t <= range; t++) cand.emplace_back(b, t);
  std::stable_sort(cand.begin(), cand.end(), [](const std::pair<int, int> &a, const std::pair<int, int> &b) {
    return std::abs(a.first) + std::abs(a.second) < std::abs(b.first) + std::abs(b.second);
  });
  DeblockOffsets best;
  bool first = true;
  Plane tmp[3];
  for (const auto &[b, t] : cand) {
    for (int c = 0; c < 3; c++) tmp[c] = rec[c];
    DeblockParams q = p;
    DeblockOffsets o;
    for (int c = 0; c < 3; c++) { o.beta_div2[c] = b; o.tc_div2[c] = t; }
    deblock_set_offsets(q, o);
    deblock_picture(tmp, q);
    for (int c = 0; c < 3; c++) {
      const int w = c ? p.width / 2 : p.width, h = c ? p.height / 2 : p.height;
      const uint64_t e = enc_dsp().sse(org[c].data.data(), org[c].stride, tmp[c].data.data(), tmp[c].stride, w, h);
      if (first || e < best.sse[c]) {
        best.sse[c] = e;
        best.beta_div2[c] = b;
        best.tc_div2[c] = t;
      }
    }
    first = false;
  }
  return best;
}

}  // namespace pyvtm
