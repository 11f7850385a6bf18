// ALF / CCALF encoder: least-squares (Wiener) filters from statistics of the
// original and the SAO output, class merging and per-CTB decisions by
// rate-distortion cost. Distortion is estimated from the statistics
// (linear filters, no clipping: alf_luma_clip_flag = alf_chroma_clip_flag = 0).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "alf.h"

namespace pyvtm {

namespace {

inline int clip3(int lo, int hi, int v) { return v < lo ? lo : (v > hi ? hi : v); }
inline int vb_dist(int y, int vb) { return y < vb ? vb - 1 - y : y - vb; }
inline int lim_dy(int dy, int dist) { return dy > 0 ? std::min(dy, dist) : -std::min(-dy, dist); }

int ue_bits(uint32_t v) {
  int len = 0;
  uint64_t x = uint64_t(v) + 1;
  while ((x >> len) > 1) len++;
  return 2 * len + 1;
}
int ceil_log2i(int n) {
  int k = 0;
  while ((1 << k) < n) k++;
  return k;
}

// Second-order statistics of N features z against a target t.
template <int N>
struct Stats {
  double E[N][N];
  double y[N];
  double tt;
  Stats() { clear(); }
  void clear() { std::memset(this, 0, sizeof(*this)); }
  void add(const Stats &o) {
    for (int i = 0; i < N; i++) {
      for (int j = 0; j < N; j++) E[i][j] += o.E[i][j];
      y[i] += o.y[i];
    }
    tt += o.tt;
  }
  // (The features converted once; a zero feature adds only +0.0, which
  // leaves every sum as it is, so its row is skipped.)
  void add_sample(const int z[N], int t) {
    double zd[N];
    for (int i = 0; i < N; i++) zd[i] = z[i];
    const double td = t;
    for (int i = 0; i < N; i++) {
      if (!z[i]) continue;
      const double a = zd[i];
      double *e = E[i];
      for (int j = i; j < N; j++) e[j] += a * zd[j];
      y[i] += a * td;
    }
    tt += td * td;
  }
  void scale(double f) {
    for (int i = 0; i < N; i++) {
      for (int j = 0; j < N; j++) E[i][j] *= f;
      y[i] *= f;
    }
    tt *= f;
  }
  void symmetrise() {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < i; j++) E[i][j] = E[j][i];
  }
  // Squared error of the filter f / scale.
  double dist(const int *f, double scale = 128.0) const {
    double lin = 0, quad = 0;
    for (int i = 0; i < N; i++) {
      if (!f[i]) continue;
      lin += f[i] * y[i];
      double r = 0;
      for (int j = 0; j < N; j++) r += E[i][j] * f[j];
      quad += f[i] * r;
    }
    return tt - 2 * lin / scale + quad / (scale * scale);
  }
  // Least-squares solution w (real, unscaled); returns the error tt - w.y.
  double solve(double w[N]) const {
    double a[N][N + 1];
    double tr = 0;
    for (int i = 0; i < N; i++) tr += E[i][i];
    const double reg = 1e-7 * (tr / N) + 1e-9;
    for (int i = 0; i < N; i++) {
      for (int j = 0; j < N; j++) a[i][j] = E[i][j] + (i == j ? reg : 0);
      a[i][N] = y[i];
    }
    for (int c = 0; c < N; c++) {
      int p = c;
      for (int r = c + 1; r < N; r++)
        if (std::fabs(a[r][c]) > std::fabs(a[p][c])) p = r;
      if (std::fabs(a[p][c]) < 1e-12) {
        for (int i = 0; i < N; i++) w[i] = 0;
        return tt;
      }
      if (p != c)
        for (int j = 0; j <= N; j++) std::swap(a[p][j], a[c][j]);
      for (int r = c + 1; r < N; r++) {
        const double m = a[r][c] / a[c][c];
        if (m == 0) continue;
        for (int j = c; j <= N; j++) a[r][j] -= m * a[c][j];
      }
    }
    for (int i = N - 1; i >= 0; i--) {
      double s = a[i][N];
      for (int j = i + 1; j < N; j++) s -= a[i][j] * w[j];
      w[i] = s / a[i][i];
    }
    double e = tt;
    for (int i = 0; i < N; i++) e -= w[i] * y[i];
    return e;
  }
};

using LumaStats = Stats<kAlfLumaTaps>;
using ChromaStats = Stats<kAlfChromaTaps>;
using CcStats = Stats<kCcAlfTaps>;

int coeff_bits(const int *f, int n) {
  int b = 0;
  for (int i = 0; i < n; i++) b += ue_bits(uint32_t(std::abs(f[i]))) + (f[i] != 0);
  return b;
}

// Integer coefficients (range -128..127) from the real solution, refined by
// coordinate descent on distortion + lambda * bits.
template <int N>
void quantise_filter(const Stats<N> &s, const double w[N], double lambda, int f[N]) {
  for (int i = 0; i < N; i++) f[i] = clip3(-128, 127, int(std::lround(w[i] * 128.0)));
  double best = s.dist(f) + lambda * coeff_bits(f, N);
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < N; i++)
      for (int d : {-1, 1}) {
        const int old = f[i];
        f[i] = clip3(-128, 127, old + d);
        const double c = s.dist(f) + lambda * coeff_bits(f, N);
        if (c < best) best = c;
        else f[i] = old;
      }
}

// Per-CTB statistics of the picture.
struct LumaCtbStats {
  LumaStats cls[kAlfNumClasses];
  double tt = 0;  // sum of squared error without filtering (all rows)
};

