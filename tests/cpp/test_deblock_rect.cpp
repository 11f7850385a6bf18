// Deblocking (8.8.3) with rectangular blocks and separate luma / chroma
// block structures:
//  (1) square-block layouts give exactly the output of the former filter
//      (hashes taken from the square-only implementation before the rewrite);
//  (2) filter lengths per case, counted as modified samples on a step edge;
//  (3) no edge bit -> no sample changes; plus properties on random
//      multi-type-tree layouts (changes stay within the filter lengths,
//      luma / chroma independence, per-component chroma QP);
//  (4) the encoder's choice of beta / tc offsets (deblock_choose_offsets);
//  (5) deblock_units (the encoder's deblocking of one block's edges): the
//      whole range is deblock_picture, one block's range is deblock_picture
//      with only that block's edge bits.
#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "deblocking.h"
#include "test_support.h"

using namespace pyvtm;
using test_support::check;

namespace {

// --- the square-block interface of the filter before the multi-type tree, as
// a reference for the rectangular rewrite -----------------------------------

// Owning per-unit maps; attach() points a DeblockParams at them.
struct DeblockMaps {
  int map_stride = 0;
  std::vector<int8_t> qp_y;
  std::vector<uint8_t> luma_edge, luma_tb_w_log2, luma_tb_h_log2;
  std::vector<uint8_t> chroma_edge, chroma_tb_w_log2, chroma_tb_h_log2;
  void attach(DeblockParams &p) const {
    p.map_stride = map_stride;
    p.qp_y = qp_y.data();
    p.luma_edge = luma_edge.data();
    p.luma_tb_w_log2 = luma_tb_w_log2.data();
    p.luma_tb_h_log2 = luma_tb_h_log2.data();
    p.chroma_edge = chroma_edge.data();
    p.chroma_tb_w_log2 = chroma_tb_w_log2.data();
    p.chroma_tb_h_log2 = chroma_tb_h_log2.data();
  }
};

// Maps of a layout of square transform blocks aligned to their size, given
// per 4x4 luma unit as log2 of the side of the luma TB and of the chroma TB
// (in chroma samples), with one QpY for the whole picture: an edge lies where
// a block starts.
DeblockMaps square_block_maps(int width, int height, int map_stride, const uint8_t *luma_tb_log2,
                              const uint8_t *chroma_tb_log2, int qp_y) {
  DeblockMaps m;
  m.map_stride = map_stride;
  const size_t n = size_t(map_stride) * size_t(height / 4);
  m.qp_y.assign(n, int8_t(qp_y));
  m.luma_tb_w_log2.assign(luma_tb_log2, luma_tb_log2 + n);
  m.luma_tb_h_log2 = m.luma_tb_w_log2;
  m.chroma_tb_w_log2.assign(chroma_tb_log2, chroma_tb_log2 + n);
  m.chroma_tb_h_log2 = m.chroma_tb_w_log2;
  m.luma_edge.assign(n, 0);
  m.chroma_edge.assign(n, 0);
  for (int uy = 0; uy < height / 4; uy++)
    for (int ux = 0; ux < width / 4; ux++) {
      const size_t k = size_t(uy) * map_stride + ux;
      // A block aligned to its size starts where the position is a multiple of it.
      const int ls = 1 << luma_tb_log2[k], cs = 1 << chroma_tb_log2[k];
      m.luma_edge[k] = uint8_t(((ux * 4) % ls == 0 ? kDeblockEdgeLeft : 0) | ((uy * 4) % ls == 0 ? kDeblockEdgeTop : 0));
      m.chroma_edge[k] =
          uint8_t(((ux * 2) % cs == 0 ? kDeblockEdgeLeft : 0) | ((uy * 2) % cs == 0 ? kDeblockEdgeTop : 0));
    }
  return m;
}

// The former square-block interface: one QpY and one QpC for the picture,
// chroma using the luma beta/tc offsets.
struct DeblockSquareParams {
  int width = 0, height = 0;
  int log2_ctu = 7;
  int qp_y = 32;  // QpY of every CU
  int qp_c = 32;  // QpC of both chroma components
  int bit_depth = 10;
  int beta_offset_div2 = 0, tc_offset_div2 = 0;
  int map_stride = 0;
  const uint8_t *luma_tb_log2 = nullptr;
  const uint8_t *chroma_tb_log2 = nullptr;
};

inline void deblock_picture(Plane planes[3], const DeblockSquareParams &s) {
  DeblockParams p;
  p.width = s.width;
  p.height = s.height;
  p.log2_ctu = s.log2_ctu;
  p.bit_depth = s.bit_depth;
  p.beta_offset_div2 = s.beta_offset_div2;
  p.tc_offset_div2 = s.tc_offset_div2;
  for (int i = 0; i < 2; i++) {
    p.chroma_beta_offset_div2[i] = s.beta_offset_div2;
    p.chroma_tc_offset_div2[i] = s.tc_offset_div2;
    p.chroma_qp_offset[i] = s.qp_c - s.qp_y;  // identity table: QpC = QpY + offset
  }
  const DeblockMaps maps = square_block_maps(s.width, s.height, s.map_stride, s.luma_tb_log2, s.chroma_tb_log2, s.qp_y);
  maps.attach(p);
  pyvtm::deblock_picture(planes, p);
}


uint64_t fnv1a(uint64_t h, const Plane &p) {
  for (int y = 0; y < p.height; y++)
    for (int x = 0; x < p.width; x++) {
      const uint16_t v = uint16_t(p.at(x, y));
      h = (h ^ (v & 0xff)) * 1099511628211ull;
      h = (h ^ (v >> 8)) * 1099511628211ull;
    }
  return h;
}

uint64_t hash_planes(const Plane planes[3]) {
  uint64_t h = 1469598103934665603ull;
  for (int c = 0; c < 3; c++) h = fnv1a(h, planes[c]);
  return h;
}

void copy_planes(const Plane from[3], Plane to[3]) {
  for (int c = 0; c < 3; c++) to[c] = from[c];
}

// ---------------------------------------------------------------------------
// (1) Square layouts: the generator and the reference hashes of step 1.

// Random square quadtree of blocks aligned to their size: log2 sizes in
// [min_log2, max_log2], written per 4x4 luma unit (unit_shift: log2 of the
// unit in the plane's samples: 2 for luma, 1 for chroma).
void square_layout(std::mt19937 &rng, int w, int h, int ctu, int min_log2, int max_log2, int unit_shift,
                   int map_stride, std::vector<uint8_t> &map) {
  struct Rec {
    static void go(std::mt19937 &rng, int x, int y, int log2, int w, int h, int min_log2, int max_log2,
                   int unit_shift, int map_stride, std::vector<uint8_t> &map) {
      if (x >= w || y >= h) return;
      const bool must_split = log2 > max_log2 || x + (1 << log2) > w || y + (1 << log2) > h;
      if (log2 > min_log2 && (must_split || rng() % 3 != 0)) {
        const int half = 1 << (log2 - 1);
        for (int j = 0; j < 2; j++)
          for (int i = 0; i < 2; i++)
            go(rng, x + i * half, y + j * half, log2 - 1, w, h, min_log2, max_log2, unit_shift, map_stride, map);
        return;
      }
      const int n = 1 << log2, u = 1 << unit_shift;
      for (int yy = y; yy < y + n && yy < h; yy += u)
        for (int xx = x; xx < x + n && xx < w; xx += u) map[size_t(yy >> unit_shift) * map_stride + (xx >> unit_shift)] = uint8_t(log2);
    }
  };
  int log2_ctu = 0;
  while ((1 << log2_ctu) < ctu) log2_ctu++;
  for (int y = 0; y < h; y += ctu)
    for (int x = 0; x < w; x += ctu) Rec::go(rng, x, y, log2_ctu, w, h, min_log2, max_log2, unit_shift, map_stride, map);
}

// Blocky test content: smooth ramp + a random offset per luma/chroma block + noise.
void blocky_planes(std::mt19937 &rng, int w, int h, int bit_depth, const std::vector<uint8_t> &lmap,
                   const std::vector<uint8_t> &cmap, int map_stride, int step, Plane planes[3]) {
  const int maxv = (1 << bit_depth) - 1, scale = 1 << (bit_depth - 8);
  for (int c = 0; c < 3; c++) {
    const int pw = c ? w / 2 : w, ph = c ? h / 2 : h, sh = c ? 1 : 2;
    const std::vector<uint8_t> &m = c ? cmap : lmap;
    planes[c].allocate(pw, ph);
    std::vector<int> off(size_t(map_stride) * (h / 4));
    for (auto &o : off) o = int(rng() % (2 * step + 1)) - step;
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++) {
        // Offset of the block: the unit at the block's top-left corner.
        const int ux = x >> sh, uy = y >> sh;
        const int bl = m[size_t(uy) * map_stride + ux];
        const int bs = std::max(1, (1 << bl) >> sh);
        const int bx = ux / bs * bs, by = uy / bs * bs;
        const int v = (100 + c * 20 + (x * 3 + y * 2) / 4 + off[size_t(by) * map_stride + bx] + int(rng() % 3)) * scale;
        planes[c].at(x, y) = Pel(clip3(0, maxv, v));
      }
  }
}

