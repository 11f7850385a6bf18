// Unit tests of matrix-based intra prediction (cpp/mip.{h,cpp},
// mip_tables.cpp, the walker's MIP syntax):
//  (1) the weight tables: sizes, sums and a checksum of each mipSizeId;
//  (2) the prediction: a hand-computed 4x4 sample, constant references give
//      a constant block (every size, mode and transposition where the input
//      vector is zero), and predict_mip against a straightforward
//      re-implementation of 8.4.5.2.2 - 8.4.5.2.4 on random references for
//      every block size 4..64, mode and transposition;
//  (3) intra_mip_flag / intra_mip_transposed_flag / intra_mip_mode CABAC
//      round trips (every context, mode count, mode and transposition) and the
//      ctxInc / mode-count derivations;
//  (4) encode -> decode with MIP forced on every luma CU (test knob) and with
//      the RD search: records and reconstructions identical, MIP used, every
//      mode of every mipSizeId used in both transpositions; mip off writes
//      sps_mip_enabled_flag 0 and no MIP CU.
// Plain executable: exit 0 = pass.
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "api.h"
#include "cabac.h"
#include "codec_internal.h"
#include "coding_tree.h"
#include "contexts.h"
#include "derive.h"
#include "mip.h"
#include "syntax.h"
#include "tables.h"
#include "test_support.h"