void gather_luma(const Plane &org, const Plane &rec, int x0, int y0, int log2_ctb, int bit_depth, LumaCtbStats &st) {
  const int ctb = 1 << log2_ctb, vb = ctb - 4;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0), bw = (w + 3) / 4;
  std::vector<uint8_t> cls(size_t(ctb / 4) * (ctb / 4)), tr(cls.size());
  alf_classify_ctb(rec, x0, y0, log2_ctb, bit_depth, cls.data(), tr.data());
  for (int y = 0; y < h; y++) {
    const int dist = vb_dist(y, vb), ya = y0 + y;
    const Pel *rows[7];
    for (int dy = -3; dy <= 3; dy++) rows[dy + 3] = rec.row(clip3(0, rec.height - 1, ya + lim_dy(dy, dist)));
    for (int x = 0; x < w; x++) {
      const int xa = x0 + x, cur = rows[3][xa];
      const int t = org.at(xa, ya) - cur;
      if (dist == 0) {
        st.tt += double(t) * t;
        continue;  // rows at the virtual boundary (shift 10): not modelled
      }
      const int b = (y / 4) * bw + x / 4;
      const uint8_t *ti = kAlfTransposeIdx[tr[b]];
      int z[kAlfLumaTaps] = {};
      for (int j = 0; j < kAlfLumaTaps; j++) {
        const int dx = kAlfLumaTap[j][0], dy = kAlfLumaTap[j][1];
        z[ti[j]] += rows[3 + dy][clip3(0, rec.width - 1, xa + dx)] - cur + rows[3 - dy][clip3(0, rec.width - 1, xa - dx)] - cur;
      }
      st.cls[cls[b]].add_sample(z, t);
      st.tt += double(t) * t;
    }
  }
  for (auto &c : st.cls) c.symmetrise();
}

void gather_chroma(const Plane &org, const Plane &rec, int x0, int y0, int log2_ctb_c, ChromaStats &st, double &tt) {
  const int ctb = 1 << log2_ctb_c, vb = ctb - 2;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0);
  for (int y = 0; y < h; y++) {
    const int dist = vb_dist(y, vb), ya = y0 + y;
    const Pel *rows[5];
    for (int dy = -2; dy <= 2; dy++) rows[dy + 2] = rec.row(clip3(0, rec.height - 1, ya + lim_dy(dy, dist)));
    for (int x = 0; x < w; x++) {
      const int xa = x0 + x, cur = rows[2][xa];
      const int t = org.at(xa, ya) - cur;
      tt += double(t) * t;
      if (dist == 0) continue;
      int z[kAlfChromaTaps];
      for (int j = 0; j < kAlfChromaTaps; j++) {
        const int dx = kAlfChromaTap[j][0], dy = kAlfChromaTap[j][1];
        z[j] = rows[2 + dy][clip3(0, rec.width - 1, xa + dx)] - cur + rows[2 - dy][clip3(0, rec.width - 1, xa - dx)] - cur;
      }
      st.add_sample(z, t);
    }
  }
  st.symmetrise();
}

void gather_cc(const Plane &org, const Plane &alf_c, const Plane &luma, int x0c, int y0c, int log2_ctb, CcStats &st) {
  const int ctb_c = 1 << (log2_ctb - 1), vb = (1 << log2_ctb) - 4;
  const int w = std::min(ctb_c, alf_c.width - x0c), h = std::min(ctb_c, alf_c.height - y0c);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const int xc = x0c + x, yc = y0c + y, xl = 2 * xc, yl = 2 * yc;
      const int dist = vb_dist(yl - 2 * y0c, vb);
      const int cur = luma.at(xl, yl);
      int z[kCcAlfTaps];
      for (int j = 0; j < kCcAlfTaps; j++)
        z[j] = luma.at(clip3(0, luma.width - 1, xl + kCcAlfTap[j][0]),
                       clip3(0, luma.height - 1, yl + lim_dy(kCcAlfTap[j][1], dist))) - cur;
      st.add_sample(z, org.at(xc, yc) - alf_c.at(xc, yc));
    }
  st.symmetrise();
}

// ---------------------------------------------------------------------------
// Luma

struct LumaApsFilters {
  int num = 0;                           // 0: no APS filters
  uint8_t class_to_filter[kAlfNumClasses] = {};
  int coeff[kAlfNumClasses][kAlfLumaTaps] = {};
  bool clip_on = false;                  // alf_luma_clip_flag
  uint8_t clip[kAlfNumClasses][kAlfLumaTaps] = {};
  int bits = 0;                          // APS luma part
};

// Luma statistics with the four clipping values per tap: feature 4 k + c is
// tap pair k clipped to AlfClip[c] (10-bit: 1024, 128, 32, 8).
constexpr int kClipFeat = 4 * kAlfLumaTaps;
using LumaClipStats = Stats<kClipFeat>;

