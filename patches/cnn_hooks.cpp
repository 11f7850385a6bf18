// CNN in-loop filter and CNN MPM hooks on top of CnnModel (see cnn_hooks.h).
#include "cnn_hooks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "api.h"
#include "cnn_model.h"

namespace pyvtm {

namespace {

constexpr int kNumModes = 67;
constexpr int kUnits = CtuNeighbourhood::kUnits;  // 32
constexpr int kCtu = CtuNeighbourhood::kSize;     // 128
constexpr int kMaxSample = 1023;

std::string describe(const std::vector<int64_t> &s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); i++) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

// ---------------------------------------------------------------------------
// CNNIF

class CnnInLoopFilter final : public InLoopFilterHook {
 public:
  explicit CnnInLoopFilter(std::unique_ptr<CnnModel> model) : model_(std::move(model)) {}

  bool filter_picture(Picture &pic, int slice_qp) override {
    const int w = pic.width, h = pic.height;
    if (w <= 0 || h <= 0) return false;
    if ((w & 1) || (h & 1))
      throw std::invalid_argument("CNN in-loop filter needs an even picture size, got " + std::to_string(w) + "x" +
                                  std::to_string(h));
    const int cw = w / 2, ch = h / 2;
    if (pic.plane[0].size() != size_t(w) * h || pic.plane[1].size() != size_t(cw) * ch ||
        pic.plane[2].size() != size_t(cw) * ch)
      throw std::invalid_argument("CNN in-loop filter: plane sizes do not match a 4:2:0 picture");
    DeterministicInference scope;
    auto to_tensor = [](const std::vector<uint16_t> &p, int pw, int ph) {
      at::Tensor t = torch::empty({1, 1, ph, pw}, torch::kFloat32);
      float *d = t.data_ptr<float>();
      for (size_t i = 0; i < p.size(); i++) d[i] = float(p[i]);
      return t;
    };
    std::vector<at::Tensor> in = {to_tensor(pic.plane[0], w, h), to_tensor(pic.plane[1], cw, ch),
                                  to_tensor(pic.plane[2], cw, ch),
                                  torch::full({1}, float(slice_qp), torch::kFloat32)};
    std::vector<at::Tensor> out = model_->run(in);
    if (out.size() != 3) throw std::runtime_error("CNNIF model returned " + std::to_string(out.size()) + " outputs, expected 3");
    bool changed = false;
    for (int c = 0; c < 3; c++) {
      const int pw = c ? cw : w, ph = c ? ch : h;
      at::Tensor o = out[c].to(torch::kFloat32).contiguous();
      if (o.numel() != int64_t(pw) * ph)
        throw std::runtime_error("CNNIF model returned plane " + std::to_string(c) + " of shape " +
                                 describe(o.sizes().vec()) + " for a " + std::to_string(pw) + "x" + std::to_string(ph) +
                                 " plane");
      const float *d = o.data_ptr<float>();
      std::vector<uint16_t> &p = pic.plane[c];
      for (size_t i = 0; i < p.size(); i++) {
        const float f = std::floor(d[i] + 0.5f);
        const int v = std::isnan(f) ? int(p[i]) : int(std::min(float(kMaxSample), std::max(0.0f, f)));
        if (v != p[i]) {
          p[i] = uint16_t(v);
          changed = true;
        }
      }
    }
    return changed;
  }

  std::string model_id() const override { return model_->info().model_id; }

 private:
  std::unique_ptr<CnnModel> model_;
};

// ---------------------------------------------------------------------------
// CNNMC

class CnnMpm final : public MpmHook {
 public:
  explicit CnnMpm(std::unique_ptr<CnnModel> model) : model_(std::move(model)), q_(size_t(kNumModes) * kUnits * kUnits) {}

