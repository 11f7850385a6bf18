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
// Models our streams use keep the decoders in agreement where the standard
// leaves implementations room or where FFmpeg's decoder departs from it:
//  - lmcs_delta_max_bin_idx == lmcs_min_bin_idx (FFmpeg derives
//    LmcsMaxBinIdx as 15 - lmcs_min_bin_idx);
//  - 1 <= lmcs_min_bin_idx (LmcsMaxBinIdx <= 14: FFmpeg indexes one bin past
//    LmcsMaxBinIdx for mapped values >= LmcsPivot[LmcsMaxBinIdx + 1]);
//  - the codewords sum to 2^BitDepth - 1, so that only the top value reaches
//    LmcsPivot[LmcsMaxBinIdx + 1], where both inverse maps agree;
//  - lmcsCW[LmcsMaxBinIdx] + lmcsDeltaCrs == OrgCW, so that the chroma scale
//    of that value is 1 both ways (FFmpeg: the empty bin's 2^11).
// ---------------------------------------------------------------------------
namespace {

void finish_model(int cw[kLmcsBins], int min_bin, int org_cw, int total, LmcsApsData &a) {
  const int max_bin = 15 - min_bin;
  // The top bin pins lmcsDeltaCrs (|lmcsDeltaCrs| <= 7).
  cw[max_bin] = clip3(org_cw - 7, org_cw + 7, cw[max_bin]);
  int sum = 0;
  for (int i = min_bin; i <= max_bin; i++) sum += cw[i];
  // Spread the difference to the total over the other bins, one codeword at a time.
  int i = min_bin;
  while (sum != total) {
    if (i == max_bin) i = min_bin;
    const int d = sum < total ? 1 : -1;
    if (cw[i] + d >= (org_cw >> 3) && cw[i] + d <= (org_cw << 3) - 1 - 7) {
      cw[i] += d;
      sum += d;
    }
    i++;
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
  a.delta_crs = org_cw - cw[max_bin];
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

bool lmcs_choose_model(const Plane &org, int w, int h, int bit_depth, LmcsApsData &out) {
  if (bit_depth != 10) return false;
  const int org_cw = (1 << bit_depth) / kLmcsBins;
  // Per-bin statistics of the source: sample count and the mean log local
  // variance (3x3 window around every other sample).
  double hist[kLmcsBins] = {}, logvar[kLmcsBins] = {};
  for (int y = 0; y < h; y++) {
    const Pel *r = org.row(y);
    for (int x = 0; x < w; x++) hist[r[x] >> 6] += 1;
  }
  // No mapping where the source uses the outer bins (they would be clipped).
  int first = 0, last = 15;
  while (first < 15 && hist[first] == 0) first++;
  while (last > 0 && hist[last] == 0) last--;
  const int min_bin = std::min(first, 15 - last);
  if (min_bin < 1 || min_bin > 7) return false;
  double cnt[kLmcsBins] = {};
  for (int y = 1; y + 1 < h; y += 2)
    for (int x = 1; x + 1 < w; x += 2) {
      double s = 0, s2 = 0;
      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
          const double v = org.at(x + dx, y + dy);
          s += v;
          s2 += v * v;
        }
      const double var = std::max(0.0, s2 / 9 - (s / 9) * (s / 9));
      const int b = org.at(x, y) >> 6;
      logvar[b] += std::log2(var + 1.0);
      cnt[b] += 1;
    }
  const int max_bin = 15 - min_bin;
  double mean = 0, n = 0;
  for (int b = min_bin; b <= max_bin; b++)
    if (cnt[b] > 0) {
      logvar[b] /= cnt[b];
      mean += logvar[b] * cnt[b];
      n += cnt[b];
    }
  if (n == 0) return false;
  mean /= n;
  // Every used bin gets its share of the expanded range; smooth bins (log
  // variance below the picture's mean) gain more, busy bins less; empty
  // bins keep a few codewords.
  const int total = (1 << bit_depth) - 1;
  int cw[kLmcsBins] = {};
  for (int b = min_bin; b <= max_bin; b++) {
    if (cnt[b] == 0 && hist[b] == 0) {
      cw[b] = org_cw / 2;
      continue;
    }
    const double adj = std::max(-0.25, std::min(0.25, 0.08 * (mean - logvar[b])));
    cw[b] = int(std::lround(org_cw * (1.0 + adj)));
  }
  int sum = 0;
  for (int b = min_bin; b <= max_bin; b++) sum += cw[b];
  // Scale to the total.
  for (int b = min_bin; b <= max_bin; b++) cw[b] = int(std::lround(double(cw[b]) * total / sum));
  finish_model(cw, min_bin, org_cw, total, out);
  return true;
}

}  // namespace pyvtm
