// Sample adaptive offset: syntax (7.3.11.3), CTB modification (8.8.4) and
// the encoder's decision.
#include "sao.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "api.h"
#include "dsp.h"

namespace pyvtm {

bool SaoCtbParams::same_params(const SaoCtbParams &o) const {
  for (int c = 0; c < 3; c++) {
    if (type_idx[c] != o.type_idx[c]) return false;
    if (type_idx[c] == SAO_NOT_APPLIED) continue;
    if (type_idx[c] == SAO_BAND ? band_position[c] != o.band_position[c] : eo_class[c] != o.eo_class[c]) return false;
    for (int i = 0; i < 4; i++)
      if (offset_val[c][i] != o.offset_val[c][i]) return false;
  }
  return true;
}

namespace {

// Table 44 (8.8.4.2): neighbour positions of the four edge offset classes.
constexpr int kEoHPos[4][2] = {{-1, 1}, {0, 0}, {-1, 1}, {1, -1}};
constexpr int kEoVPos[4][2] = {{0, 0}, {-1, 1}, {-1, 1}, {-1, 1}};

bool component_on(SaoSliceFlags f, int c) { return c == 0 ? f.luma : f.chroma; }

// sao_offset_abs: TR binarisation, cMax = sao_max_offset_abs, cRiceParam 0, bypass.
void write_offset_abs(CabacWriter &w, int v, int cmax) {
  for (int i = 0; i < v; i++) w.encode_bypass(1);
  if (v < cmax) w.encode_bypass(0);
}
int read_offset_abs(CabacReader &r, int cmax) {
  int v = 0;
  while (v < cmax && r.decode_bypass()) v++;
  return v;
}

}  // namespace

void write_sao(CabacWriter &w, ContextSet &cs, const SaoCtbParams &p, const SaoCtbParams *left,
               const SaoCtbParams *up, SaoSliceFlags f, int bit_depth) {
  ContextModel &merge_ctx = cs.m[CTX_SAO_MERGE_FLAG];
  if (left) w.encode_bin(merge_ctx, p.merge_left);
  else if (p.merge_left) throw std::logic_error("SAO writer: merge left without a left CTB");
  if (!p.merge_left) {
    if (up) w.encode_bin(merge_ctx, p.merge_up);
    else if (p.merge_up) throw std::logic_error("SAO writer: merge up without an above CTB");
  }
  if (p.merge_left || p.merge_up) {
    if (!p.same_params(p.merge_left ? *left : *up)) throw std::logic_error("SAO writer: merged parameters differ");
    return;
  }
  const int cmax = sao_max_offset_abs(bit_depth);
  for (int c = 0; c < 3; c++) {
    if (!component_on(f, c)) {
      if (p.type_idx[c] != SAO_NOT_APPLIED) throw std::logic_error("SAO writer: SAO on a component the slice disables");
      continue;
    }
    const int type = p.type_idx[c];
    if (c == 2 && (type != p.type_idx[1] || (type == SAO_EDGE && p.eo_class[2] != p.eo_class[1])))
      throw std::logic_error("SAO writer: Cr type / class differ from Cb");
    if (c < 2) {  // sao_type_idx_luma / sao_type_idx_chroma: TR cMax 2, first bin context coded
      w.encode_bin(cs.m[CTX_SAO_TYPE_IDX], type != SAO_NOT_APPLIED);
      if (type != SAO_NOT_APPLIED) w.encode_bypass(type == SAO_EDGE);
    }
    if (type == SAO_NOT_APPLIED) continue;
    for (int i = 0; i < 4; i++) {
      const int v = p.offset_val[c][i];
      if (type == SAO_EDGE && (i < 2 ? v < 0 : v > 0)) throw std::logic_error("SAO writer: edge offset of wrong sign");
      if (std::abs(v) > cmax) throw std::logic_error("SAO writer: offset out of range");
      write_offset_abs(w, std::abs(v), cmax);
    }
    if (type == SAO_BAND) {
      for (int i = 0; i < 4; i++)
        if (p.offset_val[c][i]) w.encode_bypass(p.offset_val[c][i] < 0);  // sao_offset_sign_flag
      w.encode_bypass_bins(p.band_position[c], 5);                       // sao_band_position
    } else if (c < 2) {
      w.encode_bypass_bins(p.eo_class[c], 2);  // sao_eo_class_luma / sao_eo_class_chroma
    }
  }
}

void read_sao(CabacReader &r, ContextSet &cs, SaoCtbParams &p, const SaoCtbParams *left, const SaoCtbParams *up,
              SaoSliceFlags f, int bit_depth) {
  p = SaoCtbParams();
  ContextModel &merge_ctx = cs.m[CTX_SAO_MERGE_FLAG];
  if (left) p.merge_left = uint8_t(r.decode_bin(merge_ctx));
  if (!p.merge_left && up) p.merge_up = uint8_t(r.decode_bin(merge_ctx));
  if (p.merge_left || p.merge_up) {
    const uint8_t ml = p.merge_left, mu = p.merge_up;
    p = p.merge_left ? *left : *up;  // 7.4.12.3: the syntax elements of the left / above CTB
    p.merge_left = ml;
    p.merge_up = mu;
    return;
  }
  const int cmax = sao_max_offset_abs(bit_depth);
  const int log2_offset_scale = std::max(0, bit_depth - 10);
  for (int c = 0; c < 3; c++) {
    if (!component_on(f, c)) continue;  // SaoTypeIdx inferred 0
    if (c < 2) {
      int type = SAO_NOT_APPLIED;
      if (r.decode_bin(cs.m[CTX_SAO_TYPE_IDX])) type = r.decode_bypass() ? SAO_EDGE : SAO_BAND;
      p.type_idx[c] = uint8_t(type);
    } else {
      p.type_idx[2] = p.type_idx[1];
    }
    const int type = p.type_idx[c];
    if (type == SAO_NOT_APPLIED) continue;
    int abs_v[4];
    for (int i = 0; i < 4; i++) abs_v[i] = read_offset_abs(r, cmax);
    if (type == SAO_BAND) {
      for (int i = 0; i < 4; i++) {
        const int sign = abs_v[i] && r.decode_bypass() ? -1 : 1;
        p.offset_val[c][i] = int8_t(sign * (abs_v[i] << log2_offset_scale));
      }
      p.band_position[c] = uint8_t(r.decode_bypass_bins(5));
    } else {
      for (int i = 0; i < 4; i++) p.offset_val[c][i] = int8_t((i < 2 ? 1 : -1) * (abs_v[i] << log2_offset_scale));
      if (c == 0) p.eo_class[0] = uint8_t(r.decode_bypass_bins(2));
      if (c == 1) p.eo_class[1] = uint8_t(r.decode_bypass_bins(2));
      if (c == 2) p.eo_class[2] = p.eo_class[1];
    }
  }
}

// --- 8.8.4.2 CTB modification process ----------------------------------------------

void sao_apply_component(const Plane &rec, Plane &out, int comp, const SaoCtbParams *params, int ctbs_x, int ctbs_y,
                         int log2_ctb, int bit_depth) {
  const int maxv = (1 << bit_depth) - 1;
  const int ctb = 1 << log2_ctb;
  const int band_shift = bit_depth - 5;
  const Dsp &k = dsp();
  for (int ry = 0; ry < ctbs_y; ry++)
    for (int rx = 0; rx < ctbs_x; rx++) {
      const SaoCtbParams &p = params[size_t(ry) * ctbs_x + rx];
      const int type = p.type_idx[comp];
      if (type == SAO_NOT_APPLIED) continue;
      const int x0 = rx * ctb, y0 = ry * ctb;
      const int x1 = std::min(x0 + ctb, rec.width), y1 = std::min(y0 + ctb, rec.height);
      const int8_t *off = p.offset_val[comp];
      if (type == SAO_BAND) {
        int8_t band_table[32] = {0};  // bandTable[] -> bandIdx (0: no offset)
        for (int b = 0; b < 4; b++) band_table[(b + p.band_position[comp]) & 31] = int8_t(b + 1);
        for (int y = y0; y < y1; y++)
          k.sao_band_row(rec.row(y) + x0, out.row(y) + x0, x1 - x0, band_table, band_shift, off, maxv);
        continue;
      }
      const int cls = p.eo_class[comp];
      const int hp0 = kEoHPos[cls][0], hp1 = kEoHPos[cls][1], vp0 = kEoVPos[cls][0], vp1 = kEoVPos[cls][1];
      // Columns whose neighbours are inside the picture; elsewhere
      // SaoOffsetVal[0] = 0 applies (the sample is unchanged).
      const int xs = std::max(x0, -std::min(hp0, hp1)), xe = std::min(x1, rec.width - std::max(hp0, hp1));
      for (int y = y0; y < y1; y++) {
        const bool row_ok = y + vp0 >= 0 && y + vp0 < rec.height && y + vp1 >= 0 && y + vp1 < rec.height;
        const Pel *s = rec.row(y);
        Pel *d = out.row(y);
        if (!row_ok || xs >= xe) {
          std::copy(s + x0, s + x1, d + x0);
          continue;
        }
        std::copy(s + x0, s + xs, d + x0);
        std::copy(s + xe, s + x1, d + xe);
        k.sao_edge_row(s + xs, rec.row(y + vp0) + xs + hp0, rec.row(y + vp1) + xs + hp1, d + xs, xe - xs, off, maxv);
      }
    }
}

// --- encoder decision ------------------------------------------------------------------

namespace {

// Per CTB and component: sum of (original - deblocked) and sample counts per
// edge category (index 1..4 of each class) and per band.
struct SaoStats {
  int64_t eo_diff[4][5] = {{0}}, eo_count[4][5] = {{0}};
  int64_t bo_diff[32] = {0}, bo_count[32] = {0};
};

void gather_stats(const Plane &org, const Plane &rec, int x0, int y0, int x1, int y1, int bit_depth, SaoStats &st) {
  const int band_shift = bit_depth - 5;
  for (int y = y0; y < y1; y++) {
    const Pel *o = org.row(y), *s = rec.row(y);
    for (int x = x0; x < x1; x++) {
      const int v = s[x], diff = o[x] - v;
      st.bo_diff[v >> band_shift] += diff;
      st.bo_count[v >> band_shift]++;
      for (int cls = 0; cls < 4; cls++) {
        const int xa = x + kEoHPos[cls][0], ya = y + kEoVPos[cls][0], xb = x + kEoHPos[cls][1], yb = y + kEoVPos[cls][1];
        if (xa < 0 || xb < 0 || ya < 0 || yb < 0 || xa >= rec.width || xb >= rec.width || ya >= rec.height ||
            yb >= rec.height)
          continue;
        const int a = rec.at(xa, ya), b = rec.at(xb, yb);
        int e = 2 + (v > a) - (v < a) + (v > b) - (v < b);
        if (e <= 2) e = e == 2 ? 0 : e + 1;
        if (e) {
          st.eo_diff[cls][e] += diff;
          st.eo_count[cls][e]++;
        }
      }
    }
  }
}

// Distortion change of adding `off` to n samples whose differences sum to d.
inline double delta_dist(int64_t n, int64_t d, int off) { return double(n) * off * off - 2.0 * off * double(d); }

// Bits of sao_offset_abs = a (TR, bypass).
inline int offset_abs_bits(int a, int cmax) { return a < cmax ? a + 1 : a; }

// Best offset for one category / band in [lo, hi] by D + lambda * R.
int best_offset(int64_t n, int64_t d, int lo, int hi, double lambda, int cmax, bool sign_bit, double &cost) {
  cost = 0;  // offset 0
  double best = lambda * offset_abs_bits(0, cmax);
  int best_o = 0;
  if (n == 0) { cost = best; return 0; }
  const double ideal = double(d) / double(n);
  const int start = clip3(lo, hi, int(std::lround(ideal)));
  const int step = start > 0 ? -1 : 1;
  for (int o = start; o != 0; o += step) {
    const double c = delta_dist(n, d, o) + lambda * (offset_abs_bits(std::abs(o), cmax) + (sign_bit ? 1 : 0));
    if (c < best) { best = c; best_o = o; }
  }
  cost = best;
  return best_o;
}

// Distortion change of parameters p on component c given its statistics.
double params_delta_dist(const SaoCtbParams &p, int c, const SaoStats &st) {
  const int type = p.type_idx[c];
  double dd = 0;
  if (type == SAO_EDGE) {
    const int cls = p.eo_class[c];
    for (int e = 1; e <= 4; e++) dd += delta_dist(st.eo_count[cls][e], st.eo_diff[cls][e], p.offset_val[c][e - 1]);
  } else if (type == SAO_BAND) {
    for (int k = 0; k < 4; k++) {
      const int b = (p.band_position[c] + k) & 31;
      dd += delta_dist(st.bo_count[b], st.bo_diff[b], p.offset_val[c][k]);
    }
  }
  return dd;
}

// Candidate parameters of one component (type, class/band, offsets) with
// their distortion change and approximate rate (bits without the type bins).
struct CompCand {
  int type = SAO_NOT_APPLIED, cls = 0, band = 0;
  int off[4] = {0, 0, 0, 0};
  double dist = 0, cost = 0;  // cost = dist + lambda * offset bits (no type / class bits)
};

CompCand edge_candidate(const SaoStats &st, int cls, double lambda, int cmax) {
  CompCand c;
  c.type = SAO_EDGE;
  c.cls = cls;
  for (int e = 1; e <= 4; e++) {
    double cost;
    const bool pos = e <= 2;
    c.off[e - 1] = best_offset(st.eo_count[cls][e], st.eo_diff[cls][e], pos ? 0 : -cmax, pos ? cmax : 0, lambda, cmax,
                               false, cost);
    c.dist += delta_dist(st.eo_count[cls][e], st.eo_diff[cls][e], c.off[e - 1]);
    c.cost += cost;
  }
  return c;
}

CompCand band_candidate(const SaoStats &st, double lambda, int cmax) {
  double cost[32];
  int off[32];
  for (int b = 0; b < 32; b++) off[b] = best_offset(st.bo_count[b], st.bo_diff[b], -cmax, cmax, lambda, cmax, true, cost[b]);
  CompCand c;
  c.type = SAO_BAND;
  double best = std::numeric_limits<double>::max();
  for (int p = 0; p < 32; p++) {
    const double s = cost[p] + cost[(p + 1) & 31] + cost[(p + 2) & 31] + cost[(p + 3) & 31];
    if (s < best) { best = s; c.band = p; }
  }
  c.cost = best;
  for (int k = 0; k < 4; k++) {
    const int b = (c.band + k) & 31;
    c.off[k] = off[b];
    c.dist += delta_dist(st.bo_count[b], st.bo_diff[b], off[b]);
  }
  return c;
}

void set_component(SaoCtbParams &p, int comp, const CompCand &c) {
  p.type_idx[comp] = uint8_t(c.type);
  p.eo_class[comp] = uint8_t(c.type == SAO_EDGE ? c.cls : 0);
  p.band_position[comp] = uint8_t(c.type == SAO_BAND ? c.band : 0);
  for (int i = 0; i < 4; i++) p.offset_val[comp][i] = int8_t(c.type ? c.off[i] : 0);
}

double bits_of(const CabacWriter &e) { return double(e.frac_bits()) / (1 << kFracBitsShift); }

}  // namespace

void sao_decide(const Plane org[3], const Plane rec[3], int ctbs_x, int ctbs_y, int log2_ctb, int bit_depth,
                const double lambda[3], SaoSliceFlags slice, SaoCtbParams *params, int slice_qp, bool used[3]) {
  const int cmax = sao_max_offset_abs(bit_depth);
  ContextSet cs;  // running state of the SAO contexts over the CTBs (rate estimates)
  cs.init(slice_qp);
  for (int c = 0; c < 3; c++) used[c] = false;
  for (int ry = 0; ry < ctbs_y; ry++)
    for (int rx = 0; rx < ctbs_x; rx++) {
      SaoStats st[3];
      for (int c = 0; c < 3; c++) {
        if (!(c == 0 ? slice.luma : slice.chroma)) continue;
        const int l2 = log2_ctb - (c ? 1 : 0), x0 = rx << l2, y0 = ry << l2;
        gather_stats(org[c], rec[c], x0, y0, std::min(x0 + (1 << l2), rec[c].width),
                     std::min(y0 + (1 << l2), rec[c].height), bit_depth, st[c]);
      }
      // Costs in the luma Lagrangian's scale: chroma distortion weighted by lambda[0] / lambda[c].
      const double w[3] = {1.0, lambda[0] / lambda[1], lambda[0] / lambda[2]};
      SaoCtbParams fresh;
      if (slice.luma) {
        CompCand best;  // off
        best.cost = lambda[0] * 1;  // the type bin, about one bit
        for (int cls = 0; cls < 4; cls++) {
          CompCand e = edge_candidate(st[0], cls, lambda[0], cmax);
          e.cost += lambda[0] * (2 + 2);
          if (e.cost < best.cost) best = e;
        }
        CompCand b = band_candidate(st[0], lambda[0], cmax);
        b.cost += lambda[0] * (2 + 5);
        if (b.cost < best.cost) best = b;
        set_component(fresh, 0, best);
      }
      if (slice.chroma) {
        // Cb and Cr share the type and the edge class.
        CompCand best_cb, best_cr;
        double best = lambda[0] * 1;
        for (int cls = 0; cls < 4; cls++) {
          CompCand e1 = edge_candidate(st[1], cls, lambda[1], cmax), e2 = edge_candidate(st[2], cls, lambda[2], cmax);
          const double cost = w[1] * e1.cost + w[2] * e2.cost + lambda[0] * (2 + 2);
          if (cost < best) { best = cost; best_cb = e1; best_cr = e2; }
        }
        CompCand b1 = band_candidate(st[1], lambda[1], cmax), b2 = band_candidate(st[2], lambda[2], cmax);
        if (w[1] * b1.cost + w[2] * b2.cost + lambda[0] * (2 + 10) < best) { best_cb = b1; best_cr = b2; }
        set_component(fresh, 1, best_cb);
        set_component(fresh, 2, best_cr);
      }
      // Final choice among fresh parameters, merge left and merge up, with
      // the syntax rate from the running contexts.
      const size_t idx = size_t(ry) * ctbs_x + rx;
      const SaoCtbParams *left = rx > 0 ? &params[idx - 1] : nullptr;
      const SaoCtbParams *up = ry > 0 ? &params[idx - size_t(ctbs_x)] : nullptr;
      SaoCtbParams cands[3];
      int ncand = 0;
      cands[ncand++] = fresh;
      if (left) { cands[ncand] = *left; cands[ncand].merge_left = 1; cands[ncand].merge_up = 0; ncand++; }
      if (up) { cands[ncand] = *up; cands[ncand].merge_left = 0; cands[ncand].merge_up = 1; ncand++; }
      double best_cost = std::numeric_limits<double>::max();
      int best_i = 0;
      for (int i = 0; i < ncand; i++) {
        double dist = 0;
        for (int c = 0; c < 3; c++)
          if (c == 0 ? slice.luma : slice.chroma) dist += w[c] * params_delta_dist(cands[i], c, st[c]);
        ContextSet tmp = cs;
        CabacWriter e(true);
        e.start();
        write_sao(e, tmp, cands[i], left, up, slice, bit_depth);
        const double cost = dist + lambda[0] * bits_of(e);
        if (cost < best_cost) { best_cost = cost; best_i = i; }
      }
      params[idx] = cands[best_i];
      CabacWriter e(true);
      e.start();
      write_sao(e, cs, params[idx], left, up, slice, bit_depth);
      for (int c = 0; c < 3; c++) used[c] = used[c] || params[idx].type_idx[c] != SAO_NOT_APPLIED;
    }
}

}  // namespace pyvtm