void gather_luma_clip(const Plane &org, const Plane &rec, int x0, int y0, int log2_ctb, int bit_depth,
                      LumaClipStats *cls_stats) {
  const int ctb = 1 << log2_ctb, vb = ctb - 4;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0), bw = (w + 3) / 4;
  std::vector<uint8_t> cls(size_t(ctb / 4) * (ctb / 4)), tr(cls.size());
  alf_classify_ctb(rec, x0, y0, log2_ctb, bit_depth, cls.data(), tr.data());
  const int lim[4] = {1 << bit_depth, 1 << (bit_depth - 3), 1 << (bit_depth - 5), 1 << (bit_depth - 7)};
  auto cl = [](int d, int c) { return d < -c ? -c : (d > c ? c : d); };
  for (int y = 0; y < h; y++) {
    const int dist = vb_dist(y, vb), ya = y0 + y;
    if (dist == 0) continue;
    const Pel *rows[7];
    for (int dy = -3; dy <= 3; dy++) rows[dy + 3] = rec.row(clip3(0, rec.height - 1, ya + lim_dy(dy, dist)));
    for (int x = (y & 1); x < w; x += 2) {  // every other sample (quincunx): the statistics are scaled by 2
      const int xa = x0 + x, cur = rows[3][xa];
      const int b = (y / 4) * bw + x / 4;
      const uint8_t *ti = kAlfTransposeIdx[tr[b]];
      int z[kClipFeat] = {};
      for (int j = 0; j < kAlfLumaTaps; j++) {
        const int dx = kAlfLumaTap[j][0], dy = kAlfLumaTap[j][1];
        const int d0 = rows[3 + dy][clip3(0, rec.width - 1, xa + dx)] - cur;
        const int d1 = rows[3 - dy][clip3(0, rec.width - 1, xa - dx)] - cur;
        for (int c = 0; c < 4; c++) z[4 * ti[j] + c] += cl(d0, lim[c]) + cl(d1, lim[c]);
      }
      cls_stats[cls[b]].add_sample(z, org.at(xa, ya) - cur);
    }
  }
}

// The N-feature statistics of one clipping choice.
template <int N>
Stats<N> select_clip(const Stats<4 * N> &s, const uint8_t clip[N]) {
  Stats<N> r;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < N; j++) {
      const int a = 4 * i + clip[i], b = 4 * j + clip[j];
      r.E[i][j] = a <= b ? s.E[a][b] : s.E[b][a];
    }
    r.y[i] = s.y[4 * i + clip[i]];
  }
  r.tt = s.tt;
  return r;
}

// Clipping indices and coefficients of one filter by greedy search.
template <int N>
double search_clip(const Stats<4 * N> &s, double lambda, int coeff[N], uint8_t clip[N]) {
  auto eval = [&](const uint8_t c[N], int f[N]) {
    const Stats<N> st = select_clip<N>(s, c);
    double w[N];
    st.solve(w);
    quantise_filter(st, w, lambda, f);
    return st.dist(f) + lambda * coeff_bits(f, N);
  };
  std::fill(clip, clip + N, uint8_t(0));
  double best = eval(clip, coeff);
  for (int pass = 0; pass < 2; pass++)
    for (int k = 0; k < N; k++) {
      const uint8_t old = clip[k];
      uint8_t keep = old;
      for (int c = 0; c < 4; c++) {
        if (c == old) continue;
        clip[k] = uint8_t(c);
        int f[N];
        const double cost = eval(clip, f);
        if (cost < best) { best = cost; keep = uint8_t(c); std::copy(f, f + N, coeff); }
      }
      clip[k] = keep;
    }
  return best;
}

// Chroma statistics with the four clipping values per tap (as for luma).
using ChromaClipStats = Stats<4 * kAlfChromaTaps>;
void gather_chroma_clip(const Plane &org, const Plane &rec, int x0, int y0, int log2_ctb_c, int bit_depth,
                        ChromaClipStats &st) {
  const int ctb = 1 << log2_ctb_c, vb = ctb - 2;
  const int w = std::min(ctb, rec.width - x0), h = std::min(ctb, rec.height - y0);
  const int lim[4] = {1 << bit_depth, 1 << (bit_depth - 3), 1 << (bit_depth - 5), 1 << (bit_depth - 7)};
  auto cl = [](int d, int c) { return d < -c ? -c : (d > c ? c : d); };
  for (int y = 0; y < h; y++) {
    const int dist = vb_dist(y, vb), ya = y0 + y;
    if (dist == 0) continue;
    const Pel *rows[5];
    for (int dy = -2; dy <= 2; dy++) rows[dy + 2] = rec.row(clip3(0, rec.height - 1, ya + lim_dy(dy, dist)));
    for (int x = (y & 1); x < w; x += 2) {  // every other sample (quincunx): the statistics are scaled by 2
      const int xa = x0 + x, cur = rows[2][xa];
      int z[4 * kAlfChromaTaps];
      for (int j = 0; j < kAlfChromaTaps; j++) {
        const int dx = kAlfChromaTap[j][0], dy = kAlfChromaTap[j][1];
        const int d0 = rows[2 + dy][clip3(0, rec.width - 1, xa + dx)] - cur;
        const int d1 = rows[2 - dy][clip3(0, rec.width - 1, xa - dx)] - cur;
        for (int c = 0; c < 4; c++) z[4 * j + c] = cl(d0, lim[c]) + cl(d1, lim[c]);
      }
      st.add_sample(z, org.at(xa, ya) - cur);
    }
  }
}

