#include "intra_pred.h"

#include <cstdlib>

#include "tables.h"

namespace pyvtm {

void build_intra_refs(const Plane &rec, const RefAvailability &av, int x0, int y0, int log2n,
                      int bit_depth, IntraRefs &refs) {
  const int n = 1 << log2n;
  const int ref_len = 2 * n;  // refW = refH = 2N
  // Marking in the substitution order of 8.4.5.2.9: p[-1][refH-1] .. p[-1][-1],
  // then p[0][-1] .. p[refW-1][-1]. Index k = 0..4N in that order.
  const int total = 2 * ref_len + 1;
  Pel samples[4 * 64 + 1];
  bool avail[4 * 64 + 1];
  int num_avail = 0;
  for (int k = 0; k < total; k++) {
    int x, y;
    if (k < ref_len) { x = -1; y = ref_len - 1 - k; }
    else if (k == ref_len) { x = -1; y = -1; }
    else { x = k - ref_len - 1; y = -1; }
    const int xs = x0 + x, ys = y0 + y;
    avail[k] = av.available(xs, ys);
    if (avail[k]) { samples[k] = rec.at(xs, ys); num_avail++; }
  }
  if (num_avail == 0) {
    for (int k = 0; k < total; k++) samples[k] = Pel(1 << (bit_depth - 1));
  } else {
    if (!avail[0]) {
      int k = 1;
      while (!avail[k]) k++;
      samples[0] = samples[k];
    }
    for (int k = 1; k < total; k++)
      if (!avail[k]) samples[k] = samples[k - 1];
  }
  // Scatter into the top/left layout.
  refs.top[0] = refs.left[0] = samples[ref_len];
  for (int y = 0; y < ref_len; y++) refs.left[1 + y] = samples[ref_len - 1 - y];
  for (int x = 0; x < ref_len; x++) refs.top[1 + x] = samples[ref_len + 1 + x];
  // Two extra samples past the end, replicated (used by 4-tap filters).
  refs.top[ref_len + 1] = refs.top[ref_len + 2] = refs.top[ref_len];
  refs.left[ref_len + 1] = refs.left[ref_len + 2] = refs.left[ref_len];
}

// 8.4.5.2.10 reference sample filtering with [1 2 1].
static void filter_refs(const IntraRefs &in, int n, IntraRefs &out) {
  const int len = 2 * n;
  out.top[0] = out.left[0] = Pel((in.left[1] + 2 * in.top[0] + in.top[1] + 2) >> 2);
  for (int i = 1; i < len; i++) {
    out.top[i] = Pel((in.top[i - 1] + 2 * in.top[i] + in.top[i + 1] + 2) >> 2);
    out.left[i] = Pel((in.left[i - 1] + 2 * in.left[i] + in.left[i + 1] + 2) >> 2);
  }
  out.top[len] = in.top[len];
  out.left[len] = in.left[len];
  out.top[len + 1] = out.top[len + 2] = out.top[len];
  out.left[len + 1] = out.left[len + 2] = out.left[len];
}

static inline Pel clip_pel(int v, int bit_depth) { return Pel(clip3(0, (1 << bit_depth) - 1, v)); }

// 8.4.5.2.15 position-dependent prediction for planar and DC.
static void pdpc_planar_dc(const IntraRefs &r, int log2n, Pel *dst) {
  const int n = 1 << log2n;
  const int scale = (2 * log2n - 2) >> 2;
  for (int y = 0; y < n; y++) {
    const int sy = (y << 1) >> scale;
    const int wt = sy > 5 ? 0 : 32 >> sy;
    for (int x = 0; x < n; x++) {
      const int sx = (x << 1) >> scale;
      const int wl = sx > 5 ? 0 : 32 >> sx;
      const int v = dst[y * n + x];
      dst[y * n + x] = Pel(v + ((wl * (r.left[1 + y] - v) + wt * (r.top[1 + x] - v) + 32) >> 6));
    }
  }
}

static void predict_planar(const IntraRefs &r, int log2n, Pel *dst) {  // 8.4.5.2.11
  const int n = 1 << log2n;
  const int tr = r.top[1 + n], bl = r.left[1 + n];
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++) {
      const int pv = ((n - 1 - y) * r.top[1 + x] + (y + 1) * bl) << log2n;
      const int ph = ((n - 1 - x) * r.left[1 + y] + (x + 1) * tr) << log2n;
      dst[y * n + x] = Pel((pv + ph + n * n) >> (2 * log2n + 1));
    }
}

static void predict_dc(const IntraRefs &r, int log2n, Pel *dst) {  // 8.4.5.2.12
  const int n = 1 << log2n;
  int sum = 0;
  for (int i = 0; i < n; i++) sum += r.top[1 + i] + r.left[1 + i];
  const Pel dc = Pel((sum + n) >> (log2n + 1));
  for (int i = 0; i < n * n; i++) dst[i] = dc;
}

