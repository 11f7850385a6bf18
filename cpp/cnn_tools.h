// Codec-side plumbing of the CNN tools shared by encoder and decoder: the
// CTU neighbourhood handed to the CNN MPM predictor and the per-CTU switch
// of the CNN in-loop filter. The networks themselves sit behind cpp/hooks.h.
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"
#include "hooks.h"

namespace pyvtm {

// Fills nb for the CTU at (ctu_x, ctu_y) from the reconstruction before
// in-loop filtering (luma, coded size width x height) and the luma mode map
// on the 4x4 grid (map_stride units per row). CTUs are decoded in raster
// order, so the above, left and above-left CTUs are complete.
void build_ctu_neighbourhood(const Pel *luma, int stride, int width, int height, const uint8_t *mode_map,
                             int map_stride, int ctu_x, int ctu_y, int log2_ctu, CtuNeighbourhood &nb);

// Replaces, CTU by CTU, the samples of rec by those of filtered where the
// CTU's flag is on (luma_on for Y, chroma_on for Cb and Cr).
void apply_cnnif_flags(Plane rec[3], const Plane filtered[3], int log2_ctu, const std::vector<uint8_t> &luma_on,
                       const std::vector<uint8_t> &chroma_on);

}  // namespace pyvtm
