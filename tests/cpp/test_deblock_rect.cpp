// Step 1: hashes of the square-block deblocking output of the old filter
// (kept as reference values for the rectangular rewrite).
#include <cstdio>
#include <random>
#include <vector>

#include "deblocking.h"

using namespace pyvtm;

namespace {

uint64_t fnv1a(uint64_t h, const Plane &p) {
  for (int y = 0; y < p.height; y++)
    for (int x = 0; x < p.width; x++) {
      const uint16_t v = uint16_t(p.at(x, y));
      h = (h ^ (v & 0xff)) * 1099511628211ull;
      h = (h ^ (v >> 8)) * 1099511628211ull;
    }
  return h;
}

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

struct Case {
  int w, h, log2_ctu, qp_y, qp_c, bit_depth, beta_off, tc_off, step, seed;
};

const Case kCases[] = {
    {64, 64, 6, 32, 32, 10, 0, 0, 12, 1},     {128, 96, 7, 37, 35, 10, 0, 0, 20, 2},
    {136, 72, 6, 27, 27, 10, 1, -1, 8, 3},    {200, 128, 7, 42, 39, 10, -2, 2, 30, 4},
    {96, 136, 5, 22, 22, 8, 0, 0, 10, 5},     {256, 128, 7, 45, 41, 8, 3, 3, 6, 6},
};

uint64_t run_case_old(const Case &cs) {
  std::mt19937 rng{uint32_t(cs.seed)};
  const int stride = cs.w / 4;
  std::vector<uint8_t> lmap(size_t(stride) * (cs.h / 4)), cmap(lmap.size());
  const int ctu = 1 << cs.log2_ctu;
  square_layout(rng, cs.w, cs.h, ctu, 2, 6, 2, stride, lmap);
  square_layout(rng, cs.w / 2, cs.h / 2, ctu / 2, 1, 5, 1, stride, cmap);
  Plane planes[3];
  blocky_planes(rng, cs.w, cs.h, cs.bit_depth, lmap, cmap, stride, cs.step, planes);
  DeblockParams p;
  p.width = cs.w;
  p.height = cs.h;
  p.log2_ctu = cs.log2_ctu;
  p.qp_y = cs.qp_y;
  p.qp_c = cs.qp_c;
  p.bit_depth = cs.bit_depth;
  p.beta_offset_div2 = cs.beta_off;
  p.tc_offset_div2 = cs.tc_off;
  p.map_stride = stride;
  p.luma_tb_log2 = lmap.data();
  p.chroma_tb_log2 = cmap.data();
  uint64_t before = 1469598103934665603ull;
  for (int c = 0; c < 3; c++) before = fnv1a(before, planes[c]);
  deblock_picture(planes, p);
  uint64_t hsh = 1469598103934665603ull;
  for (int c = 0; c < 3; c++) hsh = fnv1a(hsh, planes[c]);
  std::printf("before %016llx\n", (unsigned long long)before);
  return hsh;
}

}  // namespace

int main() {
  for (const Case &cs : kCases) std::printf("0x%016llxull,\n", (unsigned long long)run_case_old(cs));
  return 0;
}