  void begin_ctu(const CtuNeighbourhood &nb) override {
    DeterministicInference scope;
    at::Tensor recon = torch::empty({1, 3, kCtu, kCtu}, torch::kFloat32);
    at::Tensor modes = torch::empty({1, 3, kUnits, kUnits}, torch::kInt64);
    at::Tensor avail = torch::empty({1, 3}, torch::kFloat32);
    float *r = recon.data_ptr<float>();
    int64_t *m = modes.data_ptr<int64_t>();
    float *a = avail.data_ptr<float>();
    for (int k = 0; k < 3; k++) {
      for (int i = 0; i < kCtu * kCtu; i++) r[k * kCtu * kCtu + i] = float(nb.recon[k][i]);
      for (int i = 0; i < kUnits * kUnits; i++) m[k * kUnits * kUnits + i] = int64_t(nb.modes[k][i]);
      a[k] = nb.available[k] ? 1.0f : 0.0f;
    }
    std::vector<at::Tensor> out = model_->run({recon, modes, avail});
    if (out.size() != 1) throw std::runtime_error("CNNMC model returned " + std::to_string(out.size()) + " outputs, expected 1");
    at::Tensor q = out[0].contiguous();
    if (q.scalar_type() != torch::kInt32 || q.numel() != int64_t(q_.size()))
      throw std::runtime_error("CNNMC model returned " + std::string(c10::toString(q.scalar_type())) + " " +
                               describe(q.sizes().vec()) + ", expected int32 (1, 67, 32, 32)");
    std::memcpy(q_.data(), q.data_ptr<int32_t>(), q_.size() * sizeof(int32_t));
    ctu_x_ = nb.ctu_x;
    ctu_y_ = nb.ctu_y;
    have_ctu_ = true;
  }

  bool derive_mpm_list(const MpmQuery &cu, int cand_mode_list[6]) override {
    if (!have_ctu_) return false;
    const int xr = cu.x0 - ctu_x_, yr = cu.y0 - ctu_y_;
    if (xr < 0 || yr < 0 || xr >= kCtu || yr >= kCtu) return false;
    const int ux0 = xr >> 2, uy0 = yr >> 2;
    const int ux1 = std::min(kUnits, ux0 + std::max(1, (1 << cu.log2_width) >> 2));
    const int uy1 = std::min(kUnits, uy0 + std::max(1, (1 << cu.log2_height) >> 2));
    std::array<int64_t, kNumModes> score{};
    for (int m = 0; m < kNumModes; m++) {
      const int32_t *plane = q_.data() + size_t(m) * kUnits * kUnits;
      int64_t s = 0;
      for (int uy = uy0; uy < uy1; uy++)
        for (int ux = ux0; ux < ux1; ux++) s += plane[uy * kUnits + ux];
      score[m] = s;
    }
    std::array<int, kNumModes - 1> order;
    for (int m = 1; m < kNumModes; m++) order[m - 1] = m;
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int a, int b) {
      return score[a] != score[b] ? score[a] > score[b] : a < b;
    });
    cand_mode_list[0] = 0;  // INTRA_PLANAR: entry 0 stays planar
    for (int i = 0; i < 5; i++) cand_mode_list[1 + i] = order[i];
    return true;
  }

  std::string model_id() const override { return model_->info().model_id; }
  void reset() { have_ctu_ = false; }

 private:
  std::unique_ptr<CnnModel> model_;
  std::vector<int32_t> q_;
  int ctu_x_ = 0, ctu_y_ = 0;
  bool have_ctu_ = false;
};

// Runs a model once on a small input to check it has the expected interface.
template <class F>
void smoke_test(const std::string &path, const char *kind, F &&f) {
  try {
    f();
  } catch (const std::exception &e) {
    std::string msg = e.what();
    const size_t n = msg.find('\n');
    if (n != std::string::npos) msg = msg.substr(0, n);
    throw std::invalid_argument("CNN model file '" + path + "' does not run with the " + kind + " interface: " + msg);
  }
}

}  // namespace

std::unique_ptr<InLoopFilterHook> make_cnnif_hook(const std::string &path) {
  auto hook = std::make_unique<CnnInLoopFilter>(load_cnn_model(path, "cnnif"));
  smoke_test(path, "cnnif", [&] {
    Picture p;
    p.allocate(16, 16);
    for (int c = 0; c < 3; c++) std::fill(p.plane[c].begin(), p.plane[c].end(), uint16_t(512));
    hook->filter_picture(p, 32);
  });
  return hook;
}

std::unique_ptr<MpmHook> make_cnnmc_hook(const std::string &path) {
  auto hook = std::make_unique<CnnMpm>(load_cnn_model(path, "cnnmc"));
  smoke_test(path, "cnnmc", [&] {
    auto nb = std::make_unique<CtuNeighbourhood>();
    for (int k = 0; k < 3; k++) {
      std::fill(nb->recon[k], nb->recon[k] + kCtu * kCtu, uint16_t(512));
      std::fill(nb->modes[k], nb->modes[k] + kUnits * kUnits, uint8_t(255));
    }
    hook->begin_ctu(*nb);
    int list[6];
    hook->derive_mpm_list(MpmQuery{0, 0, 3, 3}, list);
  });
  hook->reset();  // forget the smoke-test CTU: real CUs must follow a begin_ctu()
  return hook;
}

}  // namespace pyvtm
