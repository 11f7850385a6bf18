// Transform-skip residual syntax: residual_ts_coding() (7.3.11.12) with its
// contexts, transform_skip_flag and the BDPCM flags of the coding unit.
// Writer and reader side by side; derivations in derive.h.
#include <cstdlib>
#include <string>

#include "api.h"
#include "common.h"
#include "contexts.h"
#include "derive.h"
#include "syntax.h"
#include "tables.h"

namespace pyvtm {

void write_transform_skip_flag(CabacWriter &w, ContextSet &cs, int c_idx, int flag) {
  w.encode_bin(cs.m[CTX_TRANSFORM_SKIP_FLAG + (c_idx ? 1 : 0)], flag);
}
int read_transform_skip_flag(CabacReader &r, ContextSet &cs, int c_idx) {
  return r.decode_bin(cs.m[CTX_TRANSFORM_SKIP_FLAG + (c_idx ? 1 : 0)]);
}

void write_intra_bdpcm(CabacWriter &w, ContextSet &cs, int ch, int flag, int dir) {
  w.encode_bin(cs.m[ch ? CTX_INTRA_BDPCM_CHROMA_FLAG : CTX_INTRA_BDPCM_LUMA_FLAG], flag);
  if (flag) w.encode_bin(cs.m[ch ? CTX_INTRA_BDPCM_CHROMA_DIR_FLAG : CTX_INTRA_BDPCM_LUMA_DIR_FLAG], dir);
}
void read_intra_bdpcm(CabacReader &r, ContextSet &cs, int ch, uint8_t &flag, uint8_t &dir) {
  flag = uint8_t(r.decode_bin(cs.m[ch ? CTX_INTRA_BDPCM_CHROMA_FLAG : CTX_INTRA_BDPCM_LUMA_FLAG]));
  dir = flag ? uint8_t(r.decode_bin(cs.m[ch ? CTX_INTRA_BDPCM_CHROMA_DIR_FLAG : CTX_INTRA_BDPCM_LUMA_DIR_FLAG])) : 0;
}

// Rice-Golomb binarisation of abs_remainder (syntax.cpp).
void write_abs_remainder_bins(CabacWriter &w, uint32_t value, int rice);
uint32_t read_abs_remainder_bins(CabacReader &r, int rice);

namespace {
// 4x4 subblocks over the whole TB (no zero-out), forward diagonal scans.
struct TsLayout {
  int w, h, sbw;
  int num_sb;
  const ScanPos *scan_sb, *scan4;
  TsLayout(int lw, int lh)
      : w(1 << lw), h(1 << lh), sbw(1 << (lw - 2)), num_sb(1 << (lw + lh - 4)), scan_sb(diag_scan(lw - 2, lh - 2)),
        scan4(diag_scan(2, 2)) {}
  int rem_ccbs() const { return ((w * h) * 7) >> 2; }  // MaxCcbs
};
}  // namespace

void write_residual_ts_coding(CabacWriter &w, ContextSet &cs, const int32_t *levels, int log2w, int log2h,
                              bool bdpcm) {
  const TsLayout L(log2w, log2h);
  const int tw = L.w;
  // Per position: sig_coeff_flag and CoeffSignLevel as the reader sees them.
  int8_t sig[32 * 32] = {0}, sgn[32 * 32] = {0};
  uint8_t sb_coded[8 * 8] = {0};
  int rem_ccbs = L.rem_ccbs();
  bool infer_sb_cbf = true;
  for (int i = 0; i < L.num_sb; i++) {
    const int xs = L.scan_sb[i].x, ys = L.scan_sb[i].y;
    int coded = 0;
    for (int n = 0; n < 16 && !coded; n++)
      coded = levels[((ys << 2) + L.scan4[n].y) * tw + (xs << 2) + L.scan4[n].x] != 0;
    if (i != L.num_sb - 1 || !infer_sb_cbf) {
      const int l = xs > 0 ? sb_coded[ys * L.sbw + xs - 1] : 0, a = ys > 0 ? sb_coded[(ys - 1) * L.sbw + xs] : 0;
      w.encode_bin(cs.m[CTX_TS_SB_CODED_FLAG + ts_sb_coded_flag_ctx_inc(l, a)], coded);
    }
    sb_coded[ys * L.sbw + xs] = uint8_t(coded);
    if (coded && i < L.num_sb - 1) infer_sb_cbf = false;

    int coded_abs[16];   // AbsLevel as coded (after the inverse level prediction where it applies)
    int pass1[16], pass2[16];
    bool infer_sig = true;
    int last_pass1 = -1, last_pass2 = -1;
    // Pass 1: sig_coeff_flag, coeff_sign_flag, abs_level_gtx_flag[n][0], par_level_flag.
    for (int n = 0; n < 16 && rem_ccbs >= 4; n++) {
      const int xc = (xs << 2) + L.scan4[n].x, yc = (ys << 2) + L.scan4[n].y, k = yc * tw + xc;
      const int lvl = levels[k], A = std::abs(lvl);
      int pred = 0;
      if (!bdpcm) {
        const int l = xc > 0 ? std::abs(levels[k - 1]) : 0, ab = yc > 0 ? std::abs(levels[k - tw]) : 0;
        pred = std::max(l, ab);
      }
      const int a = bdpcm ? A : ts_level_to_coded(A, pred);
      coded_abs[n] = a;
      last_pass1 = n;
      const int ls = xc > 0 ? sig[k - 1] : 0, as = yc > 0 ? sig[k - tw] : 0;
      if (coded && (n != 15 || !infer_sig)) {
        w.encode_bin(cs.m[CTX_TS_SIG_COEFF_FLAG + ts_sig_coeff_flag_ctx_inc(ls, as)], a != 0);
        rem_ccbs--;
        if (a) infer_sig = false;
      }
      sig[k] = int8_t(a != 0);
      pass1[n] = 0;
      if (a) {
        const int lsg = xc > 0 ? sgn[k - 1] : 0, asg = yc > 0 ? sgn[k - tw] : 0;
        w.encode_bin(cs.m[CTX_TS_COEFF_SIGN_FLAG + ts_coeff_sign_flag_ctx_inc(lsg, asg, bdpcm)], lvl < 0);
        sgn[k] = int8_t(lvl < 0 ? -1 : 1);
        w.encode_bin(cs.m[CTX_TS_ABS_LEVEL_GTX_FLAG + ts_gt1_ctx_inc(bdpcm, ls, as)], a > 1);
        rem_ccbs -= 2;
        pass1[n] = 1;
        if (a > 1) {
          w.encode_bin(cs.m[CTX_TS_PAR_LEVEL_FLAG], a & 1);
          rem_ccbs--;
          pass1[n] = 2 + (a & 1);
        }
      }
    }
    // Pass 2: abs_level_gtx_flag[n][1..4].
    for (int n = 0; n < 16 && rem_ccbs >= 4; n++) {
      const int a = coded_abs[n];
      pass2[n] = pass1[n];
      if (pass1[n] >= 2)
        for (int j = 1; j < 5; j++) {
          const int flag = a >= pass1[n] + 2 * j;
          w.encode_bin(cs.m[CTX_TS_ABS_LEVEL_GTX_FLAG + ts_gtx_ctx_inc(j)], flag);
          rem_ccbs--;
          if (!flag) break;
          pass2[n] += 2;
        }
      last_pass2 = n;
    }
    // Pass 3: abs_remainder (and, beyond pass 1, the bypass coeff_sign_flag).
    for (int n = 0; n < 16; n++) {
      const int xc = (xs << 2) + L.scan4[n].x, yc = (ys << 2) + L.scan4[n].y, k = yc * tw + xc;
      if (n <= last_pass2 && pass2[n] >= 10) {
        write_abs_remainder_bins(w, uint32_t((coded_abs[n] - pass2[n]) >> 1), kTsRiceParam);
      } else if (n > last_pass2 && n <= last_pass1 && pass1[n] >= 2) {
        write_abs_remainder_bins(w, uint32_t((coded_abs[n] - pass1[n]) >> 1), kTsRiceParam);
      } else if (n > last_pass1 && coded) {
        const int lvl = levels[k];
        write_abs_remainder_bins(w, uint32_t(std::abs(lvl)), kTsRiceParam);
        if (lvl) w.encode_bypass(lvl < 0);
      }
    }
  }
}

void read_residual_ts_coding(CabacReader &r, ContextSet &cs, int log2w, int log2h, bool bdpcm, int32_t *levels) {
  const TsLayout L(log2w, log2h);
  const int tw = L.w;
  std::fill(levels, levels + size_t(L.w) * L.h, 0);
  int8_t sig[32 * 32] = {0}, sgn[32 * 32] = {0};
  uint8_t sb_coded[8 * 8] = {0};
  int rem_ccbs = L.rem_ccbs();
  bool infer_sb_cbf = true;
  for (int i = 0; i < L.num_sb; i++) {
    const int xs = L.scan_sb[i].x, ys = L.scan_sb[i].y;
    int coded = 1;
    if (i != L.num_sb - 1 || !infer_sb_cbf) {
      const int l = xs > 0 ? sb_coded[ys * L.sbw + xs - 1] : 0, a = ys > 0 ? sb_coded[(ys - 1) * L.sbw + xs] : 0;
      coded = r.decode_bin(cs.m[CTX_TS_SB_CODED_FLAG + ts_sb_coded_flag_ctx_inc(l, a)]);
    }
    sb_coded[ys * L.sbw + xs] = uint8_t(coded);
    if (coded && i < L.num_sb - 1) infer_sb_cbf = false;

    int pass1[16], pass2[16];
    bool infer_sig = true;
    int last_pass1 = -1, last_pass2 = -1;
    for (int n = 0; n < 16 && rem_ccbs >= 4; n++) {
      const int xc = (xs << 2) + L.scan4[n].x, yc = (ys << 2) + L.scan4[n].y, k = yc * tw + xc;
      last_pass1 = n;
      const int ls = xc > 0 ? sig[k - 1] : 0, as = yc > 0 ? sig[k - tw] : 0;
      int s;
      if (coded && (n != 15 || !infer_sig)) {
        s = r.decode_bin(cs.m[CTX_TS_SIG_COEFF_FLAG + ts_sig_coeff_flag_ctx_inc(ls, as)]);
        rem_ccbs--;
        if (s) infer_sig = false;
      } else {
        s = n == 15 && infer_sig && coded;
      }
      sig[k] = int8_t(s);
      pass1[n] = 0;
      if (s) {
        const int lsg = xc > 0 ? sgn[k - 1] : 0, asg = yc > 0 ? sgn[k - tw] : 0;
        const int neg = r.decode_bin(cs.m[CTX_TS_COEFF_SIGN_FLAG + ts_coeff_sign_flag_ctx_inc(lsg, asg, bdpcm)]);
        sgn[k] = int8_t(neg ? -1 : 1);
        const int gt1 = r.decode_bin(cs.m[CTX_TS_ABS_LEVEL_GTX_FLAG + ts_gt1_ctx_inc(bdpcm, ls, as)]);
        rem_ccbs -= 2;
        pass1[n] = 1;
        if (gt1) {
          pass1[n] = 2 + r.decode_bin(cs.m[CTX_TS_PAR_LEVEL_FLAG]);
          rem_ccbs--;
        }
      }
    }
    for (int n = 0; n < 16 && rem_ccbs >= 4; n++) {
      pass2[n] = pass1[n];
      if (pass1[n] >= 2)
        for (int j = 1; j < 5; j++) {
          const int flag = r.decode_bin(cs.m[CTX_TS_ABS_LEVEL_GTX_FLAG + ts_gtx_ctx_inc(j)]);
          rem_ccbs--;
          if (!flag) break;
          pass2[n] += 2;
        }
      last_pass2 = n;
    }
    for (int n = 0; n < 16; n++) {
      const int xc = (xs << 2) + L.scan4[n].x, yc = (ys << 2) + L.scan4[n].y, k = yc * tw + xc;
      uint32_t rem = 0;
      const bool has_rem = (n <= last_pass2 && pass2[n] >= 10) || (n > last_pass2 && n <= last_pass1 && pass1[n] >= 2) ||
                           (n > last_pass1 && coded);
      if (has_rem) {
        rem = read_abs_remainder_bins(r, kTsRiceParam);
        if (rem > 65536) throw DecodeError("slice data: transform-skip level out of range (corrupt residual)");
      }
      int a;
      if (n <= last_pass2) a = pass2[n] + 2 * int(rem);
      else if (n <= last_pass1) a = pass1[n] + 2 * int(rem);
      else {
        a = int(rem);
        if (a) sgn[k] = int8_t(r.decode_bypass() ? -1 : 1);
      }
      if (!bdpcm && n <= last_pass1) {
        const int l = xc > 0 ? std::abs(levels[k - 1]) : 0, ab = yc > 0 ? std::abs(levels[k - tw]) : 0;
        a = ts_level_from_coded(a, std::max(l, ab));
      }
      if (a > 32768 || (a == 32768 && sgn[k] > 0))
        throw DecodeError("slice data: transform-skip level outside the 16-bit range (corrupt residual)");
      levels[k] = sgn[k] < 0 ? -a : a;
    }
  }
}

}  // namespace pyvtm