// Derives merged luma filters from summed class statistics.
LumaApsFilters derive_luma_filters(const LumaStats cls[kAlfNumClasses], double lambda) {
  struct Group {
    LumaStats s;
    std::vector<int> members;
    bool alive = true;
  };
  std::vector<Group> g(kAlfNumClasses);
  for (int k = 0; k < kAlfNumClasses; k++) {
    g[size_t(k)].s = cls[k];
    g[size_t(k)].members = {k};
  }
  double w[kAlfLumaTaps];
  std::vector<double> err(kAlfNumClasses);
  for (int k = 0; k < kAlfNumClasses; k++) err[size_t(k)] = g[size_t(k)].s.solve(w);
  LumaApsFilters best;
  double best_cost = std::numeric_limits<double>::max();
  int alive = kAlfNumClasses;
  while (true) {
    // Evaluate this partition with quantised filters.
    LumaApsFilters cand;
    double d = 0;
    int bits = 1 + ue_bits(uint32_t(alive - 1)) + (alive > 1 ? kAlfNumClasses * ceil_log2i(alive) : 0);
    int fi = 0;
    for (auto &gr : g) {
      if (!gr.alive) continue;
      gr.s.solve(w);
      int f[kAlfLumaTaps];
      quantise_filter(gr.s, w, lambda, f);
      d += gr.s.dist(f);
      bits += coeff_bits(f, kAlfLumaTaps);
      std::copy(f, f + kAlfLumaTaps, cand.coeff[fi]);
      for (int k : gr.members) cand.class_to_filter[k] = uint8_t(fi);
      fi++;
    }
    cand.num = alive;
    cand.bits = bits;
    const double cost = d + lambda * bits;
    if (cost < best_cost) {
      best_cost = cost;
      best = cand;
    }
    if (alive == 1) break;
    // Merge the pair whose merge adds the least error.
    double best_inc = std::numeric_limits<double>::max();
    int ba = -1, bb = -1;
    for (int a = 0; a < kAlfNumClasses; a++) {
      if (!g[size_t(a)].alive) continue;
      for (int b = a + 1; b < kAlfNumClasses; b++) {
        if (!g[size_t(b)].alive) continue;
        LumaStats m = g[size_t(a)].s;
        m.add(g[size_t(b)].s);
        const double inc = m.solve(w) - err[size_t(a)] - err[size_t(b)];
        if (inc < best_inc) { best_inc = inc; ba = a; bb = b; }
      }
    }
    g[size_t(ba)].s.add(g[size_t(bb)].s);
    g[size_t(ba)].members.insert(g[size_t(ba)].members.end(), g[size_t(bb)].members.begin(), g[size_t(bb)].members.end());
    g[size_t(bb)].alive = false;
    err[size_t(ba)] = g[size_t(ba)].s.solve(w);
    alive--;
  }
  return best;
}

double luma_aps_dist(const LumaCtbStats &st, const LumaApsFilters &f) {
  double d = st.tt;
  for (int k = 0; k < kAlfNumClasses; k++) {
    const LumaStats &s = st.cls[k];
    d += s.dist(f.coeff[f.class_to_filter[k]]) - s.tt;
  }
  return d;
}

// ---------------------------------------------------------------------------
// CCALF coefficients: 0 or +-2^k, k = 0..6.

int cc_bits(const int *f) {
  int b = 0;
  for (int j = 0; j < kCcAlfTaps; j++) b += 3 + (f[j] != 0);
  return b;
}

void quantise_cc(const CcStats &s, const double w[kCcAlfTaps], double lambda, int f[kCcAlfTaps]) {
  static const int kVals[15] = {0, 1, -1, 2, -2, 4, -4, 8, -8, 16, -16, 32, -32, 64, -64};
  for (int j = 0; j < kCcAlfTaps; j++) {
    const double v = w[j] * 128.0;
    int bv = 0;
    double bd = std::fabs(v);
    for (int c : kVals)
      if (std::fabs(v - c) < bd) { bd = std::fabs(v - c); bv = c; }
    f[j] = bv;
  }
  double best = s.dist(f) + lambda * cc_bits(f);
  for (int pass = 0; pass < 2; pass++)
    for (int j = 0; j < kCcAlfTaps; j++) {
      const int old = f[j];
      int keep = old;
      for (int c : kVals) {
        f[j] = c;
        const double cost = s.dist(f) + lambda * cc_bits(f);
        if (cost < best) { best = cost; keep = c; }
      }
      f[j] = keep;
    }
}


// CCALF of one chroma component: up to kCcMaxFilters filters (7.3.2.18:
// alf_cc_cb_filters_signalled_minus1 0..3) and per CTB the filter or none
// (alf_ctb_cc_cb_idc), for the largest gain (distortion saved minus lambda x
// the filters' and the idc's bits). Per filter count: from the CTBs'
// gains under the previous count's filters, split into that many groups,
// then alternately a filter per group (least squares, quantised) and each
// CTB to its best filter or none, while the gain grows. (Kodak reference
// pictures at medium, against one filter: BD-rate U -0.38%, V -0.20%, RGB
// -0.06% vs VTM; luma unchanged but for the bits.)
constexpr int kCcMaxFilters = 4;
struct CcDecision {
  int num = 0;                       // filters (0: CCALF off)
  int f[kCcMaxFilters][kCcAlfTaps] = {};
  std::vector<uint8_t> idc;          // per CTB: 0 none, k filter k - 1
  double gain = 0;                   // without the APS overhead
};

// Bits of alf_ctb_cc_*_idc v of num filters beyond those of v = 0: the first
// bin is context coded (1 bit here), then TR bypass bins (cMax num).
inline double cc_idc_bits(int v, int num) { return v == 0 ? 0.0 : double(v - 1 + (v < num ? 1 : 0)); }

