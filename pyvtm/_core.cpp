// pybind11 bindings: the Python extension module pyvtm._core.
//
//   encode_picture(y, cb, cr, width, height, *, qp=32, max_cu_log2=7,
//                  min_cu_log2=2, intra_rd_candidates=0, rdo_split=True,
//                  rdoq=True, deblocking=True, colour_primaries=1,
//                  transfer_characteristics=13, matrix_coeffs=5,
//                  full_range=True) -> dict
//
// y is a (height, width) uint16 array, cb/cr are ((height+1)//2, (width+1)//2)
// uint16 arrays, 10-bit samples (0..1023). The keyword arguments are the
// fields of pyvtm::EncoderConfig (colour_* / matrix_coeffs / full_range are
// the fields of EncoderConfig::colour); their defaults are read from a
// default-constructed EncoderConfig. The result dict has keys
//   "bitstream" (bytes, Annex B), "y", "cb", "cr" (uint16 recon planes, the
//   decoder output size), "width", "height" (recon size), "seconds".
// The GIL is released while encoding. std::invalid_argument -> ValueError.
// Tool hooks come from the patches/ layer (make_default_hooks(): all off).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <tuple>
#include <vector>
#include <stdexcept>
#include <string>

#include "api.h"
#include "codec_internal.h"
#include "hooks_off.h"
#include "cnn_hooks.h"
#include "torch_runtime.h"

namespace py = pybind11;

namespace {

using Plane = py::array_t<uint16_t, py::array::c_style>;

void copy_plane(const Plane &src, int w, int h, std::vector<uint16_t> &dst, const char *name) {
  if (src.ndim() != 2 || src.shape(0) != h || src.shape(1) != w) {
    throw std::invalid_argument(std::string(name) + " plane must have shape (" + std::to_string(h) +
                                ", " + std::to_string(w) + ")");
  }
  const size_t n = size_t(w) * size_t(h);
  const uint16_t *p = src.data();
  for (size_t i = 0; i < n; ++i) {
    if (p[i] > 1023) throw std::invalid_argument(std::string(name) + " plane has samples > 1023");
  }
  dst.assign(p, p + n);
}

Plane to_array(const std::vector<uint16_t> &v, int w, int h) {
  if (v.size() != size_t(w) * size_t(h)) throw std::runtime_error("encoder returned a plane of unexpected size");
  Plane out({py::ssize_t(h), py::ssize_t(w)});
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(uint16_t));
  return out;
}

