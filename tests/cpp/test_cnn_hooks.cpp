// The CNN tool plumbing of the codec core, with deterministic stand-in
// hooks (no libtorch): encoder reconstruction == decoder output for streams
// using the CNN in-loop filter (SEI, per-CTU switches) and the CNN MPM
// predictor (reserved IRAP NAL type + SPS extension); a decoder without the
// hooks refuses a CNNMC stream and reports the CNNIF request; the standard
// part of a CNNIF stream is untouched by the filter. Exit 0 = pass.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "api.h"
#include "hooks.h"
#include "test_support.h"

namespace {

using test_support::check;
using test_support::g_failures;
using test_support::test_picture;

// A 3x3 smoothing "filter": helps on noisy pictures in some CTUs only.
struct SmoothFilter : pyvtm::InLoopFilterHook {
  int calls = 0;
  bool filter_picture(pyvtm::Picture &p, int) override {
    calls++;
    for (int c = 0; c < 3; c++) {
      const int w = c ? p.width / 2 : p.width, h = c ? p.height / 2 : p.height;
      const std::vector<uint16_t> src = p.plane[c];
      for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
          int s = 0;
          for (int j = -1; j <= 1; j++)
            for (int i = -1; i <= 1; i++) s += src[size_t(y + j) * w + x + i];
          p.plane[c][size_t(y) * w + x] = uint16_t((s + 3 * src[size_t(y) * w + x] + 6) / 12);
        }
    }
    return true;
  }
  std::string model_id() const override { return "test-smooth"; }
};

// An MPM "predictor" whose list depends on the whole CTU neighbourhood.
struct NeighbourhoodMpm : pyvtm::MpmHook {
  long long key = 0;
  int ctus = 0;
  void begin_ctu(const pyvtm::CtuNeighbourhood &nb) override {
    ctus++;
    key = nb.ctu_x * 7 + nb.ctu_y * 13;
    for (int k = 0; k < 3; k++) {
      for (int i = 0; i < pyvtm::CtuNeighbourhood::kUnits * pyvtm::CtuNeighbourhood::kUnits; i++) key += nb.modes[k][i];
      for (int i = 0; i < pyvtm::CtuNeighbourhood::kSize * pyvtm::CtuNeighbourhood::kSize; i += 97) key += nb.recon[k][i];
    }
  }
  bool derive_mpm_list(const pyvtm::MpmQuery &q, int m[6]) override {
    m[0] = 0;  // planar stays first (intra_luma_not_planar_flag)
    const int base = int((key + q.x0 / 4 + 3 * (q.y0 / 4) + q.log2_width) % 65);
    for (int i = 1; i < 6; i++) m[i] = 1 + (base + 11 * i) % 66;  // distinct, 1..66
    return true;
  }
  std::string model_id() const override { return "test-mpm"; }
};

}  // namespace

int main() {
  const pyvtm::Picture pic = test_picture(200, 136, 7);
  pyvtm::EncoderConfig cfg;
  cfg.qp = 37;

  // CNNIF: SEI with per-CTU switches.
  {
    SmoothFilter enc_f, dec_f;
    pyvtm::Hooks eh, dh;
    eh.in_loop_filter = &enc_f;
    dh.in_loop_filter = &dec_f;
    const pyvtm::EncodeResult er = pyvtm::encode_picture(pic, cfg, eh);
    const pyvtm::EncodeResult plain = pyvtm::encode_picture(pic, cfg);
    const pyvtm::DecodeResult with = pyvtm::decode_bitstream(er.bitstream.data(), er.bitstream.size(),
                                                             pyvtm::DecodeOptions{}, dh);
    check(test_support::same_picture(with.picture, er.recon), "CNNIF: decoder with the filter == encoder reconstruction");
    check(with.cnnif_model_id == "test-smooth", "CNNIF: model id carried in the SEI");
    check(dec_f.calls == 1, "CNNIF: decoder ran the filter once");
    const pyvtm::DecodeResult without = pyvtm::decode_bitstream(er.bitstream.data(), er.bitstream.size());
    check(test_support::same_picture(without.picture, plain.recon), "CNNIF: decoder without the filter == picture before the filter");
    check(without.cnnif_model_id == "test-smooth" && !without.cnnif_applied,
          "CNNIF: decoder without the filter reports the request");
  }
  // CNNMC: reserved IRAP type + SPS extension; lists from the hook.
  {
    NeighbourhoodMpm enc_m, dec_m;
    pyvtm::Hooks eh, dh;
    eh.mpm = &enc_m;
    dh.mpm = &dec_m;
    const pyvtm::EncodeResult er = pyvtm::encode_picture(pic, cfg, eh);
    const pyvtm::DecodeResult dr = pyvtm::decode_bitstream(er.bitstream.data(), er.bitstream.size(),
                                                           pyvtm::DecodeOptions{}, dh);
    check(test_support::same_picture(dr.picture, er.recon), "CNNMC: decoder with the predictor == encoder reconstruction");
    check(dr.cnnmc_model_id == "test-mpm", "CNNMC: model id carried in the SPS extension");
    check(enc_m.ctus == 4 && dec_m.ctus == 4, "CNNMC: one begin_ctu per CTU on both sides");
    const pyvtm::EncodeResult plain = pyvtm::encode_picture(pic, cfg);
    check(er.bitstream != plain.bitstream, "CNNMC: the predictor changes the bitstream");
    bool refused = false;
    try {
      pyvtm::decode_bitstream(er.bitstream.data(), er.bitstream.size());
    } catch (const pyvtm::DecodeError &e) {
      refused = std::string(e.what()).find("CNNMC") != std::string::npos;
    }
    check(refused, "CNNMC: decoder without the predictor refuses the stream, naming CNNMC");
  }
  if (g_failures) {
    std::printf("%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("test_cnn_hooks: all checks passed\n");
  return 0;
}
