// pyvtm_dec: command-line VVC decoder for the streams pyvtm writes (like a
// reference decoder app). Writes the output picture as raw yuv420p10le and
// prints the MD5 of those bytes.
//
//   pyvtm_dec -b in.266 [-o out.yuv] [--md5 EXPECTED] [-q]
//
// Exit status: 0 decoded (and the md5 matched when --md5 was given),
// 1 the stream could not be decoded, 2 usage / file error, 3 md5 mismatch.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api.h"
#include "md5.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: pyvtm_dec -b BITSTREAM [-o OUT.yuv] [--md5 EXPECTED] [-q]\n"
               "  -b, --bitstream  input VVC Annex-B stream (.266)\n"
               "  -o, --output     write the decoded picture as raw yuv420p10le\n"
               "  --md5            expected md5 of the yuv420p10le output; exit 3 on mismatch\n"
               "  -q, --quiet      print only the md5\n");
}

}  // namespace

int main(int argc, char **argv) {
  std::string in, out, expect;
  bool quiet = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&](std::string &dst) {
      if (i + 1 >= argc) { usage(); std::exit(2); }
      dst = argv[++i];
    };
    if (a == "-b" || a == "--bitstream") value(in);
    else if (a == "-o" || a == "--output") value(out);
    else if (a == "--md5") value(expect);
    else if (a == "-q" || a == "--quiet") quiet = true;
    else if (a == "-h" || a == "--help") { usage(); return 0; }
    else { std::fprintf(stderr, "pyvtm_dec: unknown argument %s\n", a.c_str()); usage(); return 2; }
  }
  if (in.empty()) { usage(); return 2; }
  std::ifstream f(in, std::ios::binary);
  if (!f) { std::fprintf(stderr, "pyvtm_dec: cannot open %s\n", in.c_str()); return 2; }
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  pyvtm::DecodeResult res;
  try {
    res = pyvtm::decode_bitstream(data.data(), data.size());
  } catch (const pyvtm::DecodeError &e) {
    std::fprintf(stderr, "pyvtm_dec: %s: %s\n", in.c_str(), e.what());
    return 1;
  }
  const pyvtm::Picture &p = res.picture;
  // yuv420p10le: Y, Cb, Cr planes of little-endian 16-bit samples.
  std::vector<uint8_t> yuv;
  yuv.reserve(2 * (p.plane[0].size() + p.plane[1].size() + p.plane[2].size()));
  for (int c = 0; c < 3; c++)
    for (uint16_t s : p.plane[c]) { yuv.push_back(uint8_t(s & 0xFF)); yuv.push_back(uint8_t(s >> 8)); }
  pyvtm::Md5 md5;
  md5.update(yuv.data(), yuv.size());
  const std::string digest = md5.hex();
  if (!out.empty()) {
    std::ofstream o(out, std::ios::binary);
    o.write(reinterpret_cast<const char *>(yuv.data()), std::streamsize(yuv.size()));
    if (!o) { std::fprintf(stderr, "pyvtm_dec: cannot write %s\n", out.c_str()); return 2; }
  }
  if (quiet) std::printf("%s\n", digest.c_str());
  else
    std::printf("%s: %dx%d 4:2:0 10-bit (coded %dx%d), QP %d, decoded in %.3f s\nMD5 (yuv420p10le): %s\n",
                in.c_str(), p.width, p.height, res.coded_width, res.coded_height, res.slice_qp, res.seconds,
                digest.c_str());
  if (!expect.empty() && expect != digest) {
    std::fprintf(stderr, "pyvtm_dec: md5 mismatch for %s: got %s, expected %s\n", in.c_str(), digest.c_str(),
                 expect.c_str());
    return 3;
  }
  return 0;
}