py::dict encode_picture(const Plane &y, const Plane &cb, const Plane &cr, int width, int height, int qp,
                        int max_cu_log2, int min_cu_log2, int intra_rd_candidates, bool rdo_split,
                        bool rdoq, bool deblocking, bool deblocking_offsets, int deblock_aware, bool sao, bool alf, bool ccalf, int chroma_qp_offset, int preset, int split_search, bool mtt, bool dual_tree,
                        bool cclm, bool mrl, bool mip, int dep_quant, bool sign_hiding, bool mts, bool lfnst, bool transform_skip,
                        bool bdpcm, bool joint_cbcr, int chroma_qp_table, int isp, int lmcs, int colour_primaries,
                        int transfer_characteristics, int matrix_coeffs, bool full_range,
                        const std::string &cnnif_model, const std::string &cnnmc_model) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("width and height must be positive");
  pyvtm::Picture pic;
  pic.width = width;
  pic.height = height;
  copy_plane(y, width, height, pic.plane[0], "Y");
  copy_plane(cb, pic.chroma_width(), pic.chroma_height(), pic.plane[1], "Cb");
  copy_plane(cr, pic.chroma_width(), pic.chroma_height(), pic.plane[2], "Cr");

  pyvtm::EncoderConfig cfg;
  cfg.qp = qp;
  cfg.max_cu_log2 = max_cu_log2;
  cfg.min_cu_log2 = min_cu_log2;
  cfg.intra_rd_candidates = intra_rd_candidates;
  cfg.rdo_split = rdo_split;
  cfg.rdoq = rdoq;
  cfg.deblocking = deblocking;
  cfg.deblocking_offsets = deblocking_offsets;
  cfg.deblock_aware = deblock_aware;
  cfg.sao = sao;
  cfg.alf = alf;
  cfg.ccalf = ccalf;
  cfg.chroma_qp_offset = chroma_qp_offset;
  cfg.preset = preset;
  cfg.split_search = split_search;
  cfg.mtt = mtt;
  cfg.dual_tree = dual_tree;
  cfg.cclm = cclm;
  cfg.mrl = mrl;
  cfg.mip = mip;
  cfg.dep_quant = dep_quant;
  cfg.sign_hiding = sign_hiding;
  cfg.mts = mts;
  cfg.lfnst = lfnst;
  cfg.transform_skip = transform_skip;
  cfg.bdpcm = bdpcm;
  cfg.joint_cbcr = joint_cbcr;
  cfg.isp = isp;
  cfg.lmcs = lmcs;
  cfg.chroma_qp_table = chroma_qp_table;
  cfg.colour.colour_primaries = colour_primaries;
  cfg.colour.transfer_characteristics = transfer_characteristics;
  cfg.colour.matrix_coeffs = matrix_coeffs;
  cfg.colour.full_range = full_range;

  // CNN tools: model files -> hooks (std::invalid_argument -> ValueError).
  pyvtm::Hooks hooks = pyvtm::make_default_hooks();
  std::unique_ptr<pyvtm::InLoopFilterHook> cnnif;
  std::unique_ptr<pyvtm::MpmHook> cnnmc;
  if (!cnnif_model.empty()) hooks.in_loop_filter = (cnnif = pyvtm::make_cnnif_hook(cnnif_model)).get();
  if (!cnnmc_model.empty()) hooks.mpm = (cnnmc = pyvtm::make_cnnmc_hook(cnnmc_model)).get();
  pyvtm::EncodeResult res;
  {
    py::gil_scoped_release release;
    res = pyvtm::encode_picture(pic, cfg, hooks);
  }

  const pyvtm::Picture &rec = res.recon;
  py::dict out;
  out["bitstream"] = py::bytes(reinterpret_cast<const char *>(res.bitstream.data()), res.bitstream.size());
  out["y"] = to_array(rec.plane[0], rec.width, rec.height);
  out["cb"] = to_array(rec.plane[1], rec.chroma_width(), rec.chroma_height());
  out["cr"] = to_array(rec.plane[2], rec.chroma_width(), rec.chroma_height());
  out["width"] = rec.width;
  out["height"] = rec.height;
  out["seconds"] = res.seconds;
  py::array_t<uint8_t> modes({py::ssize_t(res.modes_height), py::ssize_t(res.modes_width)});
  if (!res.luma_modes.empty()) std::memcpy(modes.mutable_data(), res.luma_modes.data(), res.luma_modes.size());
  out["modes"] = modes;  // IntraPredModeY per 4x4 luma unit of the coded picture
  py::array_t<uint8_t> cu_log2({py::ssize_t(res.modes_height), py::ssize_t(res.modes_width)});
  if (!res.cu_log2.empty()) std::memcpy(cu_log2.mutable_data(), res.cu_log2.data(), res.cu_log2.size());
  out["cu_log2"] = cu_log2;  // (log2 w + log2 h) / 2 of the luma CU per 4x4 unit
  out["cnnif_model_id"] = cnnif ? cnnif->model_id() : std::string();
  out["cnnmc_model_id"] = cnnmc ? cnnmc->model_id() : std::string();
  return out;
}

