// LMCS: APS syntax, model derivation, mapping and chroma residual scaling.
#include "lmcs.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "api.h"
#include "bitstream.h"

namespace pyvtm {

bool LmcsApsData::operator==(const LmcsApsData &o) const {
  if (aps_id != o.aps_id || chroma_present != o.chroma_present || min_bin_idx != o.min_bin_idx ||
      delta_max_bin_idx != o.delta_max_bin_idx || delta_cw_prec_minus1 != o.delta_cw_prec_minus1 ||
      delta_crs != o.delta_crs)
    return false;
  for (int i = 0; i < kLmcsBins; i++)
    if (delta_cw[i] != o.delta_cw[i]) return false;
  return true;
}

// 7.3.2.6 / 7.3.2.19.
std::vector<uint8_t> write_lmcs_aps_rbsp(const LmcsApsData &a) {
  BitWriter bw;
  bw.write(kLmcsApsParamsType, 3);  // aps_params_type
  bw.write(uint32_t(a.aps_id), 5);  // aps_adaptation_parameter_set_id
  bw.write(a.chroma_present, 1);    // aps_chroma_present_flag
  bw.write_ue(uint32_t(a.min_bin_idx));         // lmcs_min_bin_idx
  bw.write_ue(uint32_t(a.delta_max_bin_idx));   // lmcs_delta_max_bin_idx
  bw.write_ue(uint32_t(a.delta_cw_prec_minus1));  // lmcs_delta_cw_prec_minus1
  const int bits = a.delta_cw_prec_minus1 + 1;
  for (int i = a.min_bin_idx; i <= a.max_bin_idx(); i++) {
    const int v = a.delta_cw[i];
    if (std::abs(v) >= (1 << bits)) throw std::logic_error("LMCS APS writer: lmcs_delta_abs_cw exceeds its precision");
    bw.write(uint32_t(std::abs(v)), bits);  // lmcs_delta_abs_cw[i]
    if (v) bw.write(v < 0 ? 1 : 0, 1);      // lmcs_delta_sign_cw_flag[i]
  }
  if (a.chroma_present) {
    bw.write(uint32_t(std::abs(a.delta_crs)), 3);        // lmcs_delta_abs_crs
    if (a.delta_crs) bw.write(a.delta_crs < 0 ? 1 : 0, 1);  // lmcs_delta_sign_crs_flag
  }
  bw.write(0, 1);  // aps_extension_flag
  bw.rbsp_trailing_bits();
  return bw.bytes();
}

bool read_lmcs_aps_rbsp(const std::vector<uint8_t> &rbsp, LmcsApsData &a) {
  BitReader br(rbsp.data(), rbsp.size(), "adaptation parameter set");
  const int type = int(br.read(3, "aps_params_type"));
  if (type != kLmcsApsParamsType) return false;
  a = LmcsApsData();
  a.aps_id = int(br.read(5, "aps_adaptation_parameter_set_id"));
  if (a.aps_id > 3) br.fail("aps_adaptation_parameter_set_id of an LMCS APS exceeds 3");
  a.chroma_present = br.read_flag("aps_chroma_present_flag");
  a.min_bin_idx = int(br.read_ue("lmcs_min_bin_idx", 15));
  a.delta_max_bin_idx = int(br.read_ue("lmcs_delta_max_bin_idx", 15));
  if (a.max_bin_idx() < a.min_bin_idx) br.fail("LmcsMaxBinIdx is below lmcs_min_bin_idx");
  a.delta_cw_prec_minus1 = int(br.read_ue("lmcs_delta_cw_prec_minus1", 14));
  const int bits = a.delta_cw_prec_minus1 + 1;
  for (int i = a.min_bin_idx; i <= a.max_bin_idx(); i++) {
    const int v = int(br.read(bits, "lmcs_delta_abs_cw"));
    const int s = v ? int(br.read(1, "lmcs_delta_sign_cw_flag")) : 0;
    a.delta_cw[i] = s ? -v : v;
  }
  if (a.chroma_present) {
    const int v = int(br.read(3, "lmcs_delta_abs_crs"));
    const int s = v ? int(br.read(1, "lmcs_delta_sign_crs_flag")) : 0;
    a.delta_crs = s ? -v : v;
  }
  if (br.read_flag("aps_extension_flag")) {
    while (br.more_rbsp_data()) br.read(1, "aps_extension_data_flag");
  }
  br.rbsp_trailing_bits();
  return true;
}

// 7.4.3.19.
LmcsModel lmcs_derive(const LmcsApsData &a, int bit_depth) {
  LmcsModel m;
  m.bit_depth = bit_depth;
  m.org_cw = (1 << bit_depth) / kLmcsBins;
  const int log2_org = floor_log2(uint32_t(m.org_cw));
  m.min_bin = a.min_bin_idx;
  m.max_bin = a.max_bin_idx();
  if (m.min_bin < 0 || m.max_bin > 15 || m.max_bin < m.min_bin) throw DecodeError("LMCS APS: bad bin range");
  int sum = 0;
  for (int i = 0; i < kLmcsBins; i++) {
    m.cw[i] = (i >= m.min_bin && i <= m.max_bin) ? m.org_cw + a.delta_cw[i] : 0;
    if (m.cw[i] < 0 || (m.cw[i] && (m.cw[i] < (m.org_cw >> 3) || m.cw[i] > (m.org_cw << 3) - 1)))
      throw DecodeError("LMCS APS: lmcsCW[" + std::to_string(i) + "] = " + std::to_string(m.cw[i]) + " out of range");
    if (m.cw[i] && (m.cw[i] + a.delta_crs < (m.org_cw >> 3) || m.cw[i] + a.delta_crs > (m.org_cw << 3) - 1))
      throw DecodeError("LMCS APS: lmcsCW[i] + lmcsDeltaCrs out of range");
    sum += m.cw[i];
  }
  if (sum > (1 << bit_depth) - 1) throw DecodeError("LMCS APS: the codewords sum to more than 2^BitDepth - 1");
  m.pivot[0] = 0;
  for (int i = 0; i < kLmcsBins; i++) {
    m.input_pivot[i] = i * m.org_cw;
    m.pivot[i + 1] = m.pivot[i] + m.cw[i];
    m.scale_coeff[i] = (m.cw[i] * (1 << 11) + (1 << (log2_org - 1))) >> log2_org;
    if (m.cw[i] == 0) {
      m.inv_scale_coeff[i] = 0;
      m.chroma_scale_coeff[i] = 1 << 11;
    } else {
      m.inv_scale_coeff[i] = m.org_cw * (1 << 11) / m.cw[i];
      m.chroma_scale_coeff[i] = m.org_cw * (1 << 11) / (m.cw[i] + a.delta_crs);
    }
  }
  m.input_pivot[kLmcsBins] = kLmcsBins * m.org_cw;
  const int maxv = (1 << bit_depth) - 1;
  m.fwd.resize(size_t(maxv) + 1);
  m.inv.resize(size_t(maxv) + 1);
  for (int v = 0; v <= maxv; v++) {
    // 8.7.5.2 (FwdMap).
    const int i = v >> log2_org;
    m.fwd[size_t(v)] =
        uint16_t(clip3(0, maxv, m.pivot[i] + ((m.scale_coeff[i] * (v - m.input_pivot[i]) + (1 << 10)) >> 11)));
    // 8.8.2.2.
    const int k = m.pwl_idx_inv(v);
    m.inv[size_t(v)] =
        uint16_t(clip3(0, maxv, m.input_pivot[k] + ((m.inv_scale_coeff[k] * (v - m.pivot[k]) + (1 << 10)) >> 11)));
  }
  return m;
}

// 8.8.2.3.
int LmcsModel::pwl_idx_inv(int v) const {
  if (v < pivot[min_bin + 1]) return min_bin;
  if (v >= pivot[max_bin]) return max_bin;
  int k = min_bin;
  for (; k < max_bin; k++)
    if (v < pivot[k + 1]) break;
  return k;
}

// 8.7.5.3 (varScale): sizeY = Min(CtbSizeY, 64); the VPDU's left column and
// top row, each sizeY samples, replicated past the picture edge; available
// when inside the picture (one slice, one tile).
int lmcs_chroma_var_scale(const LmcsModel &m, const Plane &luma, int x_cu, int y_cu, int pic_w, int pic_h,
                          int log2_ctu) {
  const int size_y = std::min(1 << log2_ctu, 64);
  const int xv = x_cu & ~(size_y - 1), yv = y_cu & ~(size_y - 1);
  int sum = 0, cnt = 0;
  if (xv > 0) {
    for (int i = 0; i < size_y; i++) sum += luma.at(xv - 1, std::min(yv + i, pic_h - 1));
    cnt += size_y;
  }
  if (yv > 0) {
    for (int i = 0; i < size_y; i++) sum += luma.at(std::min(xv + i, pic_w - 1), yv - 1);
    cnt += size_y;
  }
  const int avg = cnt ? (sum + (cnt >> 1)) >> floor_log2(uint32_t(cnt)) : 1 << (m.bit_depth - 1);
  return m.chroma_scale_coeff[m.pwl_idx_inv(avg)];
}

void lmcs_scale_chroma_residual(int32_t *res, int n, int var_scale, int bit_depth) {
  const int lo = -(1 << bit_depth), hi = (1 << bit_depth) - 1;
  for (int i = 0; i < n; i++) {
    const int r = clip3(lo, hi, res[i]);
    res[i] = r >= 0 ? (r * var_scale + (1 << 10)) >> 11 : -((-r * var_scale + (1 << 10)) >> 11);
  }
}

void lmcs_unscale_chroma_residual(int32_t *res, int n, int var_scale) {
  for (int i = 0; i < n; i++) {
    const int64_t r = res[i];
    const int64_t a = ((r < 0 ? -r : r) * 2048 + var_scale / 2) / var_scale;
    res[i] = int32_t(r < 0 ? -a : a);
  }
}

void lmcs_map_plane(Plane &p, int w, int h, const std::vector<uint16_t> &lut) {
  for (int y = 0; y < h; y++) {
    Pel *r = p.row(y);
    for (int x = 0; x < w; x++) r[x] = Pel(lut[size_t(r[x])]);
  }
}

// ---------------------------------------------------------------------------
// Encoder model.
//
// Models our streams use keep the decoders in agreement where FFmpeg's
// decoder departs from the standard:
//  - lmcs_delta_max_bin_idx == lmcs_min_bin_idx (FFmpeg derives
//    LmcsMaxBinIdx as 15 - lmcs_min_bin_idx);
//  - the codewords sum to 2^BitDepth - 1: only the top value reaches
//    LmcsPivot[LmcsMaxBinIdx + 1], where FFmpeg indexes the bin after
//    LmcsMaxBinIdx instead of extrapolating LmcsMaxBinIdx (8.8.2.3): its
//    inverse map gives InputPivot[LmcsMaxBinIdx + 1] there, as the standard
//    does up to rounding (checked by the conformance tests, LmcsMaxBinIdx
//    15 included);
//  - LmcsMaxBinIdx < 15: lmcsCW[LmcsMaxBinIdx] + lmcsDeltaCrs == OrgCW, so
//    that the chroma scale of an all-top-value neighbourhood is 1 both ways
//    (FFmpeg: the empty bin's 2^11);
// and the pivot rule of 7.4.3.19 (no bin inside one 2^(BitDepth - 5)
// segment) holds with every codeword count >= 32.
// ---------------------------------------------------------------------------
namespace {

constexpr int kMinCw = 32;

void finish_model(int cw[kLmcsBins], int min_bin, int org_cw, int total, LmcsApsData &a) {
  const int max_bin = 15 - min_bin;
  if (max_bin < 15) cw[max_bin] = clip3(org_cw - 7, org_cw + 7, cw[max_bin]);  // pins lmcsDeltaCrs
  for (int i = min_bin; i <= max_bin; i++) cw[i] = clip3(kMinCw, 2 * org_cw, cw[i]);
  int sum = 0;
  for (int i = min_bin; i <= max_bin; i++) sum += cw[i];
  // Spread the difference to the total over the bins, one codeword at a time.
  const int last = max_bin < 15 ? max_bin - 1 : max_bin;
  for (int i = min_bin, stuck = 0; sum != total && stuck <= 16; i = i >= last ? min_bin : i + 1) {
    const int d = sum < total ? 1 : -1;
    if (cw[i] + d >= kMinCw && cw[i] + d <= 2 * org_cw) {
      cw[i] += d;
      sum += d;
      stuck = 0;
    } else {
      stuck++;
    }
  }
  a = LmcsApsData();
  a.min_bin_idx = min_bin;
  a.delta_max_bin_idx = min_bin;
  int max_abs = 0;
  for (int k = min_bin; k <= max_bin; k++) {
    a.delta_cw[k] = cw[k] - org_cw;
    max_abs = std::max(max_abs, std::abs(a.delta_cw[k]));
  }
  int bits = 1;
  while ((1 << bits) <= max_abs) bits++;
  a.delta_cw_prec_minus1 = bits - 1;
  a.delta_crs = max_bin < 15 ? org_cw - cw[max_bin] : 0;
}

}  // namespace

LmcsApsData lmcs_test_model(int delta, int crs) {
  int cw[kLmcsBins] = {};
  for (int i = 1; i <= 14; i++) cw[i] = 64 + ((i & 1) ? delta : -delta / 2);
  cw[14] = 64 - crs;
  LmcsApsData a;
  finish_model(cw, 1, 64, 1023, a);
  return a;
}

// The reference encoders' SDR analysis (VTM / VVenC EncReshape, intra):
// per 16-bin histogram and mean log10 local variance of the luma; the range
// of the standard video levels (bins 1..14), widened to the bins in use when
// more than 0.5 % of the samples lie outside; the codewords spread evenly
// over that range, then a few moved from busy bins to smooth ones, in
// proportion to the bins' shares of the picture.
bool lmcs_choose_model(const Plane &org, int w, int h, int bit_depth, LmcsApsData &out) {
  if (bit_depth != 10 || w < 8 || h < 8) return false;
  const int org_cw = (1 << bit_depth) / kLmcsBins;
  const int win = std::max(1, std::min(w, h) / 240);
  double hist[kLmcsBins] = {}, var[kLmcsBins] = {};
  // Local variance over a (2 win + 1)^2 window (clipped at the edges), via
  // integral images of the samples and their squares.
  std::vector<double> s1(size_t(w + 1) * (h + 1), 0.0), s2(s1.size(), 0.0);
  for (int y = 0; y < h; y++) {
    double r1 = 0, r2 = 0;
    const Pel *r = org.row(y);
    for (int x = 0; x < w; x++) {
      r1 += r[x];
      r2 += double(r[x]) * r[x];
      s1[size_t(y + 1) * (w + 1) + x + 1] = s1[size_t(y) * (w + 1) + x + 1] + r1;
      s2[size_t(y + 1) * (w + 1) + x + 1] = s2[size_t(y) * (w + 1) + x + 1] + r2;
    }
  }
  auto box = [&](const std::vector<double> &t, int x0, int y0, int x1, int y1) {
    return t[size_t(y1) * (w + 1) + x1] - t[size_t(y0) * (w + 1) + x1] - t[size_t(y1) * (w + 1) + x0] +
           t[size_t(y0) * (w + 1) + x0];
  };
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const int x0 = std::max(0, x - win), x1 = std::min(w, x + win + 1);
      const int y0 = std::max(0, y - win), y1 = std::min(h, y + win + 1);
      const double n = double((x1 - x0) * (y1 - y0));
      const double m = box(s1, x0, y0, x1, y1) / n;
      const double v = std::max(0.0, box(s2, x0, y0, x1, y1) / n - m * m);
      const int b = org.at(x, y) >> 6;
      var[b] += std::log10(v + 1.0);
      hist[b] += 1;
    }
  const double npix = double(w) * h;
  for (int b = 0; b < kLmcsBins; b++) {
    var[b] = hist[b] > 0 ? var[b] / hist[b] : 0.0;
    hist[b] /= npix;
  }
  int start = 1, end = 14;
  if (hist[0] + hist[15] > 0.005) {
    for (int b = 0; b < kLmcsBins; b++)
      if (hist[b] > 0) { start = std::min(start, b); end = std::max(end, b); }
  }
  // The symmetric range the decoders agree on (see above).
  const int min_bin = std::min(start, 15 - end), max_bin = 15 - min_bin;
  double mean = 0;
  int nz = 0;
  for (int b = 0; b < kLmcsBins; b++)
    if (hist[b] > 0.001) { mean += var[b]; nz++; }
  if (!nz || mean <= 0) return false;
  mean /= nz;
  const int total = (1 << bit_depth) - 1;
  int cw[kLmcsBins] = {};
  const int even = int(std::lround(double(total) / (end - start + 1)));
  for (int b = min_bin; b <= max_bin; b++) {
    cw[b] = (b >= start && b <= end) ? even : kMinCw;
    if (hist[b] > 0.001) {
      const double hs = std::min(hist[b], 0.4), nv = var[b] / mean;
      const int d1 = int(10.0 * hs + 0.5), d2 = int(20.0 * hs + 0.5);
      if (nv < 0.8) cw[b] += d2;
      else if (nv < 0.9) cw[b] += d1;
      if (nv > 1.2) cw[b] -= d2;
      else if (nv > 1.1) cw[b] -= d1;
    }
  }
  finish_model(cw, min_bin, org_cw, total, out);
  return true;
}

}  // namespace pyvtm