struct SquareCase {
  int w, h, log2_ctu, qp_y, qp_c, bit_depth, beta_off, tc_off, step, seed;
  uint64_t expected;  // hash of the three planes after the former square-only filter
};

const SquareCase kSquareCases[] = {
    {64, 64, 6, 32, 32, 10, 0, 0, 12, 1, 0x507b3b6feccc1d0dull},
    {128, 96, 7, 37, 35, 10, 0, 0, 20, 2, 0xd02f946ab9807a78ull},
    {136, 72, 6, 27, 27, 10, 1, -1, 8, 3, 0x917b0a67d3933984ull},
    {200, 128, 7, 42, 39, 10, -2, 2, 30, 4, 0xfb8322dcaa916b2dull},
    {96, 136, 5, 22, 22, 8, 0, 0, 10, 5, 0xb01faa6030c86d4aull},
    {256, 128, 7, 45, 41, 8, 3, 3, 6, 6, 0x65789cfc6c14ca5bull},
};

void test_square_layouts_match_former_filter() {
  for (const SquareCase &cs : kSquareCases) {
    std::mt19937 rng{uint32_t(cs.seed)};
    const int stride = cs.w / 4;
    std::vector<uint8_t> lmap(size_t(stride) * (cs.h / 4)), cmap(lmap.size());
    const int ctu = 1 << cs.log2_ctu;
    square_layout(rng, cs.w, cs.h, ctu, 2, 6, 2, stride, lmap);
    square_layout(rng, cs.w / 2, cs.h / 2, ctu / 2, 1, 5, 1, stride, cmap);
    Plane input[3];
    blocky_planes(rng, cs.w, cs.h, cs.bit_depth, lmap, cmap, stride, cs.step, input);
    const std::string name = "square case seed " + std::to_string(cs.seed);

    // (a) The former interface, now a wrapper.
    Plane a[3];
    copy_planes(input, a);
    DeblockSquareParams sp;
    sp.width = cs.w;
    sp.height = cs.h;
    sp.log2_ctu = cs.log2_ctu;
    sp.qp_y = cs.qp_y;
    sp.qp_c = cs.qp_c;
    sp.bit_depth = cs.bit_depth;
    sp.beta_offset_div2 = cs.beta_off;
    sp.tc_offset_div2 = cs.tc_off;
    sp.map_stride = stride;
    sp.luma_tb_log2 = lmap.data();
    sp.chroma_tb_log2 = cmap.data();
    deblock_picture(a, sp);
    check(hash_planes(a) == cs.expected, name + ": wrapper output equals the former filter");
    check(hash_planes(a) != hash_planes(input), name + ": the filter changes the picture");

    // (b) The rectangular interface directly, with an explicit identity
    // ChromaQpTable and a map stride wider than the picture.
    const int wide = stride + 3;
    std::vector<uint8_t> lw(size_t(wide) * (cs.h / 4), 2), cw(lw.size(), 1);
    for (int uy = 0; uy < cs.h / 4; uy++)
      for (int ux = 0; ux < stride; ux++) {
        lw[size_t(uy) * wide + ux] = lmap[size_t(uy) * stride + ux];
        cw[size_t(uy) * wide + ux] = cmap[size_t(uy) * stride + ux];
      }
    const int qp_bd = 6 * (cs.bit_depth - 8);
    std::vector<int> identity(size_t(64 + qp_bd));
    for (int i = 0; i < 64 + qp_bd; i++) identity[size_t(i)] = i - qp_bd;
    Plane b[3];
    copy_planes(input, b);
    DeblockParams p;
    p.width = cs.w;
    p.height = cs.h;
    p.log2_ctu = cs.log2_ctu;
    p.bit_depth = cs.bit_depth;
    p.beta_offset_div2 = cs.beta_off;
    p.tc_offset_div2 = cs.tc_off;
    for (int i = 0; i < 2; i++) {
      p.chroma_beta_offset_div2[i] = cs.beta_off;
      p.chroma_tc_offset_div2[i] = cs.tc_off;
      p.chroma_qp_offset[i] = cs.qp_c - cs.qp_y;
      p.chroma_qp_table[i] = identity.data();
    }
    const DeblockMaps maps = square_block_maps(cs.w, cs.h, wide, lw.data(), cw.data(), cs.qp_y);
    maps.attach(p);
    deblock_picture(b, p);
    check(hash_planes(b) == cs.expected, name + ": rectangular interface output equals the former filter");
  }
}