// decode_bitstream(data: bytes) -> dict: the decoder (cpp/decoder.cpp).
// pyvtm::DecodeError -> ValueError. Keys: "y", "cb", "cr" (uint16 planes of
// the cropped output picture), "width", "height", "coded_width",
// "coded_height", "slice_qp", "colour" ((primaries, transfer, matrix,
// full_range)), "seconds".
py::dict decode_bitstream(const py::bytes &data, bool probe_only, const std::string &cnnif_model,
                          const std::string &cnnmc_model) {
  const std::string buf = data;  // copy: the GIL is released below
  pyvtm::Hooks hooks;
  std::unique_ptr<pyvtm::InLoopFilterHook> cnnif;
  std::unique_ptr<pyvtm::MpmHook> cnnmc;
  if (!cnnif_model.empty()) hooks.in_loop_filter = (cnnif = pyvtm::make_cnnif_hook(cnnif_model)).get();
  if (!cnnmc_model.empty()) hooks.mpm = (cnnmc = pyvtm::make_cnnmc_hook(cnnmc_model)).get();
  pyvtm::DecodeOptions opt;
  opt.probe_only = probe_only;
  pyvtm::DecodeResult res;
  std::string error;
  {
    py::gil_scoped_release release;
    try {
      res = pyvtm::decode_bitstream(reinterpret_cast<const uint8_t *>(buf.data()), buf.size(), opt, hooks);
    } catch (const pyvtm::DecodeError &e) {
      error = e.what();
    }
  }
  if (!error.empty()) throw py::value_error("cannot decode VVC bitstream: " + error);
  const pyvtm::Picture &p = res.picture;
  py::dict out;
  out["y"] = to_array(p.plane[0], p.width, p.height);
  out["cb"] = to_array(p.plane[1], p.chroma_width(), p.chroma_height());
  out["cr"] = to_array(p.plane[2], p.chroma_width(), p.chroma_height());
  out["width"] = p.width;
  out["height"] = p.height;
  out["coded_width"] = res.coded_width;
  out["coded_height"] = res.coded_height;
  out["slice_qp"] = res.slice_qp;
  {
    const pyvtm::SyntaxCounts &c = res.syntax;
    py::dict syn;
    syn["coding_units"] = c.coding_units;
    syn["non_square_cus"] = c.non_square_cus;
    syn["luma_cus_4x4"] = c.luma_cus_4x4;
    syn["chroma_tree_cus"] = c.chroma_tree_cus;
    syn["local_dual_tree_cus"] = c.local_dual_tree_cus;
    static const char *kSplit[6] = {"none", "tt_hor", "bt_hor", "tt_ver", "bt_ver", "qt"};
    py::dict sp;
    for (int i = 0; i < 6; i++) sp[kSplit[i]] = c.splits[i];
    syn["splits"] = sp;
    syn["cclm"] = py::make_tuple(c.cclm[0], c.cclm[1], c.cclm[2]);
    syn["transform_skip"] = py::make_tuple(c.transform_skip[0], c.transform_skip[1], c.transform_skip[2]);
    syn["bdpcm"] = py::make_tuple(c.bdpcm[0], c.bdpcm[1]);
    syn["mrl"] = py::make_tuple(c.mrl[0], c.mrl[1]);  // CUs with intra_luma_ref_idx 1, 2
    syn["mip"] = c.mip;  // luma CUs with intra_mip_flag
    syn["mip_transposed"] = c.mip_transposed;  // of those, with intra_mip_transposed_flag
    syn["lmcs"] = c.lmcs;  // slices with sh_lmcs_used_flag
    syn["lmcs_chroma_scaling"] = c.lmcs_chroma_scaling;  // of those, with ph_chroma_residual_scale_flag
    // CTBs per SaoTypeIdx (not applied, band, edge), and merged CTBs.
    syn["sao_luma"] = py::make_tuple(c.sao_luma[0], c.sao_luma[1], c.sao_luma[2]);
    syn["sao_chroma"] = py::make_tuple(c.sao_chroma[0], c.sao_chroma[1], c.sao_chroma[2]);
    syn["sao_merge"] = c.sao_merge;
    syn["joint_cbcr"] = py::make_tuple(c.joint_cbcr[0], c.joint_cbcr[1], c.joint_cbcr[2]);
    syn["isp"] = py::make_tuple(c.isp[0], c.isp[1]);
    syn["isp_narrow"] = c.isp_narrow;  // of those, with 1- or 2-sample-wide / -tall sub-partitions
    syn["dep_quant"] = c.dep_quant;
    syn["sign_hiding"] = c.sign_hiding;
    syn["hidden_signs"] = c.hidden_signs;
    syn["lfnst"] = py::make_tuple(c.lfnst[0], c.lfnst[1]);
    syn["lfnst_chroma"] = c.lfnst_chroma;
    syn["mts"] = py::make_tuple(c.mts[0], c.mts[1], c.mts[2], c.mts[3]);
    syn["alf_luma"] = py::make_tuple(c.alf_luma[0], c.alf_luma[1]);  // CTBs: fixed set, APS set
    syn["alf_chroma"] = py::make_tuple(c.alf_chroma[0], c.alf_chroma[1]);  // CTBs: Cb, Cr
    syn["alf_chroma_alt"] = c.alf_chroma_alt;
    syn["ccalf"] = py::make_tuple(c.ccalf[0], c.ccalf[1]);  // CTBs: Cb, Cr
    // Cb + Cr CTBs per CCALF filter (alf_ctb_cc_*_idc 1..4).
    syn["ccalf_filter"] = py::make_tuple(c.ccalf_filter[0], c.ccalf_filter[1], c.ccalf_filter[2], c.ccalf_filter[3]);
    // ((beta, tc) offset_div2 of Y, Cb, Cr) the slice deblocks with; zeros without deblocking.
    syn["deblocking_offsets"] = py::make_tuple(py::make_tuple(c.deblock_beta_offset_div2[0], c.deblock_tc_offset_div2[0]),
                                               py::make_tuple(c.deblock_beta_offset_div2[1], c.deblock_tc_offset_div2[1]),
                                               py::make_tuple(c.deblock_beta_offset_div2[2], c.deblock_tc_offset_div2[2]));
    out["syntax"] = syn;
  }
  out["colour"] = py::make_tuple(res.colour.colour_primaries, res.colour.transfer_characteristics,
                                 res.colour.matrix_coeffs, res.colour.full_range);
  out["seconds"] = res.seconds;
  out["cnnif_model_id"] = res.cnnif_model_id;
  out["cnnmc_model_id"] = res.cnnmc_model_id;
  out["cnnif_applied"] = res.cnnif_applied;
  return out;
}

