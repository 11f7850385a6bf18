#include "intra_pred.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dsp.h"
#include "tables.h"

namespace pyvtm {

namespace {

constexpr int kMaxSide = 64;               // largest intra block side predicted here
constexpr int kRefLen = 2 * 128 + 8;       // entries of IntraRefs::top / left

// std::fill for sample runs of up to a few hundred, eight at a time.
inline void fill_pels(Pel *p, Pel *end, Pel v) {
#if defined(__SSE2__)
  const __m128i vv = _mm_set1_epi16(v);
  for (; end - p >= 8; p += 8) _mm_storeu_si128(reinterpret_cast<__m128i *>(p), vv);
#endif
  for (; p < end; p++) *p = v;
}

inline Pel clip_pel(int v, int bit_depth) { return Pel(clip3(0, (1 << bit_depth) - 1, v)); }

// intraPredAngle of Table 23 as a function of the distance d from the
// pure direction (d = predModeIntra - 50 for predModeIntra >= 34,
// d = 18 - predModeIntra for 2..33, d = 16 - predModeIntra for -14..-1).
constexpr int kAngleByDist[31] = {0,  1,  2,  3,  4,  6,  8,  10, 12,  14,  16,  18,  20,  23,  26, 29,
                                  32, 35, 39, 45, 51, 57, 64, 73, 86, 102, 128, 171, 256, 341, 512};

// intraPredAngle of an angular (possibly wide-angle) predModeIntra.
int intra_pred_angle(int mode) {
  int d;
  if (mode >= INTRA_ANGULAR34) d = mode - INTRA_ANGULAR50;
  else if (mode >= 2) d = INTRA_ANGULAR18 - mode;
  else d = 16 - mode;  // wide angles -1..-14 mirror 67..80
  return d < 0 ? -kAngleByDist[-d] : kAngleByDist[d];
}

// |invAngle| = Round(512 * 32 / |intraPredAngle|) (8.4.5.2.13).
int inv_angle_abs(int angle) {
  const int a = std::abs(angle);
  return (2 * 512 * 32 + a) / (2 * a);
}

// refFilterFlag of 8.4.5.2.6: planar and the integer-slope angular modes.
bool ref_filter_flag(int mode) {
  switch (mode) {
    case 0: case -14: case -12: case -10: case -6: case 2: case 34: case 66: case 72: case 76: case 78: case 80:
      return true;
    default:
      return false;
  }
}

// 8.4.5.2.10 reference sample filtering with [1 2 1] over refW = 2W top and
// refH = 2H left samples; the last sample of each side stays unfiltered.
void filter_refs(const IntraRefs &in, int ref_w, int ref_h, IntraRefs &out) {
  out.top[0] = out.left[0] = Pel((in.left[1] + 2 * in.top[0] + in.top[1] + 2) >> 2);
  for (int i = 1; i < ref_w; i++) out.top[i] = Pel((in.top[i - 1] + 2 * in.top[i] + in.top[i + 1] + 2) >> 2);
  for (int i = 1; i < ref_h; i++) out.left[i] = Pel((in.left[i - 1] + 2 * in.left[i] + in.left[i + 1] + 2) >> 2);
  fill_pels(out.top + ref_w, out.top + kRefLen, in.top[ref_w]);
  fill_pels(out.left + ref_h, out.left + kRefLen, in.left[ref_h]);
}

// 8.4.5.2.15 position-dependent prediction for planar and DC.
void pdpc_planar_dc(const IntraRefs &r, int log2w, int log2h, Pel *dst) {
  const int w = 1 << log2w, h = 1 << log2h;
  const int n_scale = (log2w + log2h - 2) >> 2;
  // wL is 0 from column x_lim on: there a row with wT = 0 is left as it is
  // (v + ((0 + 0 + 32) >> 6) = v).
  int x_lim = 0;
  while (x_lim < w && ((x_lim << 1) >> n_scale) <= 5) x_lim++;
  for (int y = 0; y < h; y++) {
    const int sy = (y << 1) >> n_scale;
    const int wt = sy > 5 ? 0 : 32 >> sy;
    const int xe = wt ? w : x_lim;
    for (int x = 0; x < xe; x++) {
      const int sx = (x << 1) >> n_scale;
      const int wl = sx > 5 ? 0 : 32 >> sx;
      const int v = dst[y * w + x];
      dst[y * w + x] = Pel(v + ((wl * (r.left[1 + y] - v) + wt * (r.top[1 + x] - v) + 32) >> 6));
    }
  }
}

void predict_planar(const IntraRefs &r, int log2w, int log2h, Pel *dst) {  // 8.4.5.2.11
  const int w = 1 << log2w, h = 1 << log2h;
  const int tr = r.top[1 + w], bl = r.left[1 + h];  // p[nTbW][-1], p[-1][nTbH]
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const int pred_v = ((h - 1 - y) * r.top[1 + x] + (y + 1) * bl) << log2w;
      const int pred_h = ((w - 1 - x) * r.left[1 + y] + (x + 1) * tr) << log2h;
      dst[y * w + x] = Pel((pred_v + pred_h + w * h) >> (log2w + log2h + 1));
    }
}

// 8.4.5.2.12: the samples p[x][-1 - refIdx], x = 0..W-1, and
// p[-1 - refIdx][y], y = 0..H-1, of the block's reference line.
void predict_dc(const IntraRefs &r, int log2w, int log2h, Pel *dst) {
  const int w = 1 << log2w, h = 1 << log2h;
  const Pel *top = r.top + 1 + r.ref_idx, *left = r.left + 1 + r.ref_idx;
  int sum = 0, dc;
  if (w == h) {
    for (int i = 0; i < w; i++) sum += top[i] + left[i];
    dc = (sum + w) >> (log2w + 1);
  } else if (w > h) {  // longer side only
    for (int i = 0; i < w; i++) sum += top[i];
    dc = (sum + (w >> 1)) >> log2w;
  } else {
    for (int i = 0; i < h; i++) sum += left[i];
    dc = (sum + (h >> 1)) >> log2h;
  }
  for (int i = 0; i < w * h; i++) dst[i] = Pel(dc);
}

// 8.4.5.2.13 angular prediction written for the vertical direction: a
// bw x bh block predicted from the main reference `main_ref` (above) and the
// side reference `side_ref` (left), both in the IntraRefs layout of line
// ref_idx (index 0 = corner). Horizontal modes call this with the roles of
// the references and of width/height exchanged and transpose the result.
// PDPC (8.4.5.2.15) for intraPredAngle 0 and positive angles (incl. wide
// angles) is applied here when ref_idx is 0.
void predict_angular(int angle, int log2bw, int log2bh, bool is_luma, bool gauss_interp, const Pel *main_ref,
                     const Pel *side_ref, int main_len, int side_len, int bit_depth, int ref_idx, Pel *out) {
  const int bw = 1 << log2bw, bh = 1 << log2bh;
  const int inv_angle = angle != 0 ? inv_angle_abs(angle) : 0;

  // ref[-bh..-1]: projection of the side reference (negative angles);
  // ref[0..refW + refIdx]: main reference (main_len = refW: 2bw, or nCbW +
  // nTbW in an ISP CU), then ref[refW + refIdx + 1..] = p[refW - 1][-1 - refIdx]
  // for Max(1, bw / bh) * refIdx + 2 samples; side_len = refH.
  const int main_end = main_len + ref_idx;
  const int ext = std::max(4, std::max(1, bw >> log2bh) * ref_idx + 2);
  Pel ref_buf[kMaxSide + 2 * kMaxSide + 48];
  Pel *ref = ref_buf + bh;
  for (int i = 0; i <= main_end + ext; i++) ref[i] = main_ref[std::min(i, main_end)];
  if (angle < 0) {
    for (int k = -bh; k <= -1; k++) ref[k] = side_ref[std::min((-k * inv_angle + 256) >> 9, bh)];
  }
  auto side = [&](int i) { return int(side_ref[std::min(i, side_len)]); };

  bool apply_pdpc = log2bw >= 2 && log2bh >= 2 && ref_idx == 0;
  int n_scale = 0;
  if (angle < 0) {
    apply_pdpc = false;
  } else if (angle > 0) {
    n_scale = std::min(2, log2bh - (floor_log2(uint32_t(3 * inv_angle - 2)) - 8));
    apply_pdpc = apply_pdpc && n_scale >= 0;
  } else {
    n_scale = (log2bw + log2bh - 2) >> 2;
  }

  const bool integer_slope = (std::abs(angle) & 31) == 0;
  for (int y = 0; y < bh; y++) {
    const int delta_pos = (y + 1 + ref_idx) * angle;
    const int delta_int = (delta_pos >> 5) + ref_idx;
    const int delta_fract = delta_pos & 31;
    Pel *row = out + y * bw;
    if (integer_slope) {
      for (int x = 0; x < bw; x++) row[x] = ref[x + delta_int + 1];
    } else if (is_luma) {
      int16_t f[4];  // fG (smoothing) or fC (cubic) interpolation filter
      if (gauss_interp) {
        f[0] = int16_t(16 - (delta_fract >> 1)); f[1] = int16_t(32 - (delta_fract >> 1));
        f[2] = int16_t(16 + (delta_fract >> 1)); f[3] = int16_t(delta_fract >> 1);
      } else {
        for (int i = 0; i < 4; i++) f[i] = int16_t(g_intra_cubic_filter[delta_fract][i]);
      }
      dsp_dec().intra_interp4_row(ref + delta_int, row, bw, f, (1 << bit_depth) - 1);
    } else {  // chroma: two-tap linear interpolation
      dsp_dec().intra_interp2_row(ref + delta_int + 1, row, bw, delta_fract);
    }
    if (!apply_pdpc) continue;
    if (angle == 0) {  // INTRA_ANGULAR50 (or 18 transposed)
      const int top_left = ref[0];
      const int left = side(1 + y);
      for (int x = 0; x < std::min(3 << n_scale, bw); x++) {
        const int wl = 32 >> ((2 * x) >> n_scale);
        row[x] = clip_pel(row[x] + ((wl * (left - top_left) + 32) >> 6), bit_depth);
      }
    } else {
      int inv_angle_sum = 256;
      for (int x = 0; x < std::min(3 << n_scale, bw); x++) {
        inv_angle_sum += inv_angle;  // dYInt = ((x + 1) * invAngle + 256) >> 9
        const int wl = 32 >> ((2 * x) >> n_scale);
        const int left = side(y + (inv_angle_sum >> 9) + 1);
        row[x] = Pel(row[x] + ((wl * (left - row[x]) + 32) >> 6));
      }
    }
  }
}

}  // namespace