// ---------------------------------------------------------------------------
// A layout built block by block (luma and chroma separately).

struct Layout {
  int w, h, stride;
  std::vector<int8_t> qp;
  std::vector<uint8_t> le, lw, lh, ce, cw, ch;
  Layout(int w_, int h_, int qp_y) : w(w_), h(h_), stride(w_ / 4) {
    const size_t n = size_t(stride) * (h / 4);
    qp.assign(n, int8_t(qp_y));
    le.assign(n, 0); lw.assign(n, 2); lh.assign(n, 2);
    ce.assign(n, 0); cw.assign(n, 1); ch.assign(n, 1);
  }
  static int log2_of(int v) { int l = 0; while ((1 << l) < v) l++; return l; }
  // A luma TB at (x, y) of size bw x bh (luma samples, multiples of 4),
  // with edge bits on its left / top sides when asked.
  void luma(int x, int y, int bw, int bh, bool left = true, bool top = true) {
    for (int yy = y; yy < y + bh; yy += 4)
      for (int xx = x; xx < x + bw; xx += 4) {
        const size_t k = size_t(yy / 4) * stride + xx / 4;
        lw[k] = uint8_t(log2_of(bw));
        lh[k] = uint8_t(log2_of(bh));
        le[k] = uint8_t((left && xx == x ? kDeblockEdgeLeft : 0) | (top && yy == y ? kDeblockEdgeTop : 0));
      }
  }
  // A chroma TB at (x, y) of size bw x bh in chroma samples (multiples of 2).
  void chroma(int x, int y, int bw, int bh, bool left = true, bool top = true) {
    for (int yy = y; yy < y + bh; yy += 2)
      for (int xx = x; xx < x + bw; xx += 2) {
        const size_t k = size_t(yy / 2) * stride + xx / 2;
        cw[k] = uint8_t(log2_of(bw));
        ch[k] = uint8_t(log2_of(bh));
        ce[k] = uint8_t((left && xx == x ? kDeblockEdgeLeft : 0) | (top && yy == y ? kDeblockEdgeTop : 0));
      }
  }
  DeblockParams params(int log2_ctu, int bit_depth = 10) const {
    DeblockParams p;
    p.width = w;
    p.height = h;
    p.log2_ctu = log2_ctu;
    p.bit_depth = bit_depth;
    p.map_stride = stride;
    p.qp_y = qp.data();
    p.luma_edge = le.data();
    p.luma_tb_w_log2 = lw.data();
    p.luma_tb_h_log2 = lh.data();
    p.chroma_edge = ce.data();
    p.chroma_tb_w_log2 = cw.data();
    p.chroma_tb_h_log2 = ch.data();
    return p;
  }
};

// ---------------------------------------------------------------------------
// (2) Filter lengths: a flat step across one edge is filtered with the
// longest filter its lengths allow, and that filter changes every sample it
// may change; count them per line on each side.

// Flat planes with a step of `step` on the Q side of position `pos` (luma
// samples) in the direction across a vertical (ver) or horizontal edge.
void step_planes(int w, int h, bool ver, int pos, int step, bool in_chroma, Plane planes[3]) {
  for (int c = 0; c < 3; c++) {
    const int pw = c ? w / 2 : w, ph = c ? h / 2 : h;
    planes[c].allocate(pw, ph);
    const bool stepped = (c == 0) != in_chroma;
    const int edge = c ? pos / 2 : pos;
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++)
        planes[c].at(x, y) = Pel(400 + (stepped && (ver ? x : y) >= edge ? step : 0));
  }
}

// Modified samples on the P and Q sides of the edge at `pos`, for every line
// along it in [from, to); returns false unless all lines agree.
bool count_changes(const Plane &before, const Plane &after, bool ver, int pos, int from, int to, int &np, int &nq) {
  np = nq = -1;
  const int extent = ver ? before.width : before.height;
  for (int line = from; line < to; line++) {
    int cp = 0, cq = 0;
    for (int i = 0; i < extent; i++) {
      const int x = ver ? i : line, y = ver ? line : i;
      if (before.at(x, y) != after.at(x, y)) (i < pos ? cp : cq)++;
    }
    if (np < 0) { np = cp; nq = cq; }
    if (cp != np || cq != nq) return false;
  }
  return true;
}

struct LumaLengthCase {
  const char *name;
  bool ver;
  int pw, ph, qw, qh;  // P-side and Q-side TB sizes
  int pos;             // edge position (x for vertical, y for horizontal)
  int log2_ctu;
  int exp_p, exp_q;    // expected modified samples per line
};