CcDecision decide_cc_filters(const std::vector<CcStats> &ccs, double lam) {
  const int n = int(ccs.size());
  CcDecision best;
  best.idc.assign(size_t(n), 0);
  // gain of CTB i with filter f: distortion saved minus the idc bits.
  std::vector<uint8_t> idc(size_t(n), 1);  // start: one filter on every CTB
  for (int num = 1; num <= kCcMaxFilters; num++) {
    if (num > 1) {
      // Regroup the CTBs the best solution filters: by their gain under it, in num groups.
      std::vector<std::pair<double, int>> g;
      for (int i = 0; i < n; i++) {
        const uint8_t v = best.idc[size_t(i)];
        if (v) g.push_back({ccs[size_t(i)].tt - ccs[size_t(i)].dist(best.f[v - 1]), i});
      }
      if (int(g.size()) < num) break;
      std::sort(g.begin(), g.end());
      std::fill(idc.begin(), idc.end(), uint8_t(0));
      for (size_t r = 0; r < g.size(); r++) idc[size_t(g[r].second)] = uint8_t(1 + r * size_t(num) / g.size());
    }
    CcDecision cur;
    for (int iter = 0; iter < 8; iter++) {
      // A filter per group; empty groups are dropped.
      CcDecision t;
      for (int k = 1; k <= num; k++) {
        CcStats s;
        int used = 0;
        for (int i = 0; i < n; i++)
          if (idc[size_t(i)] == k) { s.add(ccs[size_t(i)]); used++; }
        if (!used) continue;
        double w[kCcAlfTaps];
        s.solve(w);
        quantise_cc(s, w, lam, t.f[t.num]);
        if (std::all_of(t.f[t.num], t.f[t.num] + kCcAlfTaps, [](int v) { return v == 0; })) continue;
        ++t.num;
      }
      if (!t.num) break;
      // Each CTB to its best filter or none.
      t.idc.assign(size_t(n), 0);
      t.gain = 0;
      for (int k = 0; k < t.num; k++) t.gain -= lam * cc_bits(t.f[k]);
      for (int i = 0; i < n; i++) {
        double bg = 0;
        for (int k = 0; k < t.num; k++) {
          const double gk = ccs[size_t(i)].tt - ccs[size_t(i)].dist(t.f[k]) - lam * (1 + cc_idc_bits(k + 1, t.num));
          if (gk > bg) { bg = gk; t.idc[size_t(i)] = uint8_t(k + 1); }
        }
        t.gain += bg;
      }
      if (t.gain <= cur.gain + 1e-9 && cur.num) break;
      cur = t;
      idc = cur.idc;
    }
    if (cur.num && cur.gain > best.gain) best = cur;
    else if (num > 1) break;  // more filters did not pay
  }
  // Filters no CTB chose are dropped, the others numbered by how many CTBs
  // use them (the most used gets the shortest alf_ctb_cc_*_idc).
  if (best.num) {
    int count[kCcMaxFilters + 1] = {0};
    for (uint8_t v : best.idc) count[v]++;
    std::vector<int> order;
    for (int k = 1; k <= best.num; k++)
      if (count[k]) order.push_back(k);
      else best.gain += lam * cc_bits(best.f[k - 1]);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return count[a] > count[b]; });
    CcDecision r = best;
    int renum[kCcMaxFilters + 1] = {0};
    r.num = int(order.size());
    for (int m = 0; m < r.num; m++) {
      renum[order[size_t(m)]] = m + 1;
      std::copy(best.f[order[size_t(m)] - 1], best.f[order[size_t(m)] - 1] + kCcAlfTaps, r.f[m]);
    }
    for (auto &v : r.idc) v = uint8_t(renum[v]);
    best = r;
  }
  return best;
}

}  // namespace

