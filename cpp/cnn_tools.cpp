#include "cnn_tools.h"

namespace pyvtm {

void build_ctu_neighbourhood(const Pel *luma, int stride, int width, int height, const uint8_t *mode_map,
                             int map_stride, int ctu_x, int ctu_y, int log2_ctu, CtuNeighbourhood &nb) {
  const int size = CtuNeighbourhood::kSize, units = CtuNeighbourhood::kUnits;
  const int ctu = 1 << log2_ctu;
  nb.ctu_x = ctu_x;
  nb.ctu_y = ctu_y;
  const int ox[3] = {ctu_x, ctu_x - ctu, ctu_x - ctu};
  const int oy[3] = {ctu_y - ctu, ctu_y, ctu_y - ctu};
  for (int k = 0; k < 3; k++) {
    nb.available[k] = ox[k] >= 0 && oy[k] >= 0;
    for (int y = 0; y < size; y++)
      for (int x = 0; x < size; x++) {
        const int px = ox[k] + x, py = oy[k] + y;
        const bool in = nb.available[k] && px < width && py < height && x < ctu && y < ctu;
        nb.recon[k][y * size + x] = in ? uint16_t(luma[size_t(py) * stride + px]) : 512;
      }
    for (int y = 0; y < units; y++)
      for (int x = 0; x < units; x++) {
        const int px = ox[k] + 4 * x, py = oy[k] + 4 * y;
        const bool in = nb.available[k] && px < width && py < height && 4 * x < ctu && 4 * y < ctu;
        nb.modes[k][y * units + x] = in ? mode_map[size_t(py >> 2) * map_stride + (px >> 2)] : 255;
      }
  }
}

void apply_cnnif_flags(Plane rec[3], const Plane filtered[3], int log2_ctu, const std::vector<uint8_t> &luma_on,
                       const std::vector<uint8_t> &chroma_on) {
  const int ctu = 1 << log2_ctu;
  const int ctus_x = (rec[0].width + ctu - 1) / ctu;
  for (int c = 0; c < 3; c++) {
    const int s = c ? ctu / 2 : ctu;
    for (int y = 0; y < rec[c].height; y++)
      for (int x = 0; x < rec[c].width; x++) {
        const size_t idx = size_t(y / s) * ctus_x + x / s;
        if ((c ? chroma_on : luma_on)[idx]) rec[c].at(x, y) = filtered[c].at(x, y);
      }
  }
}

}  // namespace pyvtm