void test_luma_filter_lengths() {
  const LumaLengthCase cases[] = {
      {"4|32 vertical", true, 4, 32, 32, 32, 64, 7, 1, 1},
      {"32|4 vertical", true, 32, 32, 4, 32, 64, 7, 1, 1},
      {"8|8 vertical", true, 8, 16, 8, 16, 64, 7, 3, 3},
      {"8|16 vertical", true, 8, 8, 16, 8, 64, 7, 3, 3},
      {"16|32 vertical (asymmetric 3/7)", true, 16, 8, 32, 8, 64, 7, 3, 7},
      {"32|16 vertical (asymmetric 7/3)", true, 32, 4, 16, 4, 64, 7, 7, 3},
      {"32|32 vertical", true, 32, 8, 32, 16, 64, 7, 7, 7},
      {"64|8 vertical", true, 64, 16, 8, 64, 64, 7, 7, 3},
      {"32x4|8x4 vertical: widths count, not heights", true, 32, 4, 8, 4, 64, 7, 7, 3},
      {"4x32 over 4x32 horizontal: heights count", false, 4, 32, 4, 32, 32, 7, 7, 7},
      {"32x4 over 32x32 horizontal", false, 32, 4, 32, 32, 32, 7, 1, 1},
      {"16x8 over 16x32 horizontal", false, 16, 8, 16, 32, 32, 7, 3, 7},
      {"8x32 over 8x16 horizontal", false, 8, 32, 8, 16, 32, 7, 7, 3},
      {"32|32 horizontal on a CTU boundary: P limited to 3", false, 32, 32, 32, 32, 64, 6, 3, 7},
      {"32|32 horizontal inside a CTU", false, 32, 32, 32, 32, 64, 7, 7, 7},
      {"16|16 horizontal on a CTU boundary", false, 16, 16, 16, 16, 32, 5, 3, 3},
  };
  for (const LumaLengthCase &c : cases) {
    const int w = 128, h = 128;
    Layout lay(w, h, 42);
    // Fill the picture with Q-sized blocks, then put the P block before the edge.
    // Only the edge under test carries an edge bit.
    for (int y = 0; y < h; y += c.qh)
      for (int x = 0; x < w; x += c.qw) lay.luma(x, y, c.qw, c.qh, false, false);
    if (c.ver) {
      for (int y = 0; y < h; y += c.ph) lay.luma(c.pos - c.pw, y, c.pw, c.ph, false, false);
      for (int y = 0; y < h; y += c.qh) lay.luma(c.pos, y, c.qw, c.qh, true, false);
    } else {
      for (int x = 0; x < w; x += c.pw) lay.luma(x, c.pos - c.ph, c.pw, c.ph, false, false);
      for (int x = 0; x < w; x += c.qw) lay.luma(x, c.pos, c.qw, c.qh, false, true);
    }
    Plane before[3], after[3];
    step_planes(w, h, c.ver, c.pos, 40, false, before);
    copy_planes(before, after);
    deblock_picture(after, lay.params(c.log2_ctu));
    int np, nq;
    const bool uniform = count_changes(before[0], after[0], c.ver, c.pos, 0, c.ver ? h : w, np, nq);
    check(uniform, std::string(c.name) + ": every line filtered alike");
    check(np == c.exp_p && nq == c.exp_q, std::string(c.name) + ": modified P/Q samples " + std::to_string(np) +
                                              "/" + std::to_string(nq) + ", expected " + std::to_string(c.exp_p) +
                                              "/" + std::to_string(c.exp_q));
    check(before[1].data == after[1].data && before[2].data == after[2].data,
          std::string(c.name) + ": chroma untouched");
  }
  // The length functions themselves (8.8.3.3).
  struct { int sp, sq, lp, lq; } lt[] = {{4, 4, 1, 1},   {4, 64, 1, 1},  {64, 4, 1, 1}, {8, 8, 3, 3},
                                         {16, 32, 3, 7}, {32, 16, 7, 3}, {32, 64, 7, 7}, {2, 32, 1, 1}};
  for (auto &t : lt) {
    const FilterLengths l = luma_max_filter_length(t.sp, t.sq);
    check(l.p == t.lp && l.q == t.lq, "luma_max_filter_length(" + std::to_string(t.sp) + ", " + std::to_string(t.sq) + ")");
  }
  check(chroma_max_filter_length(8, 8, false).p == 3 && chroma_max_filter_length(8, 8, false).q == 3, "chroma 8|8");
  check(chroma_max_filter_length(8, 16, true).p == 1 && chroma_max_filter_length(8, 16, true).q == 3,
        "chroma 8|16 on a CTU boundary");
  check(chroma_max_filter_length(4, 16, false).p == 1 && chroma_max_filter_length(4, 16, false).q == 1, "chroma 4|16");
  check(chroma_max_filter_length(16, 4, true).p == 1 && chroma_max_filter_length(16, 4, true).q == 1, "chroma 16|4");
}

struct ChromaLengthCase {
  const char *name;
  bool ver;
  int pw, ph, qw, qh;  // chroma samples
  int pos;             // chroma samples
  int log2_ctu;
  int exp_p, exp_q;
};

void test_chroma_filter_lengths() {
  const ChromaLengthCase cases[] = {
      {"8|8 vertical", true, 8, 8, 8, 8, 32, 7, 3, 3},
      {"4|8 vertical", true, 4, 8, 8, 8, 32, 7, 1, 1},
      {"16|4 vertical", true, 16, 4, 4, 4, 32, 7, 1, 1},
      {"8x4|8x4 vertical: widths count", true, 8, 4, 8, 4, 32, 7, 3, 3},
      {"16x4 over 16x8 horizontal: heights count", false, 16, 4, 16, 8, 32, 7, 1, 1},
      {"4x8 over 4x16 horizontal", false, 4, 8, 4, 16, 32, 7, 3, 3},
      {"8|8 horizontal on a CTU boundary: P limited to 1", false, 8, 8, 8, 8, 32, 6, 1, 3},
      {"8|8 horizontal at luma y = 64 inside a 128 CTU", false, 8, 8, 8, 8, 32, 7, 3, 3},
      {"8|8 horizontal inside a CTU", false, 8, 8, 8, 8, 16, 6, 3, 3},
      {"16|16 horizontal on a 16-sample chroma CTU boundary", false, 16, 16, 16, 16, 16, 5, 1, 3},
  };
  for (const ChromaLengthCase &c : cases) {
    const int w = 128, h = 128, cwid = w / 2, chei = h / 2;
    Layout lay(w, h, 42);
    for (int y = 0; y < chei; y += c.qh)
      for (int x = 0; x < cwid; x += c.qw) lay.chroma(x, y, c.qw, c.qh, false, false);
    if (c.ver) {
      for (int y = 0; y < chei; y += c.ph) lay.chroma(c.pos - c.pw, y, c.pw, c.ph, false, false);
      for (int y = 0; y < chei; y += c.qh) lay.chroma(c.pos, y, c.qw, c.qh, true, false);
    } else {
      for (int x = 0; x < cwid; x += c.pw) lay.chroma(x, c.pos - c.ph, c.pw, c.ph, false, false);
      for (int x = 0; x < cwid; x += c.qw) lay.chroma(x, c.pos, c.qw, c.qh, false, true);
    }
    Plane before[3], after[3];
    step_planes(w, h, c.ver, c.pos * 2, 40, true, before);
    copy_planes(before, after);
    deblock_picture(after, lay.params(c.log2_ctu));
    for (int comp = 1; comp <= 2; comp++) {
      int np, nq;
      const std::string name = std::string(c.name) + (comp == 1 ? " (Cb)" : " (Cr)");
      const bool uniform = count_changes(before[comp], after[comp], c.ver, c.pos, 0, c.ver ? chei : cwid, np, nq);
      check(uniform, name + ": every line filtered alike");
      check(np == c.exp_p && nq == c.exp_q, name + ": modified P/Q samples " + std::to_string(np) + "/" +
                                                std::to_string(nq) + ", expected " + std::to_string(c.exp_p) + "/" +
                                                std::to_string(c.exp_q));
    }
    check(before[0].data == after[0].data, std::string(c.name) + ": luma untouched");
  }
  // A chroma edge off the 8-sample chroma grid is not filtered.
  {
    const int w = 64, h = 64;
    Layout lay(w, h, 42);
    for (int y = 0; y < h / 2; y += 4)
      for (int x = 0; x < w / 2; x += 4) lay.chroma(x, y, 4, 4, true, true);
    Plane before[3], after[3];
    step_planes(w, h, true, 24, 40, true, before);  // chroma step at x = 12
    copy_planes(before, after);
    deblock_picture(after, lay.params(6));
    check(before[1].data == after[1].data && before[2].data == after[2].data,
          "chroma edge at x = 12 (off the 8 grid) is not filtered");
  }
}