bool alf_decide(const Plane org[3], const Plane rec[3], int ctus_x, int ctus_y, int log2_ctb, int bit_depth,
                const double lambda[3], bool use_cc, AlfApsData &aps, AlfSliceParams &sh, AlfCtbParams *params) {
  const int n = ctus_x * ctus_y, ctb = 1 << log2_ctb;
  aps = AlfApsData();
  sh = AlfSliceParams();
  for (int i = 0; i < n; i++) params[i] = AlfCtbParams();
  const double kApsOverheadBits = 48;  // NAL unit header, APS header, trailing bits

  // ---- Luma: statistics per CTB and class.
  std::vector<LumaCtbStats> ls(static_cast<size_t>(n));
  for (int i = 0; i < n; i++)
    gather_luma(org[0], rec[0], (i % ctus_x) * ctb, (i / ctus_x) * ctb, log2_ctb, bit_depth, ls[size_t(i)]);
  // Distortion of every fixed filter set per CTB.
  std::vector<double> fixed_d(size_t(n) * kAlfNumFixedSets);
  {
    std::vector<AlfFilterSet> sets;
    for (int s = 0; s < kAlfNumFixedSets; s++) sets.push_back(alf_fixed_filter_set(s, bit_depth));
    for (int i = 0; i < n; i++)
      for (int s = 0; s < kAlfNumFixedSets; s++) {
        double d = ls[size_t(i)].tt;
        for (int k = 0; k < kAlfNumClasses; k++) {
          int f[kAlfLumaTaps];
          for (int j = 0; j < kAlfLumaTaps; j++) f[j] = sets[size_t(s)].coeff[k][j];
          d += ls[size_t(i)].cls[k].dist(f) - ls[size_t(i)].cls[k].tt;
        }
        fixed_d[size_t(i) * kAlfNumFixedSets + s] = d;
      }
  }
  const double lam_y = lambda[0];
  // Per-CTB choice given APS filters (or none): returns the total cost.
  // choice: -1 off, 0..15 fixed set, 16 APS.
  std::vector<int> choice(static_cast<size_t>(n), -1);
  auto decide_luma = [&](const LumaApsFilters *f, std::vector<int> &ch) {
    double total = 0;
    for (int i = 0; i < n; i++) {
      const LumaCtbStats &st = ls[size_t(i)];
      double best = st.tt + lam_y * 1;
      int bc = -1;
      const double fixed_rate = 1 + (f ? 1 : 0) + 4;
      for (int s = 0; s < kAlfNumFixedSets; s++) {
        const double c = fixed_d[size_t(i) * kAlfNumFixedSets + s] + lam_y * fixed_rate;
        if (c < best) { best = c; bc = s; }
      }
      if (f) {
        const double c = luma_aps_dist(st, *f) + lam_y * 2;
        if (c < best) { best = c; bc = 16; }
      }
      ch[size_t(i)] = bc;
      total += best;
    }
    return total;
  };
  const double cost_fixed_only = decide_luma(nullptr, choice);
  std::vector<int> choice_aps(static_cast<size_t>(n), 16);
  LumaApsFilters lf;
  double cost_aps = std::numeric_limits<double>::max();
  for (int iter = 0; iter < 3; iter++) {
    LumaStats sum[kAlfNumClasses];
    int used = 0;
    for (int i = 0; i < n; i++)
      if (choice_aps[size_t(i)] == 16) {
        used++;
        for (int k = 0; k < kAlfNumClasses; k++) sum[k].add(ls[size_t(i)].cls[k]);
      }
    if (!used) break;
    LumaApsFilters f = derive_luma_filters(sum, lam_y);
    std::vector<int> ch(static_cast<size_t>(n));
    const double c = decide_luma(&f, ch) + lam_y * (f.bits + kApsOverheadBits);
    if (c < cost_aps) {
      cost_aps = c;
      lf = f;
      choice_aps = ch;
    } else {
      break;
    }
  }
  bool luma_aps = cost_aps < cost_fixed_only &&
                        std::count(choice_aps.begin(), choice_aps.end(), 16) > 0;
  if (luma_aps) {
    // Non-linear (clipped) filters on the class merging found, refined once
    // more on the CTBs that then use the APS; kept by total cost.
    const LumaApsFilters lf0 = lf;
    auto refine = [&](const std::vector<int> &set, LumaApsFilters &out, std::vector<int> &ch) {
      double total = 0;
      ch.assign(size_t(n), -1);
      // Non-linear (clipped) filters: statistics with the clipping values over
      // the CTBs using the APS, then per filter a greedy search of the indices.
      std::vector<LumaClipStats> cst(kAlfNumClasses);
      for (int i = 0; i < n; i++)
        if (set[size_t(i)] == 16)
          gather_luma_clip(org[0], rec[0], (i % ctus_x) * ctb, (i / ctus_x) * ctb, log2_ctb, bit_depth, cst.data());
      for (auto &c : cst) {
        c.symmetrise();
        c.scale(2.0);
      }
      LumaApsFilters lc = lf0;
      double cost_noclip = 0, cost_clip = 0;
      for (int g = 0; g < lf0.num; g++) {
        LumaClipStats sum;
        for (int k = 0; k < kAlfNumClasses; k++)
          if (lf0.class_to_filter[k] == g) sum.add(cst[size_t(k)]);
        const uint8_t zero[kAlfLumaTaps] = {};
        cost_noclip +=
            select_clip<kAlfLumaTaps>(sum, zero).dist(lf0.coeff[g]) + lam_y * coeff_bits(lf0.coeff[g], kAlfLumaTaps);
        cost_clip += search_clip<kAlfLumaTaps>(sum, lam_y, lc.coeff[g], lc.clip[g]) + lam_y * 2 * kAlfLumaTaps;
      }
      if (cost_clip + lam_y < cost_noclip) {
        lc.clip_on = true;
        lc.bits = 1 + ue_bits(uint32_t(lc.num - 1)) + (lc.num > 1 ? kAlfNumClasses * ceil_log2i(lc.num) : 0) +
                  2 * kAlfLumaTaps * lc.num;
        for (int g = 0; g < lc.num; g++) lc.bits += coeff_bits(lc.coeff[g], kAlfLumaTaps);
      }
      out = lc.clip_on ? lc : lf0;
      // The APS option of each CTB by its actual filtered distortion.
      AlfFilterSet fs;
      for (int k = 0; k < kAlfNumClasses; k++)
        for (int j = 0; j < kAlfLumaTaps; j++) {
          const int g = out.class_to_filter[k];
          fs.coeff[k][j] = int16_t(out.coeff[g][j]);
          static const int kClipShift[4] = {0, 3, 5, 7};  // AlfClip (7.4.3.18)
          fs.clip[k][j] = int16_t(1 << (bit_depth - kClipShift[out.clip_on ? out.clip[g][j] : 0]));
        }
      Plane tmp = rec[0];
      std::vector<uint8_t> cls(size_t(ctb / 4) * (ctb / 4)), tr(cls.size());
      for (int i = 0; i < n; i++) {
        const int x0 = (i % ctus_x) * ctb, y0 = (i / ctus_x) * ctb;
        alf_classify_ctb(rec[0], x0, y0, log2_ctb, bit_depth, cls.data(), tr.data());
        alf_filter_luma_ctb(rec[0], tmp, x0, y0, log2_ctb, bit_depth, fs, cls.data(), tr.data());
        double d = 0;
        for (int y = y0; y < std::min(y0 + ctb, rec[0].height); y++)
          for (int x = x0; x < std::min(x0 + ctb, rec[0].width); x++) {
            const double e = double(org[0].at(x, y)) - tmp.at(x, y);
            d += e * e;
          }
        const LumaCtbStats &st = ls[size_t(i)];
        double best = st.tt + lam_y * 1;
        int bc = -1;
        for (int s = 0; s < kAlfNumFixedSets; s++) {
          const double c = fixed_d[size_t(i) * kAlfNumFixedSets + s] + lam_y * 6;
          if (c < best) { best = c; bc = s; }
        }
        if (d + lam_y * 2 < best) { best = d + lam_y * 2; bc = 16; }
        ch[size_t(i)] = bc;
        total += best;
      }
      return total + lam_y * out.bits;
    };
    std::vector<int> ch1, ch2;
    LumaApsFilters f1, f2;
    const double c1 = refine(choice_aps, f1, ch1);
    lf = f1;
    choice = ch1;
    if (ch1 != choice_aps && std::count(ch1.begin(), ch1.end(), 16) > 0 && refine(ch1, f2, ch2) < c1) {
      lf = f2;
      choice = ch2;
    }
    if (std::count(choice.begin(), choice.end(), 16) == 0) luma_aps = false;
  }
  bool luma_on = false;
  for (int i = 0; i < n; i++) {
    const int c = choice[size_t(i)];
    if (c < 0) continue;
    luma_on = true;
    params[i].ctb_flag[0] = 1;
    params[i].use_aps = c == 16;
    params[i].luma_fixed_filter_idx = uint8_t(c == 16 ? 0 : c);
  }
  if (luma_aps) {
    aps.luma_signal = true;
    aps.luma_num_filters = lf.num;
    for (int k = 0; k < kAlfNumClasses; k++) aps.luma_coeff_delta_idx[k] = lf.class_to_filter[k];
    aps.luma_clip = lf.clip_on;
    for (int f = 0; f < lf.num; f++)
      for (int j = 0; j < kAlfLumaTaps; j++) {
        aps.luma_coeff[f][j] = int16_t(lf.coeff[f][j]);
        aps.luma_clip_idx[f][j] = lf.clip_on ? lf.clip[f][j] : 0;
      }
    sh.num_aps_luma = 1;
    sh.aps_id_luma[0] = 0;
  }

  // ---- Chroma: one or two alternatives shared by Cb and Cr.
  std::vector<ChromaStats> cst(size_t(n) * 2);
  std::vector<double> ctt(size_t(n) * 2, 0.0);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 2; c++)
      gather_chroma(org[c + 1], rec[c + 1], (i % ctus_x) * ctb / 2, (i / ctus_x) * ctb / 2, log2_ctb - 1,
                    cst[size_t(i) * 2 + c], ctt[size_t(i) * 2 + c]);
  struct ChromaPlan {
    int num_alt = 0;
    int coeff[2][kAlfChromaTaps] = {};
    std::vector<int> ch;  // per CTB and component: -1 off, else alt
    double cost = 0;
    int bits = 0;
  };
  auto chroma_decide = [&](ChromaPlan &p) {
    p.cost = 0;
    for (int i = 0; i < n; i++)
      for (int c = 0; c < 2; c++) {
        const size_t k = size_t(i) * 2 + c;
        const ChromaStats &s = cst[k];
        double best = ctt[k] + lambda[c + 1] * 1;
        int bc = -1;
        for (int a = 0; a < p.num_alt; a++) {
          const double d = ctt[k] + s.dist(p.coeff[a]) - s.tt + lambda[c + 1] * (1 + (p.num_alt > 1 ? a + 1 : 0));
          if (d < best) { best = d; bc = a; }
        }
        p.ch[k] = bc;
        p.cost += best;
      }
    p.bits = 1 + ue_bits(uint32_t(p.num_alt - 1));
    for (int a = 0; a < p.num_alt; a++) p.bits += coeff_bits(p.coeff[a], kAlfChromaTaps);
    p.cost += lambda[1] * p.bits;
  };
  auto chroma_train = [&](ChromaPlan &p, bool init) {
    bool any = false;
    for (int a = 0; a < p.num_alt; a++) {
      ChromaStats s;
      int used = 0;
      for (int i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) {
          const size_t k = size_t(i) * 2 + c;
          const bool take = init ? (p.num_alt == 1 || c == a) : p.ch[k] == a;
          if (take) { s.add(cst[k]); used++; }
        }
      if (!used) continue;
      any = true;
      double w[kAlfChromaTaps];
      s.solve(w);
      quantise_filter(s, w, lambda[1], p.coeff[a]);
    }
    return any;
  };
  ChromaPlan best_chroma;
  best_chroma.cost = 0;
  for (int i = 0; i < n; i++) best_chroma.cost += ctt[size_t(i) * 2] + ctt[size_t(i) * 2 + 1] + lambda[1] * 2;
  const double chroma_off_cost = best_chroma.cost;
  for (int na = 1; na <= 2; na++) {
    ChromaPlan p;
    p.num_alt = na;
    p.ch.assign(size_t(n) * 2, 0);
    chroma_train(p, true);
    chroma_decide(p);
    for (int iter = 0; iter < 2; iter++) {
      ChromaPlan q = p;
      if (!chroma_train(q, false)) break;
      chroma_decide(q);
      if (q.cost < p.cost) p = q;
      else break;
    }
    if (p.cost + lambda[1] * (luma_aps ? 0 : kApsOverheadBits) < chroma_off_cost &&
        (best_chroma.num_alt == 0 || p.cost < best_chroma.cost))
      best_chroma = p;
  }
  uint8_t chroma_clip[2][kAlfChromaTaps] = {};
  bool chroma_clip_on = false;
  if (best_chroma.num_alt > 0) {
    // Clipping per alternative from the CTBs using it; kept when it pays.
    std::vector<ChromaClipStats> ccs(size_t(best_chroma.num_alt));
    for (int i = 0; i < n; i++)
      for (int c = 0; c < 2; c++) {
        const int a = best_chroma.ch[size_t(i) * 2 + c];
        if (a >= 0)
          gather_chroma_clip(org[c + 1], rec[c + 1], (i % ctus_x) * ctb / 2, (i / ctus_x) * ctb / 2, log2_ctb - 1,
                             bit_depth, ccs[size_t(a)]);
      }
    double cost_noclip = 0, cost_clip = 0;
    int coeff_c[2][kAlfChromaTaps];
    for (int a = 0; a < best_chroma.num_alt; a++) {
      ccs[size_t(a)].symmetrise();
      ccs[size_t(a)].scale(2.0);
      const uint8_t zero[kAlfChromaTaps] = {};
      cost_noclip += select_clip<kAlfChromaTaps>(ccs[size_t(a)], zero).dist(best_chroma.coeff[a]) +
                     lambda[1] * coeff_bits(best_chroma.coeff[a], kAlfChromaTaps);
      cost_clip += search_clip<kAlfChromaTaps>(ccs[size_t(a)], lambda[1], coeff_c[a], chroma_clip[a]) +
                   lambda[1] * 2 * kAlfChromaTaps;
    }
    if (cost_clip + lambda[1] < cost_noclip) {
      chroma_clip_on = true;
      for (int a = 0; a < best_chroma.num_alt; a++) std::copy(coeff_c[a], coeff_c[a] + kAlfChromaTaps, best_chroma.coeff[a]);
      // Each CTB's choice by its actual filtered distortion.
      static const int kClipShift[4] = {0, 3, 5, 7};
      for (int c = 0; c < 2; c++) {
        Plane tmp = rec[c + 1];
        for (int i = 0; i < n; i++) {
          const int x0 = (i % ctus_x) * ctb / 2, y0 = (i / ctus_x) * ctb / 2;
          const int x1 = std::min(x0 + ctb / 2, tmp.width), y1 = std::min(y0 + ctb / 2, tmp.height);
          const size_t k = size_t(i) * 2 + c;
          double best = ctt[k] + lambda[c + 1];
          int bc = -1;
          for (int a = 0; a < best_chroma.num_alt; a++) {
            int16_t co[kAlfChromaTaps], cl[kAlfChromaTaps];
            for (int j = 0; j < kAlfChromaTaps; j++) {
              co[j] = int16_t(best_chroma.coeff[a][j]);
              cl[j] = int16_t(1 << (bit_depth - kClipShift[chroma_clip[a][j]]));
            }
            alf_filter_chroma_ctb(rec[c + 1], tmp, x0, y0, log2_ctb - 1, bit_depth, co, cl);
            double d = 0;
            for (int y = y0; y < y1; y++)
              for (int x = x0; x < x1; x++) {
                const double e = double(org[c + 1].at(x, y)) - tmp.at(x, y);
                d += e * e;
              }
            const double cost = d + lambda[c + 1] * (1 + (best_chroma.num_alt > 1 ? a + 1 : 0));
            if (cost < best) { best = cost; bc = a; }
          }
          best_chroma.ch[k] = bc;
        }
      }
    }
  }
  if (best_chroma.num_alt > 0) {
    aps.chroma_signal = true;
    aps.chroma_clip = chroma_clip_on;
    for (int a = 0; a < best_chroma.num_alt; a++)
      for (int j = 0; j < kAlfChromaTaps; j++) aps.chroma_clip_idx[a][j] = chroma_clip_on ? chroma_clip[a][j] : 0;
    aps.chroma_num_alt = best_chroma.num_alt;
    for (int a = 0; a < best_chroma.num_alt; a++)
      for (int j = 0; j < kAlfChromaTaps; j++) aps.chroma_coeff[a][j] = int16_t(best_chroma.coeff[a][j]);
    for (int i = 0; i < n; i++)
      for (int c = 0; c < 2; c++) {
        const int a = best_chroma.ch[size_t(i) * 2 + c];
        if (a < 0) continue;
        params[i].ctb_flag[c + 1] = 1;
        params[i].filter_alt_idx[c] = uint8_t(a);
        (c ? sh.cr : sh.cb) = true;
      }
    sh.aps_id_chroma = 0;
  }

  // ---- CCALF from the pre-ALF luma against the ALF chroma output.
  if (use_cc) {
    for (int c = 0; c < 2; c++) {
      Plane alf_c = rec[c + 1];
      if (best_chroma.num_alt > 0) {
        static const int kClipShift[4] = {0, 3, 5, 7};
        for (int i = 0; i < n; i++) {
          const int a = best_chroma.ch[size_t(i) * 2 + c];
          if (a < 0) continue;
          int16_t co[kAlfChromaTaps], clip[kAlfChromaTaps];
          for (int j = 0; j < kAlfChromaTaps; j++) {
            co[j] = int16_t(best_chroma.coeff[a][j]);
            clip[j] = int16_t(1 << (bit_depth - kClipShift[chroma_clip_on ? chroma_clip[a][j] : 0]));
          }
          alf_filter_chroma_ctb(rec[c + 1], alf_c, (i % ctus_x) * ctb / 2, (i / ctus_x) * ctb / 2, log2_ctb - 1,
                                bit_depth, co, clip);
        }
      }
      std::vector<CcStats> ccs(static_cast<size_t>(n));
      for (int i = 0; i < n; i++)
        gather_cc(org[c + 1], alf_c, rec[0], (i % ctus_x) * ctb / 2, (i / ctus_x) * ctb / 2, log2_ctb,
                  ccs[size_t(i)]);
      const double lam = lambda[c + 1];
      const CcDecision d = decide_cc_filters(ccs, lam);
      if (d.gain - lam * (aps.luma_signal || aps.chroma_signal || aps.cc_signal[0] ? 0 : kApsOverheadBits) > 0) {
        aps.cc_signal[c] = true;
        aps.cc_num_filters[c] = d.num;
        for (int k = 0; k < d.num; k++)
          for (int j = 0; j < kCcAlfTaps; j++) aps.cc_coeff[c][k][j] = int16_t(d.f[k][j]);
        sh.cc[c] = true;
        sh.cc_aps_id[c] = 0;
        for (int i = 0; i < n; i++) params[i].cc_idc[c] = d.idc[size_t(i)];
      }
    }
  }
  sh.enabled = luma_on || sh.cb || sh.cr || sh.cc[0] || sh.cc[1];
  if (!sh.enabled) {
    for (int i = 0; i < n; i++) params[i] = AlfCtbParams();
    sh = AlfSliceParams();
  }
  return sh.enabled;
}

}  // namespace pyvtm