void build_intra_refs(const Plane &rec, const RefAvailability &av, int x0, int y0, int log2w, int log2h,
                      int bit_depth, IntraRefs &refs, int ref_idx, int ref_w, int ref_h) {
  if (ref_w <= 0) ref_w = 2 << log2w;
  if (ref_h <= 0) ref_h = 2 << log2h;
  const int r = ref_idx;
  // 8.4.5.2.8 marking and 8.4.5.2.9 substitution, in runs of the
  // availability units (a unit of the reconstruction map is available or not
  // as a whole): the substitution order is p[-1-r][refH-1] .. p[-1-r][-1-r]
  // (left[ref_h + r] .. left[0], the corner) then p[-r][-1-r] .. p[refW-1][-1-r]
  // (top[1] .. top[ref_w + r]). An unavailable sample takes the value of the
  // one before it in that order; those before the first available one take
  // its value; with none available all are 1 << (bitDepth - 1).
  const int xl = x0 - 1 - r, yt = y0 - 1 - r;  // the left column and the top row
  const int u = av.unit_log2, mask = (1 << u) - 1;
  int last = -1;     // the value of the latest sample in the order (-1: none available yet)
  int pending = 0;   // leading unavailable samples (before the first available one)
  // Left column, bottom to top: left[i] = p[xl][yt + i], i = ref_h + r .. 0.
  {
    const bool col_in = xl >= 0 && xl < av.plane_width;
    const uint8_t *map_col = col_in ? av.map + (xl >> u) : av.map;
    auto avail = [&](int i) {
      const int y = yt + i;
      return col_in && y >= 0 && y < av.plane_height && map_col[(y >> u) * av.map_stride] != 0;
    };
    auto unit_first = [&](int i) { return std::max(0, i - ((yt + i) & mask)); };
    int i = ref_h + r;
    while (i >= 0) {
      const bool a = avail(i);
      int run_end = unit_first(i);  // the run: i down to run_end, units of the same availability
      while (run_end > 0 && avail(run_end - 1) == a) run_end = unit_first(run_end - 1);
      if (a) {
        const Pel *src = rec.data.data() + size_t(xl) + ptrdiff_t(yt) * rec.stride;
        for (int k = i; k >= run_end; k--) refs.left[k] = src[ptrdiff_t(k) * rec.stride];
        if (pending) std::fill(refs.left + i + 1, refs.left + ref_h + r + 1, refs.left[i]);
        pending = 0;
        last = refs.left[run_end];
      } else if (last >= 0) {
        std::fill(refs.left + run_end, refs.left + i + 1, Pel(last));
      } else {
        pending += i - run_end + 1;
      }
      i = run_end - 1;
    }
  }
  // Top row, left to right: top[i] = p[xl + i][yt], i = 1 .. ref_w + r.
  {
    const bool row_in = yt >= 0 && yt < av.plane_height;
    const uint8_t *map_row = av.map + (row_in ? (yt >> u) * av.map_stride : 0);
    const int n = ref_w + r;
    auto avail = [&](int i) {
      const int x = xl + i;
      return row_in && x >= 0 && x < av.plane_width && map_row[x >> u] != 0;
    };
    auto unit_last = [&](int i) { return std::min(n, i + (mask - ((xl + i) & mask))); };
    int i = 1;
    while (i <= n) {
      const bool a = avail(i);
      int run_end = unit_last(i);  // the run: i up to run_end
      while (run_end < n && avail(run_end + 1) == a) run_end = unit_last(run_end + 1);
      if (a) {
        const Pel *src = rec.row(yt) + xl;
        std::copy(src + i, src + run_end + 1, refs.top + i);
        if (pending) {
          std::fill(refs.left, refs.left + ref_h + r + 1, refs.top[i]);
          std::fill(refs.top + 1, refs.top + i, refs.top[i]);
        }
        pending = 0;
        last = refs.top[run_end];
      } else if (last >= 0) {
        std::fill(refs.top + i, refs.top + run_end + 1, Pel(last));
      } else {
        pending += run_end - i + 1;
      }
      i = run_end + 1;
    }
  }
  if (last < 0) {  // none available
    const Pel mid = Pel(1 << (bit_depth - 1));
    std::fill(refs.left, refs.left + ref_h + r + 1, mid);
    std::fill(refs.top + 1, refs.top + ref_w + r + 1, mid);
  }
  refs.top[0] = refs.left[0];
  refs.ref_idx = r;
  // Replicate the last samples to the end.
  fill_pels(refs.top + ref_w + r + 1, refs.top + kRefLen, refs.top[ref_w + r]);
  fill_pels(refs.left + ref_h + r + 1, refs.left + kRefLen, refs.left[ref_h + r]);
}