// ---------------------------------------------------------------------------
// Random multi-type-tree layouts (QT, BT, TT; luma and chroma separately).

struct MttGen {
  std::mt19937 &rng;
  int max_tb;  // MaxTbSizeY (luma) or its chroma size
  int min;     // smallest block side
  void split(int x, int y, int w, int h, int limit_w, int limit_h, int depth,
             const std::function<void(int, int, int, int)> &leaf) {
    if (x >= limit_w || y >= limit_h) return;
    enum { LEAF, QT, BTV, BTH, TTV, TTH };
    std::vector<int> opts;
    const bool over = x + w > limit_w || y + h > limit_h;
    if (!over && w <= max_tb && h <= max_tb && depth > 0) opts.push_back(LEAF);
    if (w == h && w >= 2 * min && !over) opts.push_back(QT);
    if (w >= 2 * min) opts.push_back(BTV);
    if (h >= 2 * min) opts.push_back(BTH);
    if (!over && w >= 4 * min) opts.push_back(TTV);
    if (!over && h >= 4 * min) opts.push_back(TTH);
    if (over) {  // implicit split at the picture boundary
      opts.clear();
      if (x + w > limit_w && w >= 2 * min) opts.push_back(BTV);
      if (y + h > limit_h && h >= 2 * min) opts.push_back(BTH);
      if (opts.empty()) return;
    }
    if (opts.empty()) { leaf(x, y, w, h); return; }
    // Prefer stopping as blocks get small.
    int o = opts[rng() % opts.size()];
    if (opts[0] == LEAF && rng() % 4 < unsigned(std::min(depth, 3))) o = LEAF;
    switch (o) {
      case LEAF: leaf(x, y, w, h); break;
      case QT:
        for (int j = 0; j < 2; j++)
          for (int i = 0; i < 2; i++) split(x + i * w / 2, y + j * h / 2, w / 2, h / 2, limit_w, limit_h, depth + 1, leaf);
        break;
      case BTV: for (int i = 0; i < 2; i++) split(x + i * w / 2, y, w / 2, h, limit_w, limit_h, depth + 1, leaf); break;
      case BTH: for (int i = 0; i < 2; i++) split(x, y + i * h / 2, w, h / 2, limit_w, limit_h, depth + 1, leaf); break;
      case TTV:
        split(x, y, w / 4, h, limit_w, limit_h, depth + 1, leaf);
        split(x + w / 4, y, w / 2, h, limit_w, limit_h, depth + 1, leaf);
        split(x + 3 * w / 4, y, w / 4, h, limit_w, limit_h, depth + 1, leaf);
        break;
      case TTH:
        split(x, y, w, h / 4, limit_w, limit_h, depth + 1, leaf);
        split(x, y + h / 4, w, h / 2, limit_w, limit_h, depth + 1, leaf);
        split(x, y + 3 * h / 4, w, h / 4, limit_w, limit_h, depth + 1, leaf);
        break;
    }
  }
};

// A random dual-tree layout and random QpY per luma block.
Layout random_mtt_layout(std::mt19937 &rng, int w, int h, int log2_ctu, std::vector<std::array<int, 4>> *luma_blocks,
                         std::vector<std::array<int, 4>> *chroma_blocks) {
  Layout lay(w, h, 32);
  const int ctu = 1 << log2_ctu;
  MttGen gl{rng, 64, 4}, gc{rng, 32, 4};
  for (int y = 0; y < h; y += ctu)
    for (int x = 0; x < w; x += ctu) {
      gl.split(x, y, ctu, ctu, w, h, 0, [&](int bx, int by, int bw, int bh) {
        lay.luma(bx, by, bw, bh);
        const int8_t qp = int8_t(25 + rng() % 20);
        for (int yy = by; yy < by + bh; yy += 4)
          for (int xx = bx; xx < bx + bw; xx += 4) lay.qp[size_t(yy / 4) * lay.stride + xx / 4] = qp;
        if (luma_blocks) luma_blocks->push_back({bx, by, bw, bh});
      });
      gc.split(x / 2, y / 2, ctu / 2, ctu / 2, w / 2, h / 2, 0, [&](int bx, int by, int bw, int bh) {
        lay.chroma(bx, by, bw, bh);
        if (chroma_blocks) chroma_blocks->push_back({bx, by, bw, bh});
      });
    }
  return lay;
}

// Planes with a random offset per block of the given block lists.
void blocky_from_blocks(std::mt19937 &rng, int w, int h, const std::vector<std::array<int, 4>> &lb,
                        const std::vector<std::array<int, 4>> &cb, Plane planes[3]) {
  for (int c = 0; c < 3; c++) {
    const int pw = c ? w / 2 : w, ph = c ? h / 2 : h;
    planes[c].allocate(pw, ph);
    for (int y = 0; y < ph; y++)
      for (int x = 0; x < pw; x++) planes[c].at(x, y) = Pel(300 + c * 50 + (x + 2 * y) / 3 + int(rng() % 3));
    for (const auto &b : c ? cb : lb) {
      const int off = int(rng() % 41) - 20;
      for (int y = b[1]; y < b[1] + b[3]; y++)
        for (int x = b[0]; x < b[0] + b[2]; x++) planes[c].at(x, y) = Pel(planes[c].at(x, y) + off);
    }
  }
}