// 8.4.5.2.13 angular modes 2..66 for a square block (no wide angles).
static void predict_angular(int mode, int log2n, bool is_luma, bool gauss_interp, const IntraRefs &r,
                            int bit_depth, Pel *dst) {
  const int n = 1 << log2n;
  const bool is_ver = mode >= INTRA_ANGULAR34;
  const int angle_mode = is_ver ? mode - INTRA_ANGULAR50 : -(mode - INTRA_ANGULAR18);
  const int abs_mode = std::abs(angle_mode);
  const int angle = (angle_mode < 0 ? -1 : 1) * g_intra_pred_angle[abs_mode];
  const int inv_angle = g_inv_angle[abs_mode];

  // Main/side reference arrays with room for the negative extension.
  Pel main_buf[3 * 64 + 8], side_buf[3 * 64 + 8];
  Pel *ref_main = main_buf + n + 1;
  Pel *ref_side = side_buf + n + 1;
  const Pel *src_main = is_ver ? r.top : r.left;
  const Pel *src_side = is_ver ? r.left : r.top;
  for (int i = 0; i <= 2 * n + 2; i++) { ref_main[i] = src_main[i]; ref_side[i] = src_side[i]; }
  if (angle < 0) {
    for (int k = -n; k <= -1; k++) ref_main[k] = ref_side[std::min((-k * inv_angle + 256) >> 9, n)];
  }

  bool apply_pdpc = true;
  int pdpc_scale = 0;
  if (angle_mode < 0) apply_pdpc = false;
  else if (angle_mode > 0) {
    pdpc_scale = std::min(2, log2n - (floor_log2(3 * inv_angle - 2) - 8));
    apply_pdpc = pdpc_scale >= 0;
  }

  Pel tmp[64 * 64];
  Pel *out = is_ver ? dst : tmp;  // horizontal modes predicted transposed
  if (angle == 0) {
    const int scale = (2 * log2n - 2) >> 2;
    for (int y = 0; y < n; y++) {
      for (int x = 0; x < n; x++) out[y * n + x] = ref_main[x + 1];
      if (apply_pdpc) {
        const int top_left = ref_main[0];
        const int left = ref_side[1 + y];
        for (int x = 0; x < std::min(3 << scale, n); x++) {
          const int wl = 32 >> ((2 * x) >> scale);
          out[y * n + x] = clip_pel(out[y * n + x] + ((wl * (left - top_left) + 32) >> 6), bit_depth);
        }
      }
    }
  } else {
    const bool integer_slope = (std::abs(angle) & 31) == 0;
    for (int y = 0, delta_pos = angle; y < n; y++, delta_pos += angle) {
      const int delta_int = delta_pos >> 5;
      const int delta_fract = delta_pos & 31;
      Pel *row = out + y * n;
      if (!integer_slope) {
        if (is_luma) {
          int f[4];
          if (gauss_interp) {
            f[0] = 16 - (delta_fract >> 1); f[1] = 32 - (delta_fract >> 1);
            f[2] = 16 + (delta_fract >> 1); f[3] = delta_fract >> 1;
          } else {
            for (int i = 0; i < 4; i++) f[i] = g_intra_cubic_filter[delta_fract][i];
          }
          for (int x = 0; x < n; x++) {
            const Pel *p = ref_main + delta_int + x;
            const int v = (f[0] * p[0] + f[1] * p[1] + f[2] * p[2] + f[3] * p[3] + 32) >> 6;
            row[x] = clip_pel(v, bit_depth);
          }
        } else {
          for (int x = 0; x < n; x++) {
            const int a = ref_main[delta_int + x + 1], b = ref_main[delta_int + x + 2];
            row[x] = Pel(a + ((delta_fract * (b - a) + 16) >> 5));
          }
        }
      } else {
        for (int x = 0; x < n; x++) row[x] = ref_main[x + delta_int + 1];
      }
      if (apply_pdpc) {
        int inv_angle_sum = 256;
        for (int x = 0; x < std::min(3 << pdpc_scale, n); x++) {
          inv_angle_sum += inv_angle;
          const int wl = 32 >> ((2 * x) >> pdpc_scale);
          const int left = ref_side[y + (inv_angle_sum >> 9) + 1];
          row[x] = Pel(row[x] + ((wl * (left - row[x]) + 32) >> 6));
        }
      }
    }
  }
  if (!is_ver) {
    for (int y = 0; y < n; y++)
      for (int x = 0; x < n; x++) dst[x * n + y] = tmp[y * n + x];
  }
}

void predict_intra(int mode, int log2n, bool is_luma, const IntraRefs &refs, int bit_depth, Pel *dst) {
  const int n = 1 << log2n;
  // Filtering decisions of 8.4.5.2.6 / 8.4.5.2.13 (square blocks, refIdx 0,
  // no ISP, no MIP): [1 2 1] reference smoothing or Gaussian interpolation.
  bool ref_filter = false, gauss = false;
  if (is_luma && mode != INTRA_DC) {
    if (mode == INTRA_PLANAR) {
      ref_filter = n * n > 32;
    } else {
      const int min_dist = std::min(std::abs(mode - INTRA_ANGULAR18), std::abs(mode - INTRA_ANGULAR50));
      if (min_dist > g_intra_hor_ver_dist_thres[log2n]) {
        const int abs_mode = std::abs(mode >= INTRA_ANGULAR34 ? mode - INTRA_ANGULAR50 : mode - INTRA_ANGULAR18);
        const bool integer_slope = (g_intra_pred_angle[abs_mode] & 31) == 0;
        ref_filter = integer_slope;
        gauss = !integer_slope;
      }
    }
  }
  IntraRefs filtered;
  const IntraRefs &r = ref_filter ? (filter_refs(refs, n, filtered), filtered) : refs;
  if (mode == INTRA_PLANAR) {
    predict_planar(r, log2n, dst);
    pdpc_planar_dc(r, log2n, dst);
  } else if (mode == INTRA_DC) {
    predict_dc(r, log2n, dst);
    pdpc_planar_dc(r, log2n, dst);
  } else {
    predict_angular(mode, log2n, is_luma, gauss, r, bit_depth, dst);
  }
}

}  // namespace pyvtm
