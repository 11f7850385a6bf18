// Internal entry points for tests: the encoder's and the decoder's per-CTU
// syntax records (coding_tree.h), so that a test can check
// record == parse(write(record)) field by field.
#pragma once
#include <vector>

#include "api.h"
#include "coding_tree.h"

namespace pyvtm {

EncodeResult encode_picture_records(const Picture &src, const EncoderConfig &cfg, const Hooks &hooks,
                                    std::vector<CtuRecord> *records);
DecodeResult decode_bitstream_records(const uint8_t *data, size_t size, const DecodeOptions &opt, const Hooks &hooks,
                                      std::vector<CtuRecord> *records);

}  // namespace pyvtm
