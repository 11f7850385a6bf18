// Sample adaptive offset (SAO): the CTB syntax sao() of 7.3.11.3 with its
// semantics (7.4.12.3), the CTB modification process of 8.8.4, and the
// encoder's per-CTB decision from deblocked-picture statistics.
#pragma once
#include <cstdint>

#include "cabac.h"
#include "common.h"

namespace pyvtm {

enum SaoType : uint8_t { SAO_NOT_APPLIED = 0, SAO_BAND = 1, SAO_EDGE = 2 };

// The SAO parameters of one CTB (after merging: a merged CTB holds the
// left / above CTB's values), per component.
struct SaoCtbParams {
  uint8_t merge_left = 0, merge_up = 0;   // sao_merge_left_flag / sao_merge_up_flag
  uint8_t type_idx[3] = {0, 0, 0};        // SaoTypeIdx (Cr = Cb)
  uint8_t band_position[3] = {0, 0, 0};   // sao_band_position
  uint8_t eo_class[3] = {0, 0, 0};        // SaoEoClass (Cr = Cb)
  int8_t offset_val[3][4] = {{0}};        // SaoOffsetVal[cIdx][rx][ry][1..4]
  // The parameters proper (not the merge flags).
  bool same_params(const SaoCtbParams &o) const;
  bool operator==(const SaoCtbParams &o) const {
    return merge_left == o.merge_left && merge_up == o.merge_up && same_params(o);
  }
};

// Slice-level switches (sh_sao_luma_used_flag / sh_sao_chroma_used_flag).
struct SaoSliceFlags {
  bool luma = false, chroma = false;
  bool any() const { return luma || chroma; }
};

// Largest sao_offset_abs: (1 << (Min(bitDepth, 10) - 5)) - 1.
inline int sao_max_offset_abs(int bit_depth) { return (1 << (std::min(bit_depth, 10) - 5)) - 1; }

// sao( rx, ry ) (7.3.11.3). `left` / `up`: the parameters of the left / above
// CTB when that CTB is available (nullptr otherwise); the reader copies them
// on a merge. The writer checks that merged parameters equal the source's.
void write_sao(CabacWriter &w, ContextSet &cs, const SaoCtbParams &p, const SaoCtbParams *left,
               const SaoCtbParams *up, SaoSliceFlags f, int bit_depth);
void read_sao(CabacReader &r, ContextSet &cs, SaoCtbParams &p, const SaoCtbParams *left, const SaoCtbParams *up,
              SaoSliceFlags f, int bit_depth);

// 8.8.4: applies SAO to the CTB grid of one component. `rec` is the
// deblocked picture (read), `out` the SAO picture (written; same size; may
// start as a copy of rec). params: one per CTB, raster order, ctbs_x per row.
// log2_ctb: CTB size of this component.
void sao_apply_component(const Plane &rec, Plane &out, int comp, const SaoCtbParams *params, int ctbs_x, int ctbs_y,
                         int log2_ctb, int bit_depth);

// Encoder: chooses the SAO parameters of every CTB (merge candidates
// included) by rate-distortion cost from the original and the deblocked
// picture, component by component. lambda[c]: the Lagrangian of component c
// in squared-sample units. slice: which components the slice enables (all
// CTBs' other components are set off). Returns for each component whether
// any CTB uses SAO (the caller may clear the slice flag when none does).
void sao_decide(const Plane org[3], const Plane rec[3], int ctbs_x, int ctbs_y, int log2_ctb, int bit_depth,
                const double lambda[3], SaoSliceFlags slice, SaoCtbParams *params, int slice_qp, bool used[3]);

}  // namespace pyvtm