int wide_angle_mode(int mode, int log2w, int log2h) {  // 8.4.5.2.7
  if (log2w == log2h || mode < 2 || mode > INTRA_ANGULAR66) return mode;
  const int wh_ratio = std::abs(log2w - log2h);
  if (log2w > log2h && mode < (wh_ratio > 1 ? 8 + 2 * wh_ratio : 8)) return mode + 65;
  if (log2h > log2w && mode > (wh_ratio > 1 ? 60 - 2 * wh_ratio : 60)) return mode - 67;
  return mode;
}

void predict_intra(int mode, int log2w, int log2h, int c_idx, const IntraRefs &refs, int bit_depth, Pel *dst,
                   const IspPred *isp) {
  const int w = 1 << log2w, h = 1 << log2h;
  const bool is_luma = c_idx == 0;
  if (!is_luma) isp = nullptr;
  // 8.4.5.2.7 with nW x nH: the CU's size for a luma TB of an ISP CU.
  const int pred_mode =
      isp ? wide_angle_mode(mode, isp->log2_cb_w, isp->log2_cb_h) : wide_angle_mode(mode, log2w, log2h);
  const int ref_idx = is_luma ? refs.ref_idx : 0;
  // 8.4.5.2.6 / 8.4.5.2.13 filtering decisions (refIdx 0, no ISP):
  // [1 2 1] smoothing of the references for planar and the integer-slope
  // modes of blocks larger than 32 samples; smoothing (fG) instead of cubic
  // (fC) interpolation for the other modes far enough from HOR/VER.
  // With ISP: neither (refFilterFlag's filterFlag needs ISP_NO_SPLIT, the
  // interpolation then uses fC). With refIdx > 0 (MRL): unfiltered
  // references, fC, no PDPC.
  bool ref_filter = false, gauss = false;
  if (is_luma && pred_mode != INTRA_DC && !isp && ref_idx == 0) {
    if (ref_filter_flag(pred_mode)) {
      ref_filter = w * h > 32;
    } else {
      const int n_tbs = (log2w + log2h) >> 1;
      const int min_dist_ver_hor =
          std::min(std::abs(pred_mode - INTRA_ANGULAR50), std::abs(pred_mode - INTRA_ANGULAR18));
      gauss = min_dist_ver_hor > g_intra_hor_ver_dist_thres[n_tbs];
    }
  }
  IntraRefs filtered;
  const IntraRefs &r = ref_filter ? (filter_refs(refs, 2 * w, 2 * h, filtered), filtered) : refs;
  // refW / refH (8.4.5.2.6): nCbW + nTbW / nCbH + nTbH for a luma TB of an ISP CU.
  const int ref_w = isp ? (1 << isp->log2_cb_w) + w : 2 * w, ref_h = isp ? (1 << isp->log2_cb_h) + h : 2 * h;
  // PDPC (8.4.5.2.15) only for blocks of at least 4x4 (narrow ISP sub-partitions have none).
  const bool pdpc = log2w >= 2 && log2h >= 2 && ref_idx == 0;
  if (pred_mode == INTRA_PLANAR) {
    predict_planar(r, log2w, log2h, dst);
    if (pdpc) pdpc_planar_dc(r, log2w, log2h, dst);
  } else if (pred_mode == INTRA_DC) {
    predict_dc(r, log2w, log2h, dst);
    if (pdpc) pdpc_planar_dc(r, log2w, log2h, dst);
  } else if (pred_mode >= INTRA_ANGULAR34) {
    predict_angular(intra_pred_angle(pred_mode), log2w, log2h, is_luma, gauss, r.top, r.left, ref_w, ref_h, bit_depth,
                    ref_idx, dst);
  } else {  // horizontal modes: predict transposed
    Pel tmp[kMaxSide * kMaxSide];
    predict_angular(intra_pred_angle(pred_mode), log2h, log2w, is_luma, gauss, r.left, r.top, ref_h, ref_w, bit_depth,
                    ref_idx, tmp);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) dst[y * w + x] = tmp[x * h + y];
  }
}

