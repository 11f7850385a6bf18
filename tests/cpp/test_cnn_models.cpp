// The libtorch CNN hooks (patches/cnn_hooks.h): loading the shipped models
// (pyvtm/weights/) and the errors for missing / corrupt / mismatched model
// files. Plain executable: exit code 0 = pass. Reads the models from
// $PYVTM_SOURCE_DIR/pyvtm/weights (set by CTest).
#include "cnn_hooks.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "api.h"

namespace {

int g_failures = 0;

void check(bool ok, const std::string &what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++g_failures;
}

// True when fn throws std::invalid_argument whose message contains `needle`.
bool throws_invalid_argument(const std::function<void()> &fn, const std::string &needle) {
  try {
    fn();
  } catch (const std::invalid_argument &e) {
    const bool ok = std::string(e.what()).find(needle) != std::string::npos;
    if (!ok) std::printf("      message: %s\n", e.what());
    return ok;
  } catch (const std::exception &e) {
    std::printf("      other exception: %s\n", e.what());
    return false;
  }
  return false;
}

std::string weights(const std::string &name) {
  const char *root = std::getenv("PYVTM_SOURCE_DIR");
  return std::string(root ? root : ".") + "/pyvtm/weights/" + name;
}

std::string temp_file(const std::string &tag, const std::string &content) {
  const std::string path = "/tmp/pyvtm_test_" + tag + "_" + std::to_string(::getpid()) + ".pt";
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

}  // namespace

int main() {
  const std::string cnnif_s = weights("cnnif_s.pt"), cnnmc = weights("cnnmc.pt");

  // --- errors ---
  check(throws_invalid_argument([] { pyvtm::make_cnnif_hook("/nonexistent/model.pt"); }, "not found"),
        "missing CNNIF model file -> invalid_argument 'not found'");
  check(throws_invalid_argument([] { pyvtm::make_cnnmc_hook(""); }, "empty"), "empty path -> invalid_argument");
  const std::string garbage = temp_file("garbage", std::string(5000, 'x'));
  check(throws_invalid_argument([&] { pyvtm::make_cnnif_hook(garbage); }, "not a readable TorchScript archive"),
        "corrupt file -> invalid_argument 'not a readable TorchScript archive'");
  {
    std::ifstream in(cnnif_s, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string trunc = temp_file("trunc", bytes.substr(0, bytes.size() / 2));
    check(throws_invalid_argument([&] { pyvtm::make_cnnif_hook(trunc); }, "not a readable TorchScript archive"),
          "truncated model file -> invalid_argument");
    std::remove(trunc.c_str());
  }
  std::remove(garbage.c_str());
  check(throws_invalid_argument([&] { pyvtm::make_cnnif_hook(cnnmc); }, "holds a 'cnnmc' model, expected a 'cnnif'"),
        "CNNMC model given to make_cnnif_hook -> invalid_argument naming both kinds");
  check(throws_invalid_argument([&] { pyvtm::make_cnnmc_hook(cnnif_s); }, "holds a 'cnnif' model, expected a 'cnnmc'"),
        "CNNIF model given to make_cnnmc_hook -> invalid_argument naming both kinds");

  // --- metadata ---
  try {
    const pyvtm::CnnModelInfo info = pyvtm::read_cnn_model_info(cnnif_s);
    check(info.kind == "cnnif" && info.format == "1", "cnnif_s.pt: kind cnnif, format 1");
    check(info.model_id.rfind("cnnif_s-", 0) == 0, "cnnif_s.pt: model id " + info.model_id);
    check(info.json.find("\"qp_range\"") != std::string::npos, "cnnif_s.pt: JSON metadata present");
  } catch (const std::exception &e) {
    check(false, std::string("read_cnn_model_info(cnnif_s.pt) threw: ") + e.what());
  }

  // --- CNNIF hook ---
  try {
    auto hook = pyvtm::make_cnnif_hook(cnnif_s);
    check(!hook->model_id().empty(), "CNNIF hook: model_id " + hook->model_id());
    pyvtm::Picture pic;
    pic.allocate(64, 48);
    for (int c = 0; c < 3; c++)
      for (size_t i = 0; i < pic.plane[c].size(); i++) pic.plane[c][i] = uint16_t((i * (7 + c) + (i / 64) * 29) % 1024);
    pyvtm::Picture again = pic;
    hook->filter_picture(pic, 37);
    hook->filter_picture(again, 37);
    bool in_range = true;
    for (int c = 0; c < 3; c++)
      for (uint16_t v : pic.plane[c]) in_range = in_range && v <= 1023;
    check(in_range, "CNNIF hook: output samples in 0..1023");
    check(pic.plane[0] == again.plane[0] && pic.plane[1] == again.plane[1] && pic.plane[2] == again.plane[2],
          "CNNIF hook: deterministic (same picture twice -> same output)");
    pyvtm::Picture odd;
    odd.allocate(15, 16);
    check(throws_invalid_argument([&] { hook->filter_picture(odd, 37); }, "even picture size"),
          "CNNIF hook: odd picture size -> invalid_argument");
  } catch (const std::exception &e) {
    check(false, std::string("CNNIF hook threw: ") + e.what());
  }

  // --- CNNMC hook ---
  try {
    auto hook = pyvtm::make_cnnmc_hook(cnnmc);
    int list[6] = {0, 1, 50, 18, 46, 54};
    check(!hook->derive_mpm_list(pyvtm::MpmQuery{0, 0, 3, 3}, list), "CNNMC hook: no list before begin_ctu()");
    auto nb = std::make_unique<pyvtm::CtuNeighbourhood>();
    nb->ctu_x = 128;
    nb->ctu_y = 128;
    for (int k = 0; k < 3; k++) {
      nb->available[k] = true;
      for (int i = 0; i < 128 * 128; i++) nb->recon[k][i] = uint16_t((i % 128) * 8);  // vertical stripes
      for (int i = 0; i < 32 * 32; i++) nb->modes[k][i] = 50;
    }
    hook->begin_ctu(*nb);
    bool all_ok = true;
    for (int log2 = 2; log2 <= 7; log2++) {
      int l[6];
      const bool replaced = hook->derive_mpm_list(pyvtm::MpmQuery{128, 128, log2, log2}, l);
      std::set<int> s(l, l + 6);
      all_ok = all_ok && replaced && l[0] == 0 && s.size() == 6 && *s.begin() >= 0 && *s.rbegin() <= 66;
    }
    check(all_ok, "CNNMC hook: lists of 6 distinct modes, planar first, for CU sizes 4..128");
    int l[6];
    check(!hook->derive_mpm_list(pyvtm::MpmQuery{0, 0, 3, 3}, l), "CNNMC hook: CU outside the CTU -> standard list");
    int a[6], b[6];
    hook->derive_mpm_list(pyvtm::MpmQuery{160, 192, 4, 4}, a);
    hook->begin_ctu(*nb);
    hook->derive_mpm_list(pyvtm::MpmQuery{160, 192, 4, 4}, b);
    check(std::equal(a, a + 6, b), "CNNMC hook: deterministic");
  } catch (const std::exception &e) {
    check(false, std::string("CNNMC hook threw: ") + e.what());
  }

  if (g_failures) {
    std::printf("%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("test_cnn_models: all checks passed\n");
  return 0;
}