// --- CNN tool hooks (patches/cnn_hooks.h), exposed for tests and tools ---
// cnnif_filter(model_path, y, cb, cr, qp) -> (y, cb, cr): the C++ CNNIF hook
//   on one picture (uint16 planes, even size). cnnmc_mpm(model_path, recon
//   (3,128,128) uint16, modes (3,32,32) uint8, available (3,) bool, ctu_x,
//   ctu_y, cus [(x0, y0, log2_w, log2_h), ...]) -> [[6 modes], ...]: begin_ctu
//   then derive_mpm_list per CU. cnn_model_info(path) -> dict. Model errors
//   (std::invalid_argument) -> ValueError.
py::tuple cnnif_filter(const std::string &path, const Plane &y, const Plane &cb, const Plane &cr, int qp) {
  if (y.ndim() != 2) throw std::invalid_argument("Y plane must be 2-D");
  pyvtm::Picture pic;
  pic.width = int(y.shape(1));
  pic.height = int(y.shape(0));
  copy_plane(y, pic.width, pic.height, pic.plane[0], "Y");
  copy_plane(cb, pic.chroma_width(), pic.chroma_height(), pic.plane[1], "Cb");
  copy_plane(cr, pic.chroma_width(), pic.chroma_height(), pic.plane[2], "Cr");
  auto hook = pyvtm::make_cnnif_hook(path);
  {
    py::gil_scoped_release release;
    hook->filter_picture(pic, qp);
  }
  return py::make_tuple(to_array(pic.plane[0], pic.width, pic.height),
                        to_array(pic.plane[1], pic.chroma_width(), pic.chroma_height()),
                        to_array(pic.plane[2], pic.chroma_width(), pic.chroma_height()));
}

py::list cnnmc_mpm(const std::string &path, const py::array_t<uint16_t, py::array::c_style> &recon,
                   const py::array_t<uint8_t, py::array::c_style> &modes,
                   const py::array_t<bool, py::array::c_style> &available, int ctu_x, int ctu_y,
                   const std::vector<std::tuple<int, int, int, int>> &cus) {
  using NB = pyvtm::CtuNeighbourhood;
  if (recon.ndim() != 3 || recon.shape(0) != 3 || recon.shape(1) != NB::kSize || recon.shape(2) != NB::kSize)
    throw std::invalid_argument("recon must have shape (3, 128, 128)");
  if (modes.ndim() != 3 || modes.shape(0) != 3 || modes.shape(1) != NB::kUnits || modes.shape(2) != NB::kUnits)
    throw std::invalid_argument("modes must have shape (3, 32, 32)");
  if (available.ndim() != 1 || available.shape(0) != 3) throw std::invalid_argument("available must have shape (3,)");
  auto nb = std::make_unique<NB>();
  nb->ctu_x = ctu_x;
  nb->ctu_y = ctu_y;
  for (int k = 0; k < 3; k++) {
    nb->available[k] = available.data()[k];
    std::memcpy(nb->recon[k], recon.data() + size_t(k) * NB::kSize * NB::kSize, sizeof(nb->recon[k]));
    std::memcpy(nb->modes[k], modes.data() + size_t(k) * NB::kUnits * NB::kUnits, sizeof(nb->modes[k]));
  }
  auto hook = pyvtm::make_cnnmc_hook(path);
  py::list out;
  hook->begin_ctu(*nb);
  for (const auto &c : cus) {
    int list[6];
    if (!hook->derive_mpm_list(pyvtm::MpmQuery{std::get<0>(c), std::get<1>(c), std::get<2>(c), std::get<3>(c)}, list))
      throw std::runtime_error("CNNMC hook kept the standard list (CU outside the CTU?)");
    py::list l;
    for (int v : list) l.append(v);
    out.append(l);
  }
  return out;
}

