// The coding-tree layer end to end: for pictures and encoder configurations
// that exercise the multi-type tree, the dual tree and CCLM, the records the
// decoder parses equal the encoder's records field by field
// (record == parse(write(record))), and the decoded picture equals the
// encoder's reconstruction sample by sample. Also checks that the tools are
// really exercised (non-square CUs, ternary splits, CCLM), and a few rules of
// the partitioner.
#include <cstdio>
#include <string>
#include <vector>

#include "codec_internal.h"
#include "coding_tree.h"
#include "partition.h"
#include "test_support.h"

using namespace pyvtm;
using test_support::check;

namespace {

// Edges in several orientations, flat areas, texture and colour gradients:
// content for which rectangular blocks and CCLM pay.
Picture shapes_picture(int w, int h, int seed) {
  Picture pic;
  pic.allocate(w, h);
  uint32_t s = uint32_t(seed) * 2654435761u + 1;
  auto rnd = [&]() { s = s * 1664525u + 1013904223u; return int(s >> 24); };
  for (int c = 0; c < 3; c++) {
    const int pw = c ? pic.chroma_width() : w, ph = c ? pic.chroma_height() : h, sc = c ? 2 : 1;
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++) {
        const int lx = x * sc, ly = y * sc;
        int v = 300 + 100 * c;
        if ((lx / 24) % 2) v += 180;                  // vertical stripes
        if (ly % 40 < 12) v -= 150;                   // horizontal bands
        if (lx + 2 * ly < (w + h) / 2) v += 90 + 40 * c;  // a diagonal edge
        if (((lx / 6) + (ly / 6)) % 2 && lx > w / 2) v += 60;  // checker texture
        v += (lx * (c + 1)) / 16 - (ly * (3 - c)) / 24;       // gradients
        v += rnd() % 8;
        pic.plane[c][size_t(y) * pw + x] = uint16_t(std::min(1023, std::max(0, v)));
      }
  }
  return pic;
}

struct Coverage { int cus = 0, rect = 0, tt = 0, bt = 0, cclm = 0, chroma_tree = 0; };

void count(const std::vector<CtuRecord> &recs, Coverage &cv) {
  for (const CtuRecord &r : recs) {
    for (uint8_t sp : r.splits) {
      cv.tt += sp == SPLIT_TT_HOR || sp == SPLIT_TT_VER;
      cv.bt += sp == SPLIT_BT_HOR || sp == SPLIT_BT_VER;
    }
    for (const CodingUnit &cu : r.cus) {
      cv.cus++;
      cv.rect += cu.w != cu.h;
      cv.cclm += cu.tree != DUAL_TREE_LUMA && cu.cclm_mode_flag;
      cv.chroma_tree += cu.tree == DUAL_TREE_CHROMA;
    }
  }
}

// Encodes, decodes, compares records and pictures. Returns the coverage.
Coverage round_trip(const Picture &pic, const EncoderConfig &cfg, const std::string &name) {
  Coverage cv;
  std::vector<CtuRecord> enc_recs, dec_recs;
  EncodeResult er;
  std::vector<CtTraceEntry> trace_w, trace_r;  // filled only in a PYVTM_SYNTAX_TRACE build
  try {
    g_ct_trace = &trace_w;
    er = encode_picture_records(pic, cfg, Hooks{}, &enc_recs);
    g_ct_trace = nullptr;
  } catch (const std::exception &e) {
    g_ct_trace = nullptr;
    check(false, name + ": encoder threw: " + e.what());
    return cv;
  }
  DecodeResult dr;
  try {
    g_ct_trace = &trace_r;
    dr = decode_bitstream_records(er.bitstream.data(), er.bitstream.size(), DecodeOptions{}, Hooks{}, &dec_recs);
    g_ct_trace = nullptr;
  } catch (const std::exception &e) {
    g_ct_trace = nullptr;
    check(false, name + ": decoder threw: " + e.what());
    return cv;
  }
  for (size_t i = 0; i < trace_w.size() && i < trace_r.size(); i++)
    if (!(trace_w[i] == trace_r[i])) {
      const CtTraceEntry &a = trace_w[i], &b = trace_r[i];
      check(false, name + ": syntax trace diverges at entry " + std::to_string(i) + ": written " + a.element + "(" +
                       std::to_string(a.x) + "," + std::to_string(a.y) + ")=" + std::to_string(a.value) + " read " +
                       b.element + "(" + std::to_string(b.x) + "," + std::to_string(b.y) + ")=" + std::to_string(b.value));
      break;
    }
  check(trace_w.size() == trace_r.size(), name + ": syntax trace lengths");
  check(enc_recs.size() == dec_recs.size(), name + ": number of CTU records");
  for (size_t i = 0; i < enc_recs.size() && i < dec_recs.size(); i++) {
    const std::string d = compare_records(enc_recs[i], dec_recs[i]);
    if (!d.empty()) {
      check(false, name + ": CTU " + std::to_string(i) + ": " + d);
      break;
    }
  }
  check(test_support::same_picture(er.recon, dr.picture), name + ": decoded picture == encoder reconstruction");
  count(enc_recs, cv);
  std::printf("%-28s %5zu bytes  CUs %4d  non-square %4d  BT %4d  TT %3d  CCLM %3d\n", name.c_str(),
              er.bitstream.size(), cv.cus, cv.rect, cv.bt, cv.tt, cv.cclm);
  return cv;
}