// ---------------------------------------------------------------------------
// 8.4.5.2.14 INTRA_LT_CCLM, INTRA_L_CCLM, INTRA_T_CCLM (4:2:0, sps_chroma_vertical_collocated_flag = 0).

namespace {

// The luma samples pY[x][y] of 8.4.5.2.14 around the collocated luma block
// at (x0, y0), with the padding of unavailable left / top neighbours by the
// block's own first column / row.
struct CollocatedLuma {
  const Plane &rec;
  int x0, y0;
  bool avail_l, avail_t;
  int at(int x, int y) const {
    if (x < 0 && !avail_l) x = 0;
    if (y < 0 && !avail_t) y = 0;
    return rec.at(x0 + x, y0 + y);
  }
  // Six-tap downsampling centred on luma (x, y) and (x, y + 1).
  int ds6(int x, int y) const {
    return (at(x - 1, y) + at(x - 1, y + 1) + 2 * at(x, y) + 2 * at(x, y + 1) + at(x + 1, y) + at(x + 1, y + 1) +
            4) >> 3;
  }
  // Three-tap downsampling of the single luma row y (CTU top boundary).
  int ds3(int x, int y) const { return (at(x - 1, y) + 2 * at(x, y) + at(x + 1, y) + 2) >> 2; }
};

constexpr int kDivSigTable[16] = {0, 7, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 0};

}  // namespace