// Tests only: the calling thread's encoder test knobs (encode_picture runs
// the encoder on the calling thread).
void set_encoder_test_knobs(int force_mrl) {
  pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
  pyvtm::g_encoder_test_knobs.force_mrl = force_mrl;
}

py::dict cnn_model_info(const std::string &path) {
  const pyvtm::CnnModelInfo i = pyvtm::read_cnn_model_info(path);
  py::dict d;
  d["kind"] = i.kind;
  d["format"] = i.format;
  d["model_id"] = i.model_id;
  d["json"] = i.json;
  return d;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyvtm native core: VVC intra encoder bindings";
  const pyvtm::EncoderConfig d;  // defaults come from the C++ side
  m.def("encode_picture", &encode_picture, py::arg("y"), py::arg("cb"), py::arg("cr"), py::arg("width"),
        py::arg("height"), py::kw_only(), py::arg("qp") = d.qp, py::arg("max_cu_log2") = d.max_cu_log2,
        py::arg("min_cu_log2") = d.min_cu_log2, py::arg("intra_rd_candidates") = d.intra_rd_candidates,
        py::arg("rdo_split") = d.rdo_split, py::arg("rdoq") = d.rdoq, py::arg("deblocking") = d.deblocking,
        py::arg("deblocking_offsets") = d.deblocking_offsets, py::arg("deblock_aware") = d.deblock_aware,
        py::arg("sao") = d.sao,
        py::arg("alf") = d.alf, py::arg("ccalf") = d.ccalf,
        py::arg("chroma_qp_offset") = d.chroma_qp_offset, py::arg("preset") = d.preset,
        py::arg("split_search") = d.split_search, py::arg("mtt") = d.mtt,
        py::arg("dual_tree") = d.dual_tree, py::arg("cclm") = d.cclm, py::arg("mrl") = d.mrl, py::arg("mip") = d.mip, py::arg("dep_quant") = d.dep_quant,
        py::arg("sign_hiding") = d.sign_hiding, py::arg("mts") = d.mts, py::arg("lfnst") = d.lfnst,
        py::arg("transform_skip") = d.transform_skip, py::arg("bdpcm") = d.bdpcm,
        py::arg("joint_cbcr") = d.joint_cbcr, py::arg("chroma_qp_table") = d.chroma_qp_table,
        py::arg("isp") = d.isp, py::arg("lmcs") = d.lmcs, py::arg("colour_primaries") = d.colour.colour_primaries,
        py::arg("transfer_characteristics") = d.colour.transfer_characteristics,
        py::arg("matrix_coeffs") = d.colour.matrix_coeffs, py::arg("full_range") = d.colour.full_range,
        py::arg("cnnif_model") = std::string(), py::arg("cnnmc_model") = std::string(),
        "Encode one 10-bit 4:2:0 picture as a single IDR access unit. Returns a dict with keys "
        "bitstream, y, cb, cr, width, height, seconds.");
  m.def(
      "_set_encoder_test_knobs",
      [](int force_mip) {
        pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
        pyvtm::g_encoder_test_knobs.force_mip = force_mip;
      },
      py::kw_only(), py::arg("force_mip") = 0,
      "Tests only: encoder test knobs of the calling thread (force_mip=1: MIP on every luma CU when mip=True, 2: and "
      "the smallest CUs); "
      "call with no arguments to reset.");
  m.def("decode_bitstream", &decode_bitstream, py::arg("data"), py::kw_only(), py::arg("probe_only") = false,
        py::arg("cnnif_model") = std::string(), py::arg("cnnmc_model") = std::string(),
        "Decode a VVC Annex-B stream holding one IDR picture. Returns a dict with keys y, cb, cr, width, "
        "height, coded_width, coded_height, slice_qp, colour, seconds. Raises ValueError on bad input.");
  m.def("_set_encoder_test_knobs", &set_encoder_test_knobs, py::kw_only(), py::arg("force_mrl") = 0,
        "Tests only: encoder test knobs of the calling thread (cpp/codec_internal.h EncoderTestKnobs); "
        "all 0 restores the encoder's own decisions.");
  m.def("cnnif_filter", &cnnif_filter, py::arg("model_path"), py::arg("y"), py::arg("cb"), py::arg("cr"),
        py::arg("qp"), "Run the C++ CNN in-loop filter hook (patches/cnn_hooks.h) on 10-bit planes.");
  m.def("cnnmc_mpm", &cnnmc_mpm, py::arg("model_path"), py::arg("recon"), py::arg("modes"), py::arg("available"),
        py::arg("ctu_x"), py::arg("ctu_y"), py::arg("cus"),
        "Run the C++ CNNMC hook on one CTU neighbourhood; the 6-entry MPM list of each CU.");
  // Encoder test knobs (codec_internal.h; tests only, not part of the API).
  m.def(
      "_set_encoder_test_knobs", [](int cu_reuse) { pyvtm::g_encoder_test_knobs.cu_reuse = cu_reuse; },
      py::kw_only(), py::arg("cu_reuse"),
      "Tests only: cu_reuse=0 searches every no-split node anew (no reuse of an earlier search of the same block).");
  m.def(
      "_encoder_search_counters",
      [](bool reset) {
        py::dict d;
        d["cu_searches"] = pyvtm::g_encoder_search_counters.cu_searches;
        d["cu_reuses"] = pyvtm::g_encoder_search_counters.cu_reuses;
        if (reset) pyvtm::g_encoder_search_counters = pyvtm::EncoderSearchCounters();
        return d;
      },
      py::arg("reset") = true,
      "Tests only: no-split nodes the calling thread's encodes searched and reused since the last reset.");
  m.def("_set_encoder_test_knobs", [](int force_isp) { pyvtm::g_encoder_test_knobs.force_isp = force_isp; },
        py::arg("force_isp") = 0,
        "Tests only: force_isp=1 codes every luma CU that allows it with ISP (needs isp=True).");
  m.def(
      "_set_encoder_test_knobs",
      [](int force_lmcs_model, int lmcs_test_crs, int lmcs_chroma_scaling, int force_joint_cbcr) {
        pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
        pyvtm::g_encoder_test_knobs.force_lmcs_model = force_lmcs_model;
        pyvtm::g_encoder_test_knobs.lmcs_test_crs = lmcs_test_crs;
        pyvtm::g_encoder_test_knobs.lmcs_chroma_scaling = lmcs_chroma_scaling;
        pyvtm::g_encoder_test_knobs.force_joint_cbcr = force_joint_cbcr;
      },
      py::kw_only(), py::arg("force_lmcs_model"), py::arg("lmcs_test_crs") = 0, py::arg("lmcs_chroma_scaling") = 1,
      py::arg("force_joint_cbcr") = 0,
      "Tests only: force_lmcs_model=d codes with the fixed LMCS model lmcs_test_model(d, lmcs_test_crs) (needs "
      "lmcs=True; 0: the encoder's model); lmcs_chroma_scaling=0 turns chroma residual scaling off; "
      "force_joint_cbcr=1..3 / 4 (cycling) forces joint Cb-Cr residuals where a chroma TB is coded.");
  m.def(
      "_set_encoder_test_knobs",
      [](int mts4_test_bias) {
        pyvtm::g_encoder_test_knobs = pyvtm::EncoderTestKnobs();
        pyvtm::g_encoder_test_knobs.mts4_test_bias = mts4_test_bias;
      },
      py::kw_only(), py::arg("mts4_test_bias"),
      "Tests only: with explicit MTS, mts4_test_bias bits off the rate of mts_idx 4 in the luma mode decision.");
  m.def("cnn_model_info", &cnn_model_info, py::arg("path"), "Metadata of a pyvtm CNN model file (C++ reader).");
  m.def("torch_runtime_version", &pyvtm::torch_runtime_version,
        "Version of the libtorch the extension was built against.");
  m.attr("CONFIG_OPTIONS") = py::make_tuple("max_cu_log2", "min_cu_log2", "intra_rd_candidates", "rdo_split",
                                            "rdoq", "deblocking", "deblocking_offsets", "deblock_aware", "sao", "alf", "ccalf", "chroma_qp_offset", "preset", "split_search", "mtt", "dual_tree",
                                            "cclm", "mrl", "mip", "dep_quant", "sign_hiding", "mts", "lfnst",
                                            "transform_skip", "bdpcm", "joint_cbcr", "chroma_qp_table", "isp", "lmcs",
                                            "colour_primaries", "transfer_characteristics",
                                            "matrix_coeffs", "full_range");
}
