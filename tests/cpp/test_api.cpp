// Unit tests of the public C++ entry point (cpp/api.h): input validation.
// Plain executable: exit code 0 = pass. Registered with CTest by CMakeLists.txt.
#include "api.h"

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

namespace {

int g_failures = 0;

void check(bool ok, const std::string &what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++g_failures;
}

// True when fn throws std::invalid_argument (and nothing else).
bool throws_invalid_argument(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const std::invalid_argument &) {
    return true;
  } catch (...) {
    return false;
  }
  return false;
}

pyvtm::Picture grey_picture(int w, int h) {
  pyvtm::Picture pic;
  pic.allocate(w, h);
  for (auto &plane : pic.plane)
    for (auto &s : plane) s = 512;
  return pic;
}

}  // namespace

int main() {
  using pyvtm::EncoderConfig;

  {
    EncoderConfig cfg;
    cfg.qp = 70;
    const auto pic = grey_picture(16, 16);
    check(throws_invalid_argument([&] { pyvtm::encode_picture(pic, cfg); }),
          "qp=70 throws std::invalid_argument");
  }
  {
    EncoderConfig cfg;
    cfg.qp = -1;
    const auto pic = grey_picture(16, 16);
    check(throws_invalid_argument([&] { pyvtm::encode_picture(pic, cfg); }),
          "qp=-1 throws std::invalid_argument");
  }
  {
    EncoderConfig cfg;
    pyvtm::Picture empty;  // 0x0
    check(throws_invalid_argument([&] { pyvtm::encode_picture(empty, cfg); }),
          "0x0 picture throws std::invalid_argument");
  }
  {
    // Valid odd-sized input: the reconstruction is the decoder output, i.e.
    // the picture with width/height rounded up to even.
    EncoderConfig cfg;
    cfg.qp = 37;
    const auto pic = grey_picture(17, 33);
    const auto res = pyvtm::encode_picture(pic, cfg);
    check(res.recon.width == 18 && res.recon.height == 34, "17x33 -> recon 18x34");
    check(res.recon.plane[0].size() == size_t(18) * 34 &&
              res.recon.plane[1].size() == size_t(9) * 17 &&
              res.recon.plane[2].size() == size_t(9) * 17,
          "recon plane sizes match 4:2:0 layout");
  }

  std::printf("%d failure(s)\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