void predict_cclm(int mode, const Plane &rec_luma, const Plane &rec_chroma, const RefAvailability &av_chroma,
                  int xc, int yc, int log2w, int log2h, int log2_ctu_luma, int bit_depth, Pel *dst) {
  const int w = 1 << log2w, h = 1 << log2h;
  const bool avail_l = av_chroma.available(xc - 1, yc);
  const bool avail_t = av_chroma.available(xc, yc - 1);

  // Numbers of neighbouring chroma samples used on top and left.
  int num_samp_t, num_samp_l;
  if (mode == INTRA_LT_CCLM) {
    num_samp_t = avail_t ? w : 0;
    num_samp_l = avail_l ? h : 0;
  } else {
    int num_top_right = 0, num_left_below = 0;
    if (avail_t && mode == INTRA_T_CCLM)
      while (num_top_right < w && av_chroma.available(xc + w + num_top_right, yc - 1)) num_top_right++;
    if (avail_l && mode == INTRA_L_CCLM)
      while (num_left_below < h && av_chroma.available(xc - 1, yc + h + num_left_below)) num_left_below++;
    num_samp_t = (avail_t && mode == INTRA_T_CCLM) ? w + std::min(num_top_right, h) : 0;
    num_samp_l = (avail_l && mode == INTRA_L_CCLM) ? h + std::min(num_left_below, w) : 0;
  }
  if (num_samp_t == 0 && num_samp_l == 0) {
    for (int i = 0; i < w * h; i++) dst[i] = Pel(1 << (bit_depth - 1));
    return;
  }

  const CollocatedLuma py{rec_luma, xc << 1, yc << 1, avail_l, avail_t};
  const bool ctu_boundary = ((yc << 1) & ((1 << log2_ctu_luma) - 1)) == 0;  // bCTUboundary

  // Pick positions: two per side for LT_CCLM with both sides, else four.
  const int num_is_4n = (avail_t && avail_l && mode == INTRA_LT_CCLM) ? 0 : 1;
  int sel_y[4], sel_c[4], cnt = 0;
  if (num_samp_t > 0) {
    const int start = num_samp_t >> (2 + num_is_4n);
    const int step = std::max(1, num_samp_t >> (1 + num_is_4n));
    const int cnt_t = std::min(num_samp_t, (1 + num_is_4n) << 1);
    for (int i = 0; i < cnt_t; i++, cnt++) {
      const int x = start + i * step;
      sel_c[cnt] = rec_chroma.at(xc + x, yc - 1);
      sel_y[cnt] = ctu_boundary ? py.ds3(2 * x, -1) : py.ds6(2 * x, -2);
    }
  }
  if (num_samp_l > 0) {
    const int start = num_samp_l >> (2 + num_is_4n);
    const int step = std::max(1, num_samp_l >> (1 + num_is_4n));
    const int cnt_l = std::min(num_samp_l, (1 + num_is_4n) << 1);
    for (int i = 0; i < cnt_l; i++, cnt++) {
      const int y = start + i * step;
      sel_c[cnt] = rec_chroma.at(xc - 1, yc + y);
      sel_y[cnt] = py.ds6(-2, 2 * y);
    }
  }
  if (cnt == 2) {  // duplicate to four points: {1, 0, 1, 0}
    sel_y[3] = sel_y[0]; sel_y[2] = sel_y[1]; sel_y[0] = sel_y[1]; sel_y[1] = sel_y[3];
    sel_c[3] = sel_c[0]; sel_c[2] = sel_c[1]; sel_c[0] = sel_c[1]; sel_c[1] = sel_c[3];
  }

  // Two smallest and two largest luma values and their chroma averages.
  int min_idx[2] = {0, 2}, max_idx[2] = {1, 3};
  if (sel_y[min_idx[0]] > sel_y[min_idx[1]]) std::swap(min_idx[0], min_idx[1]);
  if (sel_y[max_idx[0]] > sel_y[max_idx[1]]) std::swap(max_idx[0], max_idx[1]);
  if (sel_y[min_idx[0]] > sel_y[max_idx[1]]) { std::swap(min_idx[0], max_idx[0]); std::swap(min_idx[1], max_idx[1]); }
  if (sel_y[min_idx[1]] > sel_y[max_idx[0]]) std::swap(min_idx[1], max_idx[0]);
  const int max_y = (sel_y[max_idx[0]] + sel_y[max_idx[1]] + 1) >> 1;
  const int max_c = (sel_c[max_idx[0]] + sel_c[max_idx[1]] + 1) >> 1;
  const int min_y = (sel_y[min_idx[0]] + sel_y[min_idx[1]] + 1) >> 1;
  const int min_c = (sel_c[min_idx[0]] + sel_c[min_idx[1]] + 1) >> 1;

  // Linear model parameters a, b, k.
  int a = 0, b = min_c, k = 0;
  const int diff = max_y - min_y;
  if (diff != 0) {
    const int diff_c = max_c - min_c;
    int x = floor_log2(uint32_t(diff));
    const int norm_diff = ((diff << 4) >> x) & 15;
    x += norm_diff != 0 ? 1 : 0;
    const int y = diff_c != 0 ? floor_log2(uint32_t(std::abs(diff_c))) + 1 : 0;
    a = (diff_c * (kDivSigTable[norm_diff] | 8) + ((1 << y) >> 1)) >> y;
    k = 3 + x - y < 1 ? 1 : 3 + x - y;
    if (3 + x - y < 1) a = a > 0 ? 15 : (a < 0 ? -15 : 0);  // Sign(a) * 15
    b = min_c - ((a * min_y) >> k);
  }

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) dst[y * w + x] = clip_pel(((py.ds6(2 * x, 2 * y) * a) >> k) + b, bit_depth);
}

}  // namespace pyvtm