void partition_rules() {
  PartitionLimits lim;
  lim.pic_width = 256;
  lim.pic_height = 256;
  lim.dual_tree = true;
  lim.min_qt[0] = lim.min_qt[1] = 8;
  lim.max_mtt_depth[0] = lim.max_mtt_depth[1] = 3;
  lim.max_bt[0] = 32;
  lim.max_bt[1] = 64;
  lim.max_tt[0] = lim.max_tt[1] = 32;
  CtNode n;
  n.w = n.h = 64;
  n.tree = DUAL_TREE_LUMA;
  AllowedSplits a = allowed_splits(n, lim);
  check(a.qt && !a.bt_ver && !a.bt_hor && !a.tt_ver && !a.tt_hor, "luma 64x64 with MaxBtSizeY 32: only QT");
  n.tree = DUAL_TREE_CHROMA;
  a = allowed_splits(n, lim);
  check(a.qt && a.bt_ver && a.bt_hor && !a.tt_ver, "chroma 64x64 with MaxBtSizeC 64: QT and BT");
  // Chroma 8x8 luma (4x4 chroma): no split creates chroma blocks below 16 samples.
  n.w = n.h = 8;
  a = allowed_splits(n, lim);
  check(!a.any(), "chroma tree 8x8 (luma units): no split");
  // Middle part of a ternary split: no binary split in the same direction.
  n.tree = DUAL_TREE_LUMA;
  n.w = 16; n.h = 32; n.mtt_depth = 1; n.part_idx = 1; n.parent_split = SPLIT_TT_VER;
  a = allowed_splits(n, lim);
  check(!a.bt_ver && a.bt_hor, "TT middle part: no BT in the parent's direction");
  // A 64x64 node crossing the bottom edge must split horizontally or by QT.
  lim.pic_height = 200;
  n = CtNode();
  n.x = 0; n.y = 192; n.w = n.h = 64; n.tree = DUAL_TREE_LUMA;
  a = allowed_splits(n, lim);
  check(a.qt && !a.bt_ver && !a.tt_ver && !a.tt_hor, "bottom-edge node: no vertical or ternary split");
  // Transform tiling of a 128x64 CU (MaxTbSize 64): two 64x64 TUs, left first.
  int t[16][4];
  const int nt = transform_tiling(0, 0, 128, 64, 64, t, 16);
  check(nt == 2 && t[0][0] == 0 && t[1][0] == 64 && t[1][2] == 64, "transform tiling of 128x64");
}

}  // namespace

int main() {
  partition_rules();
  struct Case { int w, h, qp; EncoderConfig cfg; const char *name; };
  std::vector<Case> cases;
  auto cfg = [](int preset, bool mtt, bool dual, bool cclm) {
    EncoderConfig c;
    c.preset = preset;
    c.mtt = mtt;
    c.dual_tree = dual;
    c.cclm = cclm;
    return c;
  };
  cases.push_back({256, 192, 27, cfg(1, true, true, true), "256x192 medium qp27"});
  cases.push_back({256, 192, 37, cfg(2, true, true, true), "256x192 slow qp37"});
  cases.push_back({200, 136, 32, cfg(0, true, true, true), "200x136 fast qp32"});
  cases.push_back({256, 192, 32, cfg(1, true, false, true), "256x192 single tree"});
  cases.push_back({256, 192, 32, cfg(1, false, true, true), "256x192 no MTT"});
  cases.push_back({256, 192, 32, cfg(1, true, true, false), "256x192 no CCLM"});
  cases.push_back({136, 72, 22, cfg(1, true, false, false), "136x72 single tree qp22"});
  cases.push_back({40, 24, 30, cfg(1, true, true, true), "40x24 (< CTU)"});
  cases.push_back({1024, 16, 32, cfg(0, true, true, true), "1024x16"});
  cases.push_back({16, 1024, 32, cfg(0, true, true, true), "16x1024"});
  cases.push_back({77, 51, 35, cfg(1, true, true, true), "77x51 odd size"});
  Coverage total;
  for (size_t i = 0; i < cases.size(); i++) {
    Case &c = cases[i];
    c.cfg.qp = c.qp;
    const Coverage cv = round_trip(shapes_picture(c.w, c.h, int(i) + 1), c.cfg, c.name);
    total.cus += cv.cus; total.rect += cv.rect; total.tt += cv.tt; total.bt += cv.bt; total.cclm += cv.cclm;
    total.chroma_tree += cv.chroma_tree;
    if (!c.cfg.mtt) check(cv.rect == 0 || c.w % 8 || c.h % 8, std::string(c.name) + ": no MTT gives square CUs");
  }
  // Noise-like content as well (test_support picture).
  round_trip(test_support::test_picture(192, 128, 5), cfg(1, true, true, true), "192x128 noise");
  check(total.rect > 0, "some CUs are not square");
  check(total.tt > 0, "some ternary splits are chosen");
  check(total.bt > 0, "some binary splits are chosen");
  check(total.cclm > 0, "some chroma CUs use CCLM");
  check(total.chroma_tree > 0, "dual-tree chroma CUs exist");
  if (test_support::g_failures) {
    std::printf("%d failure(s)\n", test_support::g_failures);
    return 1;
  }
  std::printf("coding tree: all round trips exact\n");
  return 0;
}