// Marks, per sample, whether some edge may modify it: samples within the
// filter lengths of a marked edge (mirrors the grid rules of 8.8.3).
std::vector<uint8_t> reach(const DeblockParams &p, int comp) {
  const int pw = comp ? p.width / 2 : p.width, ph = comp ? p.height / 2 : p.height;
  std::vector<uint8_t> m(size_t(pw) * ph, 0);
  const int us = comp ? 2 : 4;  // unit size in this plane
  for (int ver = 0; ver < 2; ver++)
    for (int uy = 0; uy < p.height / 4; uy++)
      for (int ux = 0; ux < p.width / 4; ux++) {
        const size_t uq = size_t(uy) * p.map_stride + ux, up = uq - (ver ? 1 : p.map_stride);
        const int pos = (ver ? ux : uy) * us;
        const uint8_t e = comp ? p.chroma_edge[uq] : p.luma_edge[uq];
        if (pos == 0 || !(e & (ver ? kDeblockEdgeLeft : kDeblockEdgeTop))) continue;
        if (comp && pos % 8) continue;
        FilterLengths len;
        if (comp) {
          const uint8_t *s = ver ? p.chroma_tb_w_log2 : p.chroma_tb_h_log2;
          const bool ctu_hor = !ver && (pos * 2) % (1 << p.log2_ctu) == 0;
          len = chroma_max_filter_length(1 << s[up], 1 << s[uq], ctu_hor);
        } else {
          const uint8_t *s = ver ? p.luma_tb_w_log2 : p.luma_tb_h_log2;
          len = luma_max_filter_length(1 << s[up], 1 << s[uq]);
          if (!ver && pos % (1 << p.log2_ctu) == 0) len.p = std::min(len.p, 3);
        }
        for (int line = 0; line < us; line++)
          for (int i = -len.p; i < len.q; i++) {
            const int x = ver ? pos + i : ux * us + line, y = ver ? uy * us + line : pos + i;
            m[size_t(y) * pw + x] = 1;
          }
      }
  return m;
}

// A random dual-tree picture: layout (CTU 32, 64 or 128 by the seed), its
// luma / chroma block lists, and blocky planes over them.
struct RandomPicture {
  int log2_ctu, w, h;
  std::vector<std::array<int, 4>> lb, cb;
  Layout lay;
  Plane planes[3];
};

RandomPicture random_picture(std::mt19937 &rng, int seed) {
  const int log2_ctu = 5 + seed % 3;
  const int w = 8 * (8 + int(rng() % 24));
  const int h = 8 * (8 + int(rng() % 20));
  std::vector<std::array<int, 4>> lb, cb;
  Layout lay = random_mtt_layout(rng, w, h, log2_ctu, &lb, &cb);
  RandomPicture r{log2_ctu, w, h, lb, cb, lay, {}};
  blocky_from_blocks(rng, w, h, r.lb, r.cb, r.planes);
  return r;
}

void test_random_mtt_layouts() {
  for (int seed = 1; seed <= 24; seed++) {
    std::mt19937 rng{uint32_t(1000 + seed)};
    const RandomPicture rp = random_picture(rng, seed);
    const int log2_ctu = rp.log2_ctu, w = rp.w, h = rp.h;
    const Layout &lay = rp.lay;
    Plane before[3], after[3];
    copy_planes(rp.planes, before);
    copy_planes(before, after);
    DeblockParams p = lay.params(log2_ctu);
    p.chroma_qp_offset[0] = int(rng() % 7) - 3;
    p.chroma_qp_offset[1] = int(rng() % 7) - 3;
    deblock_picture(after, p);
    const std::string name = "MTT seed " + std::to_string(seed) + " (" + std::to_string(w) + "x" + std::to_string(h) + ")";
    check(hash_planes(before) != hash_planes(after), name + ": filtered");
    for (int c = 0; c < 3; c++) {
      const std::vector<uint8_t> m = reach(p, c);
      int outside = 0;
      for (size_t i = 0; i < m.size(); i++) outside += !m[i] && before[c].data[i] != after[c].data[i];
      check(outside == 0, name + ": component " + std::to_string(c) + " changes only within the filter lengths (" +
                              std::to_string(outside) + " outside)");
    }
    // Dual tree: the luma result does not depend on the chroma structure and
    // the chroma result not on the luma one (same QpY map).
    {
      std::mt19937 rng2{uint32_t(5000 + seed)};
      Layout other = random_mtt_layout(rng2, w, h, log2_ctu, nullptr, nullptr);
      Layout mixed = lay;  // luma of lay, chroma of other
      mixed.ce = other.ce; mixed.cw = other.cw; mixed.ch = other.ch;
      Plane m1[3];
      copy_planes(before, m1);
      DeblockParams pm = mixed.params(log2_ctu);
      pm.chroma_qp_offset[0] = p.chroma_qp_offset[0];
      pm.chroma_qp_offset[1] = p.chroma_qp_offset[1];
      deblock_picture(m1, pm);
      check(m1[0].data == after[0].data, name + ": luma independent of the chroma block structure");
      Layout mixed2 = other;  // luma of other, chroma and QPs of lay
      mixed2.ce = lay.ce; mixed2.cw = lay.cw; mixed2.ch = lay.ch; mixed2.qp = lay.qp;
      Plane m2[3];
      copy_planes(before, m2);
      DeblockParams pm2 = mixed2.params(log2_ctu);
      pm2.chroma_qp_offset[0] = p.chroma_qp_offset[0];
      pm2.chroma_qp_offset[1] = p.chroma_qp_offset[1];
      deblock_picture(m2, pm2);
      check(m2[1].data == after[1].data && m2[2].data == after[2].data,
            name + ": chroma independent of the luma block structure");
    }
    // Per-component chroma QP: Cb with offset a, Cr with offset b equals
    // the runs with (a, a) and (b, b).
    {
      const int a = p.chroma_qp_offset[0], b = p.chroma_qp_offset[1];
      Plane ra[3], rb[3];
      copy_planes(before, ra);
      copy_planes(before, rb);
      DeblockParams pa = p, pb = p;
      pa.chroma_qp_offset[1] = a;
      pb.chroma_qp_offset[0] = b;
      deblock_picture(ra, pa);
      deblock_picture(rb, pb);
      check(ra[1].data == after[1].data && rb[2].data == after[2].data, name + ": Cb / Cr QP offsets apply per component");
    }
  }
}

