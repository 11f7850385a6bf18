#include "tables.h"

#include <mutex>
#include <vector>

namespace pyvtm {

int8_t g_dct64[64][64];

// The distinct magnitudes of transMatrix (8.7.4.5), by the DCT size whose
// odd rows introduce them. Entry t of the cosine argument t*pi/128 (t=1..63)
// is taken from the list of the largest power of two dividing t.
static const uint8_t k_dct_odd64[32] = {91, 90, 90, 90, 88, 87, 86, 84, 83, 81, 79, 77, 73, 71, 69, 65,
                                        62, 59, 56, 52, 48, 44, 41, 37, 33, 28, 24, 20, 15, 11, 7,  2};
static const uint8_t k_dct_odd32[16] = {90, 90, 88, 85, 82, 78, 73, 67, 61, 54, 46, 38, 31, 22, 13, 4};
static const uint8_t k_dct_odd16[8] = {90, 87, 80, 70, 57, 43, 25, 9};
static const uint8_t k_dct_odd8[4] = {89, 75, 50, 18};
static const uint8_t k_dct_odd4[2] = {83, 36};

static int dct_magnitude(int t) {  // t = 1..63
  if (t & 1) return k_dct_odd64[t >> 1];
  if (t & 2) return k_dct_odd32[t >> 2];
  if (t & 4) return k_dct_odd16[t >> 3];
  if (t & 8) return k_dct_odd8[t >> 4];
  if (t & 16) return k_dct_odd4[t >> 5];
  return 64;  // t == 32
}

const int8_t g_intra_cubic_filter[32][4] = {
    {0, 64, 0, 0},    {-1, 63, 2, 0},   {-2, 62, 4, 0},   {-2, 60, 7, -1},  {-2, 58, 10, -2},
    {-3, 57, 12, -2}, {-4, 56, 14, -2}, {-4, 55, 15, -2}, {-4, 54, 16, -2}, {-5, 53, 18, -2},
    {-6, 52, 20, -2}, {-6, 49, 24, -3}, {-6, 46, 28, -4}, {-5, 44, 29, -4}, {-4, 42, 30, -4},
    {-4, 39, 33, -4}, {-4, 36, 36, -4}, {-4, 33, 39, -4}, {-4, 30, 42, -4}, {-4, 29, 44, -5},
    {-4, 28, 46, -6}, {-3, 24, 49, -6}, {-2, 20, 52, -6}, {-2, 18, 53, -5}, {-2, 16, 54, -4},
    {-2, 15, 55, -4}, {-2, 14, 56, -4}, {-2, 12, 57, -3}, {-2, 10, 58, -2}, {-1, 7, 60, -2},
    {0, 4, 62, -2},   {0, 2, 63, -1}};

const int g_intra_pred_angle[17] = {0, 1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23, 26, 29, 32};
const int g_inv_angle[17] = {0, 16384, 8192, 5461, 4096, 2731, 2048, 1638, 1365,
                             1170, 1024, 910, 819, 712, 630, 565, 512};
const int g_intra_hor_ver_dist_thres[7] = {24, 24, 24, 14, 2, 0, 0};

const uint8_t g_last_group_idx[64] = {
    0,  1,  2,  3,  4,  4,  5,  5,  6,  6,  6,  6,  7,  7,  7,  7,  8,  8,  8,  8,  8,  8,
    8,  8,  9,  9,  9,  9,  9,  9,  9,  9,  10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11};
const uint8_t g_last_min_in_group[14] = {0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96};

static std::vector<ScanPos> g_scans[6][6];

// 6.5.3: up-right diagonal scan order array initialisation.
static void build_diag_scan(int log2w, int log2h, std::vector<ScanPos> &out) {
  const int w = 1 << log2w, h = 1 << log2h;
  out.clear();
  out.reserve(size_t(w) * h);
  int x = 0, y = 0;
  bool stop = false;
  while (!stop) {
    while (y >= 0) {
      if (x < w && y < h) out.push_back({uint8_t(x), uint8_t(y)});
      y--;
      x++;
    }
    y = x;
    x = 0;
    if (int(out.size()) >= w * h) stop = true;
  }
}

void init_tables() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int k = 0; k < 64; k++) {
      for (int n = 0; n < 64; n++) {
        if (k == 0) { g_dct64[k][n] = 64; continue; }
        int t = (k * (2 * n + 1)) % 256;  // argument in units of pi/128
        int sign = 1;
        if (t > 128) t = 256 - t;       // cos(2pi - a) = cos(a)
        if (t > 64) { t = 128 - t; sign = -1; }  // cos(pi - a) = -cos(a)
        g_dct64[k][n] = int8_t(sign * (t == 64 ? 0 : dct_magnitude(t)));
      }
    }
    for (int lw = 0; lw < 6; lw++)
      for (int lh = 0; lh < 6; lh++) build_diag_scan(lw, lh, g_scans[lw][lh]);
  });
}

const ScanPos *diag_scan(int log2w, int log2h) { return g_scans[log2w][log2h].data(); }

}  // namespace pyvtm
