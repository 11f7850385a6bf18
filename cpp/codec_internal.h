// Internal entry points for tests: the encoder's and the decoder's per-CTU
// syntax records (coding_tree.h), so that a test can check
// record == parse(write(record)) field by field.
#pragma once
#include <vector>

#include "api.h"
#include "coding_tree.h"

namespace pyvtm {

// Test knobs of the encoder (C++ tests and the dev harness only; not part of
// the API). Defaults leave the encoder's own decisions.
struct EncoderTestKnobs {
  // With EncoderConfig::joint_cbcr: 1..3 code every chroma TU whose
  // separate coding has a coded TB with that TuCResMode (when its residual
  // quantises to a nonzero level), 4: cycle through 1, 2, 3; 0: RD decision.
  int force_joint_cbcr = 0;
  int joint_cbcr_sign = -1;  // ph_joint_cbcr_sign_flag forced to 0 / 1; -1: the encoder's choice
  // With EncoderConfig::mrl: 1 codes every luma CU where intra_luma_ref_idx
  // is coded (and BDPCM is not chosen) with intra_luma_ref_idx 1 or 2 and an
  // MPM mode, the line and the intra_luma_mpm_idx cycling from CU to CU; 0:
  // RD decision.
  int force_mrl = 0;
  // With EncoderConfig::mip: 1 codes every luma CU with MIP (no BDPCM there),
  // intra_mip_mode / intra_mip_transposed_flag cycling with the position and
  // size (lfnst_idx / mts_idx still by RD); 2: the same and the coding trees
  // split down to the smallest luma CUs (4x4 where allowed); 0: RD decision.
  int force_mip = 0;
  // With EncoderConfig::isp: 1 codes every luma CU that allows ISP with it
  // (the split alternating with the position, the other one or none where
  // the chosen one cannot be coded); 0: RD decision.
  int force_isp = 0;
  // With explicit MTS: this many bits taken off the estimated rate of
  // mts_idx 4 (DCT-VIII both ways, which seldom wins) in the luma mode
  // decision, so that tests see it; 0: plain RD.
  int mts4_test_bias = 0;
  // With EncoderConfig::lmcs: nonzero codes every picture with the fixed
  // model lmcs_test_model(force_lmcs_model, lmcs_test_crs) (odd bins widened
  // by that many codewords, even bins narrowed by half of it) instead of the
  // model from the source; 0: the encoder's model.
  int force_lmcs_model = 0;
  int lmcs_test_crs = 0;
  int lmcs_chroma_scaling = 1;  // 0: ph_chroma_residual_scale_flag = 0 (luma mapping only)
  // 0: every no-split node searched anew (no SearchEffort::cu_reuse), so that
  // tests and measurements can compare.
  int cu_reuse = 1;
};
extern thread_local EncoderTestKnobs g_encoder_test_knobs;

// Counters of the calling thread's encoder searches, for tests: no-split
// nodes searched and nodes that took an earlier search's result
// (SearchEffort::cu_reuse), summed over the encodes since the last reset.
struct EncoderSearchCounters {
  long cu_searches = 0, cu_reuses = 0;
};
extern thread_local EncoderSearchCounters g_encoder_search_counters;

EncodeResult encode_picture_records(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks,
                                    std::vector<CtuRecord> *records);
DecodeResult decode_bitstream_records(const uint8_t *data, size_t size, const DecodeOptions &opt, const Hooks &hooks,
                                      std::vector<CtuRecord> *records);

}  // namespace pyvtm