// ---------------------------------------------------------------------------
// (3) No edge bits: nothing changes, whatever the sizes and the content.

void test_no_edges_no_change() {
  for (int seed = 1; seed <= 6; seed++) {
    std::mt19937 rng{uint32_t(77 + seed)};
    const int w = 8 * (4 + int(rng() % 20)), h = 8 * (4 + int(rng() % 20));
    std::vector<std::array<int, 4>> lb, cb;
    Layout lay = random_mtt_layout(rng, w, h, 6, &lb, &cb);
    std::fill(lay.le.begin(), lay.le.end(), 0);
    std::fill(lay.ce.begin(), lay.ce.end(), 0);
    Plane before[3], after[3];
    blocky_from_blocks(rng, w, h, lb, cb, before);
    copy_planes(before, after);
    deblock_picture(after, lay.params(6));
    check(hash_planes(before) == hash_planes(after), "no edge bits, seed " + std::to_string(seed) + ": no change");
  }
  // Edge bits on the picture boundary only (x = 0 / y = 0 units): no change.
  {
    const int w = 64, h = 64;
    Layout lay(w, h, 40);
    for (int y = 0; y < h; y += 32)
      for (int x = 0; x < w; x += 32) lay.luma(x, y, 32, 32, x == 0, y == 0);
    for (int y = 0; y < h / 2; y += 16)
      for (int x = 0; x < w / 2; x += 16) lay.chroma(x, y, 16, 16, x == 0, y == 0);
    std::mt19937 rng{9};
    std::vector<std::array<int, 4>> lb{{0, 0, 32, 32}, {32, 0, 32, 32}, {0, 32, 32, 32}, {32, 32, 32, 32}};
    std::vector<std::array<int, 4>> cb;
    for (int y = 0; y < 32; y += 16)
      for (int x = 0; x < 32; x += 16) cb.push_back({x, y, 16, 16});
    Plane before[3], after[3];
    blocky_from_blocks(rng, w, h, lb, cb, before);
    copy_planes(before, after);
    deblock_picture(after, lay.params(6));
    check(hash_planes(before) == hash_planes(after), "edge bits on the picture boundary only: no change");
    // The same layout with its inner edges marked does change the picture.
    for (int y = 0; y < h; y += 32)
      for (int x = 0; x < w; x += 32) lay.luma(x, y, 32, 32);
    copy_planes(before, after);
    deblock_picture(after, lay.params(6));
    check(hash_planes(before) != hash_planes(after), "inner edges marked: the picture changes");
  }
}

// QpC through a ChromaQpTable (8.8.3.6.x): averaged QpY plus cQpPicOffset.
void test_chroma_qp() {
  DeblockParams p;
  p.bit_depth = 10;
  check(deblock_chroma_qp(p, 1, 30, 33) == 32, "QpC identity: (30 + 33 + 1) >> 1");
  p.chroma_qp_offset[1] = -5;
  check(deblock_chroma_qp(p, 2, 30, 30) == 25, "QpC Cr offset");
  check(deblock_chroma_qp(p, 1, 30, 30) == 30, "QpC Cb without offset");
  std::vector<int> table(64 + 12);
  for (int i = 0; i < 76; i++) table[size_t(i)] = std::min(i - 12, 40);  // a saturating table
  p.chroma_qp_table[0] = table.data();
  check(deblock_chroma_qp(p, 1, 50, 52) == 40, "QpC through the table");
  check(deblock_chroma_qp(p, 1, -12, -12) == -12, "QpC at -QpBdOffset");
  p.chroma_qp_offset[0] = 12;
  check(deblock_chroma_qp(p, 1, 60, 62) == 40, "qPi clipped to 63 before the table");
}

// The thresholds of an edge come from the average of the QpY of its two
// sides (8.8.3.6.2 / 8.8.3.6.3): QpY 30 | 44 filters like 37 | 37.
void test_qp_average_across_edge() {
  const int w = 128, h = 64;
  auto run = [&](int qp_p, int qp_q, Plane out[3]) {
    Layout lay(w, h, 0);
    lay.luma(0, 0, 64, 64, false, false);
    lay.luma(64, 0, 64, 64, true, false);
    lay.chroma(0, 0, 32, 32, false, false);
    lay.chroma(32, 0, 32, 32, true, false);
    for (int uy = 0; uy < h / 4; uy++)
      for (int ux = 0; ux < w / 4; ux++) lay.qp[size_t(uy) * lay.stride + ux] = int8_t(ux < 16 ? qp_p : qp_q);
    // Steps of 0..127 across the edge, changing every 2 lines, so that
    // decisions and clipping depend on beta and tC.
    std::mt19937 rng{4242};
    for (int comp = 0; comp < 3; comp++) {
      const int pw = comp ? w / 2 : w, ph = comp ? h / 2 : h;
      out[comp].allocate(pw, ph);
      for (int y = 0; y < ph; y++) {
        const int stepv = (y / 2 * 37 + comp * 11) % 128;
        for (int x = 0; x < pw; x++) out[comp].at(x, y) = Pel(400 + (x >= pw / 2 ? stepv : 0) + int(rng() % 4));
      }
    }
    deblock_picture(out, lay.params(7));
  };
  Plane a[3], b[3], c[3], d[3];
  run(30, 44, a);
  run(37, 37, b);
  run(30, 30, c);
  run(44, 44, d);
  check(hash_planes(a) == hash_planes(b), "QpY 30 | 44 filters like 37 | 37");
  for (int comp = 0; comp < 3; comp++)
    check(a[comp].data != c[comp].data && a[comp].data != d[comp].data,
          "QpY 30 | 44 filters unlike 30 | 30 and 44 | 44, component " + std::to_string(comp));
}

// deblock_choose_offsets: per component the pair of the range with the least
// SSE after deblocking (brute force over every pair), its SSE as reported;
// range 0 gives zeros; out-of-range arguments are refused.
uint64_t plane_sse(const Plane &a, const Plane &b) {
  uint64_t s = 0;
  for (size_t i = 0; i < a.data.size(); i++) {
    const int64_t d = int64_t(a.data[i]) - int64_t(b.data[i]);
    s += uint64_t(d * d);
  }
  return s;
}