namespace {

using test_support::check;
using test_support::g_failures;

// --- (1) tables ---------------------------------------------------------------
uint32_t table_hash(const uint8_t *v, size_t n, int *sum) {
  uint32_t h = 0;
  *sum = 0;
  for (size_t i = 0; i < n; i++) {
    h = h * 31u + v[i];
    *sum += v[i];
  }
  return h;
}

void test_tables() {
  check(sizeof(pyvtm::kMipMatrix0) == 16 * 16 * 4, "mipSizeId 0: 16 matrices of 16 x 4");
  check(sizeof(pyvtm::kMipMatrix1) == 8 * 16 * 8, "mipSizeId 1: 8 matrices of 16 x 8");
  check(sizeof(pyvtm::kMipMatrix2) == 6 * 64 * 7, "mipSizeId 2: 6 matrices of 64 x 7");
  int sum = 0;
  uint32_t h = table_hash(&pyvtm::kMipMatrix0[0][0][0], sizeof(pyvtm::kMipMatrix0), &sum);
  check(h == 2913836292u && sum == 45638, "mipSizeId 0 checksum " + std::to_string(h) + " sum " + std::to_string(sum));
  h = table_hash(&pyvtm::kMipMatrix1[0][0][0], sizeof(pyvtm::kMipMatrix1), &sum);
  check(h == 1431601007u && sum == 40817, "mipSizeId 1 checksum " + std::to_string(h) + " sum " + std::to_string(sum));
  h = table_hash(&pyvtm::kMipMatrix2[0][0][0], sizeof(pyvtm::kMipMatrix2), &sum);
  check(h == 183562733u && sum == 111825, "mipSizeId 2 checksum " + std::to_string(h) + " sum " + std::to_string(sum));
  // Every weight is a 7-bit value (0..127).
  bool seven_bit = true;
  for (size_t i = 0; i < sizeof(pyvtm::kMipMatrix2); i++) seven_bit &= (&pyvtm::kMipMatrix2[0][0][0])[i] < 128;
  check(seven_bit, "mipSizeId 2 weights are 7-bit");
}

// --- (2) prediction -------------------------------------------------------------

// 8.4.5.2.2 - 8.4.5.2.4 written out per sample, as the clauses state them.
std::vector<int> reference_mip(int mode, bool transposed, int w, int h, const std::vector<int> &ref_t,
                               const std::vector<int> &ref_l, int bd) {
  const int size_id = (w == 4 && h == 4) ? 0 : (w == 4 || h == 4 || (w == 8 && h == 8)) ? 1 : 2;
  const int boundary = size_id == 0 ? 2 : 4, pred_size = size_id == 2 ? 8 : 4;
  const int in_size = 2 * boundary - (size_id == 2 ? 1 : 0);
  auto reduce = [&](const std::vector<int> &ref, int n) {
    std::vector<int> red(static_cast<size_t>(boundary), 0);
    const int down = n / boundary;
    for (int x = 0; x < boundary; x++) {
      if (down == 1) {
        red[size_t(x)] = ref[size_t(x)];
        continue;
      }
      int s = 0;
      for (int i = 0; i < down; i++) s += ref[size_t(x * down + i)];
      int log2d = 0;
      while ((1 << log2d) < down) log2d++;
      red[size_t(x)] = (s + (1 << (log2d - 1))) >> log2d;
    }
    return red;
  };
  const std::vector<int> red_t = reduce(ref_t, w), red_l = reduce(ref_l, h);
  std::vector<int> p_temp(red_t.size() + red_l.size());
  for (int i = 0; i < boundary; i++) {
    p_temp[size_t(i)] = transposed ? red_l[size_t(i)] : red_t[size_t(i)];
    p_temp[size_t(boundary + i)] = transposed ? red_t[size_t(i)] : red_l[size_t(i)];
  }
  std::vector<int> p;
  p.resize(size_t(in_size));
  if (size_id == 2) {
    for (int i = 0; i < in_size; i++) p[size_t(i)] = p_temp[size_t(i + 1)] - p_temp[0];
  } else {
    p[0] = (1 << (bd - 1)) - p_temp[0];
    for (int i = 1; i < in_size; i++) p[size_t(i)] = p_temp[size_t(i)] - p_temp[0];
  }
  auto weight = [&](int i, int pos) -> int {
    if (size_id == 0) return pyvtm::kMipMatrix0[mode][pos][i];
    if (size_id == 1) return pyvtm::kMipMatrix1[mode][pos][i];
    return pyvtm::kMipMatrix2[mode][pos][i];
  };
  int sum_p = 0;
  for (int v : p) sum_p += v;
  const int o_w = (1 << 5) - 32 * sum_p;
  std::vector<int> pred_mip;
  pred_mip.resize(size_t(pred_size * pred_size));  // [x][y] as pred_mip[x * predSize + y]
  for (int x = 0; x < pred_size; x++)
    for (int y = 0; y < pred_size; y++) {
      int acc = 0;
      for (int i = 0; i < in_size; i++) acc += weight(i, y * pred_size + x) * p[size_t(i)];
      int v = ((acc + o_w) >> 6) + p_temp[0];
      v = std::min(std::max(v, 0), (1 << bd) - 1);
      pred_mip[size_t(x * pred_size + y)] = v;
    }
  if (transposed) {
    std::vector<int> t(pred_mip.size());
    for (int x = 0; x < pred_size; x++)
      for (int y = 0; y < pred_size; y++) t[size_t(y * pred_size + x)] = pred_mip[size_t(x * pred_size + y)];
    pred_mip = t;
  }
  // 8.4.5.2.4: predSamples[x][y] with predSamples[x][-1] = refT[x], predSamples[-1][y] = refL[y].
  const int up_hor = w / pred_size, up_ver = h / pred_size;
  std::vector<int> out;
  out.assign(size_t(w * h), -1);
  auto at = [&](int x, int y) -> int & { return out[size_t(y * w + x)]; };
  for (int x = 0; x < pred_size; x++)
    for (int y = 0; y < pred_size; y++)
      at((x + 1) * up_hor - 1, (y + 1) * up_ver - 1) = pred_mip[size_t(x * pred_size + y)];
  auto sample = [&](int x, int y) { return x < 0 ? ref_l[size_t(y)] : y < 0 ? ref_t[size_t(x)] : at(x, y); };
  if (up_hor > 1)
    for (int m = 0; m < pred_size; m++)
      for (int n = 0; n < pred_size; n++)
        for (int dx = 1; dx < up_hor; dx++) {
          const int y = (m + 1) * up_ver - 1, x0 = n * up_hor - 1, x1 = (n + 1) * up_hor - 1;
          at(x0 + dx, y) = ((up_hor - dx) * sample(x0, y) + dx * sample(x1, y) + up_hor / 2) / up_hor;
        }
  if (up_ver > 1)
    for (int x = 0; x < w; x++)
      for (int n = 0; n < pred_size; n++)
        for (int dy = 1; dy < up_ver; dy++) {
          const int y0 = n * up_ver - 1, y1 = (n + 1) * up_ver - 1;
          at(x, y0 + dy) = ((up_ver - dy) * sample(x, y0) + dy * sample(x, y1) + up_ver / 2) / up_ver;
        }
  return out;
}

void test_prediction() {
  const int bd = 10;
  // Hand-computed: 4x4, mode 0, refT {100, 100, 300, 300}, refL 200: redT {100, 300},
  // redL {200, 200}; p = {412, 200, 100, 100}, oW = 32 - 32 * 812 = -25952;
  // predMip[0][0] = ((32*412 + 30*200 + 90*100 + 28*100 - 25952) >> 6) + 100 = (5032 >> 6) + 100 = 178.
  {
    const pyvtm::Pel top[4] = {100, 100, 300, 300}, left[4] = {200, 200, 200, 200};
    pyvtm::Pel dst[16];
    pyvtm::predict_mip(0, false, 4, 4, top, left, bd, dst);
    check(dst[0] == 178, "hand-computed 4x4 mode 0 sample (0,0): " + std::to_string(dst[0]));
    // Transposed: pTemp = {200, 200, 100, 300}; p = {312, 0, -100, 100}, sum 312, oW = -9952;
    // 32*312 + 0 - 90*100 + 28*100 = 3784; (3784 - 9952) >> 6 = -97 (floor); + 200 = 103.
    pyvtm::predict_mip(0, true, 4, 4, top, left, bd, dst);
    check(dst[0] == 103, "hand-computed transposed 4x4 mode 0 sample (0,0): " + std::to_string(dst[0]));
  }
  std::mt19937 rng(5);
  int constant_fail = 0, ref_fail = 0, cases = 0;
  for (int lw = 2; lw <= 6; lw++)
    for (int lh = 2; lh <= 6; lh++) {
      const int w = 1 << lw, h = 1 << lh;
      const int size_id = pyvtm::mip_size_id(w, h), nm = pyvtm::mip_num_modes(w, h);
      for (int mode = 0; mode < nm; mode++)
        for (int t = 0; t < 2; t++) {
          // Constant references: the input vector is zero (for mipSizeId 0 / 1 only
          // with the value 1 << (BitDepth - 1)), so the block is that constant.
          const int c = size_id == 2 ? int(rng() % 1024) : 512;
          std::vector<pyvtm::Pel> top(static_cast<size_t>(w), pyvtm::Pel(c)), left(static_cast<size_t>(h), pyvtm::Pel(c));
          std::vector<pyvtm::Pel> dst(static_cast<size_t>(w * h));
          pyvtm::predict_mip(mode, t != 0, w, h, top.data(), left.data(), bd, dst.data());
          for (pyvtm::Pel v : dst) constant_fail += v != c;
          // Random references against the per-sample re-implementation.
          for (int rep = 0; rep < 3; rep++) {
            std::vector<int> rt(static_cast<size_t>(w)), rl(static_cast<size_t>(h));
            const bool smooth = rep == 2;
            for (int i = 0; i < w; i++) rt[size_t(i)] = smooth ? 400 + 3 * i : int(rng() % 1024);
            for (int i = 0; i < h; i++) rl[size_t(i)] = smooth ? 600 - 5 * i : int(rng() % 1024);
            for (int i = 0; i < w; i++) top[size_t(i)] = pyvtm::Pel(rt[size_t(i)]);
            for (int i = 0; i < h; i++) left[size_t(i)] = pyvtm::Pel(rl[size_t(i)]);
            pyvtm::predict_mip(mode, t != 0, w, h, top.data(), left.data(), bd, dst.data());
            const std::vector<int> ref = reference_mip(mode, t != 0, w, h, rt, rl, bd);
            for (int i = 0; i < w * h; i++) ref_fail += dst[size_t(i)] != ref[size_t(i)];
            cases++;
          }
        }
    }
  check(constant_fail == 0, "constant references give a constant block (" + std::to_string(constant_fail) + " off)");
  check(ref_fail == 0, "predict_mip == per-sample 8.4.5.2.2 (" + std::to_string(ref_fail) + " samples off in " +
                           std::to_string(cases) + " cases)");
  // Sizes and mode counts (Table 22 / the cMax of intra_mip_mode).
  check(pyvtm::mip_size_id(4, 4) == 0 && pyvtm::mip_size_id(4, 16) == 1 && pyvtm::mip_size_id(32, 4) == 1 &&
            pyvtm::mip_size_id(8, 8) == 1 && pyvtm::mip_size_id(8, 16) == 2 && pyvtm::mip_size_id(64, 64) == 2,
        "mipSizeId");
  check(pyvtm::mip_num_modes(4, 4) == 16 && pyvtm::mip_num_modes(4, 8) == 8 && pyvtm::mip_num_modes(8, 8) == 8 &&
            pyvtm::mip_num_modes(16, 8) == 6,
        "number of MIP modes");
}

// --- (3) syntax ---------------------------------------------------------------------
void test_syntax() {
  struct Item { int inc, flag, transposed, mode, num; };
  std::vector<Item> items;
  for (int num : {16, 8, 6})
    for (int inc = 0; inc < 4; inc++) {
      items.push_back({inc, 0, 0, 0, num});
      for (int mode = 0; mode < num; mode++)
        for (int t = 0; t < 2; t++) items.push_back({inc, 1, t, mode, num});
    }
  pyvtm::ContextSet cw;
  cw.init(32);
  pyvtm::CabacWriter w(false);
  w.start();
  for (const Item &it : items) pyvtm::write_intra_mip(w, cw, it.inc, it.flag, it.transposed, it.mode, it.num);
  w.encode_terminate(1);
  w.rbsp_trailing_bits();
  pyvtm::ContextSet cr;
  cr.init(32);
  pyvtm::CabacReader r;
  r.start(w.bytes().data(), w.bytes().size());
  int bad = 0;
  for (const Item &it : items) {
    uint8_t flag = 9, transposed = 9;
    int mode = -1;
    pyvtm::read_intra_mip(r, cr, it.inc, it.num, flag, transposed, mode);
    bad += flag != it.flag || transposed != it.transposed || mode != it.mode;
  }
  check(bad == 0 && r.decode_terminate() == 1, "intra_mip_* round trip (" + std::to_string(bad) + " wrong)");
  // TB binarisation lengths: 16 modes 4 bins each; 6 modes: 2 bins for 0, 1, 3 bins above.
  auto bypass_bits = [](int mode, int num) {
    pyvtm::ContextSet cs;
    cs.init(32);
    pyvtm::CabacWriter e(true);
    e.start();
    pyvtm::ContextSet before = cs;
    pyvtm::write_intra_mip(e, cs, 0, 1, 0, mode, num);
    pyvtm::CabacWriter f(true);
    f.start();
    f.encode_bin(before.m[pyvtm::CTX_INTRA_MIP_FLAG], 1);
    return int((e.frac_bits() - f.frac_bits()) >> pyvtm::kFracBitsShift) - 1;  // minus the transposed bin
  };
  check(bypass_bits(0, 16) == 4 && bypass_bits(15, 16) == 4, "16 modes: 4 bins");
  check(bypass_bits(0, 6) == 2 && bypass_bits(1, 6) == 2 && bypass_bits(2, 6) == 3 && bypass_bits(5, 6) == 3,
        "6 modes: TB 2/3 bins");
  check(bypass_bits(0, 8) == 3 && bypass_bits(7, 8) == 3, "8 modes: 3 bins");
  // ctxInc (9.3.4.2.2).
  check(pyvtm::intra_mip_flag_ctx_inc(16, 16, true, true) == 2 && pyvtm::intra_mip_flag_ctx_inc(16, 8, true, false) == 1 &&
            pyvtm::intra_mip_flag_ctx_inc(32, 8, true, true) == 3 && pyvtm::intra_mip_flag_ctx_inc(4, 16, false, false) == 3 &&
            pyvtm::intra_mip_flag_ctx_inc(8, 16, false, false) == 0,
        "intra_mip_flag ctxInc");
}

// --- (4) encode -> decode -----------------------------------------------------------
struct RunStats {
  int mip_cus = 0;
  std::set<std::tuple<int, int, int>> used;  // (mipSizeId, mode, transposed)
  bool ok = true;
};

// Detail at several scales (edges, stripes of varying width) so that the
// search splits down to 4xN / 4x4 CUs.
pyvtm::Picture detailed_picture(int w, int h, int seed) {
  pyvtm::Picture pic = test_support::test_picture(w, h, seed);
  for (int c = 0; c < 3; c++) {
    const int pw = c ? pic.chroma_width() : w;
    for (size_t i = 0; i < pic.plane[c].size(); i++) {
      const int x = int(i % size_t(pw)), y = int(i / size_t(pw));
      const int period = 3 + ((x / 16 + y / 16 + seed) % 5) * 2;
      const int stripe = ((x * (1 + (y / 8) % 3) + y) / period) % 2;
      pic.plane[c][i] = uint16_t((pic.plane[c][i] / 4 + stripe * 600 + (x * y) % 97) % 1024);
    }
  }
  return pic;
}

RunStats encode_decode(int w, int h, int qp, int preset, bool dual_tree, bool mip, int force, int seed,
                       int min_cu_log2 = 2) {
  pyvtm::Picture src = detailed_picture(w, h, seed);
  pyvtm::EncoderConfig cfg;
  test_support::without_intra_tools_and_dq(cfg);
  cfg.qp = qp;
  cfg.preset = preset;
  cfg.dual_tree = dual_tree;
  cfg.mip = mip;
  cfg.min_cu_log2 = min_cu_log2;
  pyvtm::g_encoder_test_knobs.force_mip = force;
  const pyvtm::Hooks hooks;
  std::vector<pyvtm::CtuRecord> er, dr;
  const pyvtm::EncodeResult e = pyvtm::encode_picture_records(src, cfg, hooks, &er);
  pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
  const pyvtm::DecodeResult d =
      pyvtm::decode_bitstream_records(e.bitstream.data(), e.bitstream.size(), pyvtm::DecodeOptions(), hooks, &dr);
  const std::string what = std::to_string(w) + "x" + std::to_string(h) + " QP " + std::to_string(qp) + " preset " +
                           std::to_string(preset) + " dual_tree " + std::to_string(dual_tree) + " mip " +
                           std::to_string(mip) + " force " + std::to_string(force);
  RunStats s;
  s.ok = test_support::same_picture(e.recon, d.picture);
  check(s.ok, "decoder == encoder recon (" + what + ")");
  check(er.size() == dr.size(), "record count (" + what + ")");
  for (size_t i = 0; i < er.size() && i < dr.size(); i++) {
    const std::string diff = pyvtm::compare_records(er[i], dr[i]);
    check(diff.empty(), "CTU " + std::to_string(i) + " record: " + diff + " (" + what + ")");
    if (!diff.empty()) break;
  }
  for (const pyvtm::CtuRecord &r : dr)
    for (const pyvtm::CodingUnit &cu : r.cus) {
      if (cu.tree == pyvtm::DUAL_TREE_CHROMA || !cu.intra_mip_flag) continue;
      s.mip_cus++;
      s.used.insert({pyvtm::mip_size_id(cu.w, cu.h), cu.intra_mip_mode, cu.intra_mip_transposed_flag});
      check(cu.luma_mode == pyvtm::INTRA_PLANAR, "a MIP CU stands for INTRA_PLANAR (" + what + ")");
    }
  check(d.syntax.mip == s.mip_cus, "SyntaxCounts::mip (" + what + ")");
  return s;
}

void test_encode_decode() {
  std::set<std::tuple<int, int, int>> used;
  int forced_total = 0;
  for (int dual : {1, 0})
    for (int preset : {0, 1, 2}) {
      RunStats s = encode_decode(128, 128, 17, preset, dual != 0, true, 1, 3 + preset);
      forced_total += s.mip_cus;
      used.insert(s.used.begin(), s.used.end());
    }
  // The smallest CUs, MIP on each: 4x4 (mipSizeId 0) and, with 8x8 the
  // smallest CU the search uses, 8x8 (mipSizeId 1).
  for (int dual : {1, 0})
    for (int min_cu_log2 : {2, 3}) {
      RunStats s = encode_decode(64, 64, 32, 2, dual != 0, true, 2, 21 + dual, min_cu_log2);
      forced_total += s.mip_cus;
      used.insert(s.used.begin(), s.used.end());
    }
  check(forced_total > 0, "forced MIP CUs");
  // Every mode of every mipSizeId, both transpositions (16 * 2 + 8 * 2 + 6 * 2).
  for (int sid = 0; sid < 3; sid++)
    for (int m = 0; m < (sid == 0 ? 16 : sid == 1 ? 8 : 6); m++)
      for (int t = 0; t < 2; t++)
        if (!used.count({sid, m, t})) std::printf("unused: mipSizeId %d mode %d transposed %d\n", sid, m, t);
  check(used.size() == 60, "MIP (size, mode, transposition) combinations used: " + std::to_string(used.size()) + " of 60");
  // Odd size and a large flat-ish picture (multi-TU MIP CUs in the single tree).
  encode_decode(51, 77, 27, 1, true, true, 1, 11);
  encode_decode(256, 128, 37, 1, false, true, 1, 12);
  // The RD search picks MIP somewhere; with mip off there is none.
  RunStats rd = encode_decode(128, 96, 27, 1, true, true, 0, 7);
  check(rd.mip_cus > 0, "RD search chooses MIP");
  RunStats off = encode_decode(64, 64, 27, 1, true, false, 1, 7);
  check(off.mip_cus == 0, "mip off: no MIP CU (knob ignored)");
}

}  // namespace

int main() {
  pyvtm::init_tables();
  test_tables();
  test_prediction();
  test_syntax();
  test_encode_decode();
  if (g_failures) {
    std::printf("%d failure(s)\n", g_failures);
    return 1;
  }
  std::printf("test_mip: all passed\n");
  return 0;
}