void test_choose_offsets() {
  int moved[3] = {0, 0, 0};
  for (int seed = 1; seed <= 6; seed++) {
    std::mt19937 rng{uint32_t(7000 + seed)};
    const int log2_ctu = 5 + seed % 3;
    const int w = 8 * (8 + int(rng() % 12)), h = 8 * (8 + int(rng() % 10));
    std::vector<std::array<int, 4>> lb, cb;
    Layout lay = random_mtt_layout(rng, w, h, log2_ctu, &lb, &cb);
    Plane rec[3], org[3];
    blocky_from_blocks(rng, w, h, lb, cb, rec);
    for (int c = 0; c < 3; c++) {  // the source: the ramp without the block offsets and noise
      const int pw = c ? w / 2 : w, ph = c ? h / 2 : h;
      org[c].allocate(pw, ph);
      for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) org[c].at(x, y) = Pel(300 + c * 50 + (x + 2 * y) / 3);
    }
    const DeblockParams p = lay.params(log2_ctu);
    const std::string name = "choose offsets seed " + std::to_string(seed);
    const DeblockOffsets o = deblock_choose_offsets(rec, org, p, 3);
    uint64_t best[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
    for (int b = -3; b <= 3; b++)
      for (int t = -3; t <= 3; t++) {
        Plane out[3];
        copy_planes(rec, out);
        DeblockParams q = p;
        q.beta_offset_div2 = b;
        q.tc_offset_div2 = t;
        for (int c = 0; c < 2; c++) { q.chroma_beta_offset_div2[c] = b; q.chroma_tc_offset_div2[c] = t; }
        deblock_picture(out, q);
        for (int c = 0; c < 3; c++) {
          const uint64_t e = plane_sse(out[c], org[c]);
          best[c] = std::min(best[c], e);
          if (b == o.beta_div2[c] && t == o.tc_div2[c])
            check(e == o.sse[c], name + ": reported SSE of component " + std::to_string(c));
        }
      }
    for (int c = 0; c < 3; c++) {
      check(o.sse[c] == best[c], name + ": least SSE of component " + std::to_string(c));
      moved[c] += o.beta_div2[c] != 0 || o.tc_div2[c] != 0;
    }
    // The offsets of each component apply to it alone.
    {
      Plane out[3];
      copy_planes(rec, out);
      DeblockParams q = p;
      deblock_set_offsets(q, o);
      deblock_picture(out, q);
      for (int c = 0; c < 3; c++) check(plane_sse(out[c], org[c]) == o.sse[c], name + ": mixed offsets, component " + std::to_string(c));
    }
    const DeblockOffsets z = deblock_choose_offsets(rec, org, p, 0);
    for (int c = 0; c < 3; c++) check(z.beta_div2[c] == 0 && z.tc_div2[c] == 0, name + ": range 0");
  }
  // Blocks of a smooth ramp: stronger filtering than offsets 0 pays somewhere.
  for (int c = 0; c < 3; c++) check(moved[c] > 0, "choose offsets: component " + std::to_string(c) + " moved off 0");
  bool threw = false;
  try {
    Plane a[3];
    for (auto &pl : a) pl.allocate(8, 8);
    deblock_choose_offsets(a, a, DeblockParams(), 7);
  } catch (const std::invalid_argument &) {
    threw = true;
  }
  check(threw, "choose offsets: range 7 refused");
}

}  // namespace

// ---------------------------------------------------------------------------
// (5) deblock_units.

void test_deblock_units() {
  for (int seed = 1; seed <= 12; seed++) {
    std::mt19937 rng{uint32_t(7000 + seed)};
    const RandomPicture rp = random_picture(rng, seed);
    const Plane *before = rp.planes;
    Plane a[3], b[3];
    const DeblockParams p = rp.lay.params(rp.log2_ctu);
    const std::string name = "deblock_units seed " + std::to_string(seed);
    copy_planes(before, a);
    copy_planes(before, b);
    deblock_picture(a, p);
    deblock_units(b, p, 0, 0, rp.w / 4, rp.h / 4, true, true);
    check(hash_planes(a) == hash_planes(b), name + ": the whole range is deblock_picture");
    // Blocks of each tree, a few per picture (chroma blocks in chroma samples).
    int changed = 0;
    for (int k = 0; k < 6; k++) {
      const bool chroma = k & 1;
      const std::vector<std::array<int, 4>> &blocks = chroma ? rp.cb : rp.lb;
      const std::array<int, 4> bl = blocks[rng() % blocks.size()];
      const int s = chroma ? 2 : 1;  // to luma samples
      const int ux0 = bl[0] * s / 4, uy0 = bl[1] * s / 4, ux1 = (bl[0] + bl[2]) * s / 4, uy1 = (bl[1] + bl[3]) * s / 4;
      // Reference: the layout with the edge bits of that block (that tree) only.
      Layout only = rp.lay;
      for (int uy = 0; uy < rp.h / 4; uy++)
        for (int ux = 0; ux < rp.w / 4; ux++) {
          const size_t i = size_t(uy) * rp.lay.stride + ux;
          const bool in = ux >= ux0 && ux < ux1 && uy >= uy0 && uy < uy1;
          if (!in || chroma) only.le[i] = 0;
          if (!in || !chroma) only.ce[i] = 0;
        }
      copy_planes(before, a);
      copy_planes(before, b);
      deblock_picture(a, only.params(rp.log2_ctu));
      deblock_units(b, p, ux0, uy0, ux1, uy1, !chroma, chroma);
      const std::string bn = name + (chroma ? " chroma" : " luma") + " block " + std::to_string(bl[0]) + "," +
                             std::to_string(bl[1]) + " " + std::to_string(bl[2]) + "x" + std::to_string(bl[3]);
      check(hash_planes(a) == hash_planes(b), bn + ": equals the picture with only its edges");
      changed += hash_planes(b) != hash_planes(before);
      check(chroma ? b[0].data == before[0].data : (b[1].data == before[1].data && b[2].data == before[2].data),
            bn + ": the other tree's components untouched");
    }
    check(changed > 0, name + ": some block's edges change the picture");
  }
}

int main() {
  test_square_layouts_match_former_filter();
  test_luma_filter_lengths();
  test_chroma_filter_lengths();
  test_random_mtt_layouts();
  test_no_edges_no_change();
  test_chroma_qp();
  test_qp_average_across_edge();
  test_choose_offsets();
  test_deblock_units();
  if (test_support::g_failures) {
    std::printf("%d failure(s)\n", test_support::g_failures);
    return 1;
  }
  std::printf("test_deblock_rect: all passed\n");
  return 0;
}
