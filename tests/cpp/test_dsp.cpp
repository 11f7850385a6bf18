// The loop-filter kernels of dsp.h: every SIMD kernel set this build has
// against the C references, bit for bit, on random rows (random samples,
// samples at 0 / 1023 only, nearly flat samples), extreme coefficients,
// every clipping value, both ALF shifts, every width the callers use (and
// remainders that the SIMD versions finish in C); plus small hand-computed
// cases of the C references themselves.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "dsp.h"
#include "test_support.h"

using namespace pyvtm;
using test_support::check;

namespace {

std::vector<Pel> random_rows(std::mt19937 &rng, size_t n, int mode) {
  std::vector<Pel> v(n);
  for (auto &p : v) p = Pel(mode == 0 ? rng() % 1024 : mode == 1 ? (rng() & 1) * 1023 : 500 + int(rng() % 9));
  return v;
}

void compare(const Dsp &ref, const Dsp &simd, const std::string &name) {
  std::mt19937 rng{11};
  const int clips[4] = {1024, 181, 32, 6};
  int bad[6] = {0, 0, 0, 0, 0, 0};
  for (int it = 0; it < 300; it++) {
    const int mode = int(rng() % 3);
    // ALF luma: up to 32 blocks, 1..4 rows.
    {
      const int w = 4 * (1 + int(rng() % 32)), nrows = 1 + int(rng() % 4), stride = w + 8;
      std::vector<Pel> in = random_rows(rng, size_t(stride) * 10, mode);
      std::vector<int16_t> cf(size_t(w / 4) * 12), cl(cf.size());
      for (size_t i = 0; i < cf.size(); i++) {
        cf[i] = int16_t(it % 7 == 0 ? (rng() & 1 ? 127 : -128) : int(rng() % 256) - 128);
        cl[i] = int16_t(clips[rng() % 4]);
      }
      std::vector<Pel> oa(size_t(w) * 4, -1), ob(oa);
      AlfLumaStrip s;
      s.nrows = nrows;
      s.w = w;
      s.cf = reinterpret_cast<const int16_t(*)[12]>(cf.data());
      s.cl = reinterpret_cast<const int16_t(*)[12]>(cl.data());
      for (int k = 0; k < 4; k++) {
        for (int j = 0; j < 7; j++) s.rows[k][j] = in.data() + size_t(std::min(9, k + j)) * stride + 4;
        s.shift[k] = rng() % 3 == 0 ? 10 : 7;
      }
      AlfLumaStrip t = s;
      for (int k = 0; k < 4; k++) s.out[k] = oa.data() + size_t(k) * w, t.out[k] = ob.data() + size_t(k) * w;
      ref.alf_luma_strip(s);
      simd.alf_luma_strip(t);
      bad[0] += oa != ob;
    }
    // ALF chroma: one row.
    {
      const int w = 4 * (1 + int(rng() % 16)), stride = w + 8;
      std::vector<Pel> in = random_rows(rng, size_t(stride) * 5, mode);
      int16_t cf[6], cl[6];
      for (int j = 0; j < 6; j++) {
        cf[j] = int16_t(it % 7 == 0 ? (rng() & 1 ? 127 : -128) : int(rng() % 256) - 128);
        cl[j] = int16_t(clips[rng() % 4]);
      }
      const Pel *rows[5];
      for (int j = 0; j < 5; j++) rows[j] = in.data() + size_t(j) * stride + 4;
      const int shift = it % 3 == 0 ? 10 : 7;
      std::vector<Pel> oa(size_t(w), -1), ob(oa);
      ref.alf_chroma_row(rows, oa.data(), w, cf, cl, shift, 1023);
      simd.alf_chroma_row(rows, ob.data(), w, cf, cl, shift, 1023);
      bad[1] += oa != ob;
    }
    // CCALF: one chroma row from four luma rows (2w + 4 samples each).
    {
      const int w = 4 * (1 + int(rng() % 16)), stride = 2 * w + 8;
      std::vector<Pel> in = random_rows(rng, size_t(stride) * 4, mode);
      int16_t cf[7];
      for (auto &c : cf) c = int16_t(it % 5 == 0 ? (rng() & 1 ? 64 : -64) : int(rng() % 129) - 64);
      const Pel *rows[4];
      for (int j = 0; j < 4; j++) rows[j] = in.data() + size_t(j) * stride + 4;
      std::vector<Pel> oa = random_rows(rng, size_t(w), mode), ob(oa);
      ref.ccalf_row(rows, oa.data(), w, cf, 10);
      simd.ccalf_row(rows, ob.data(), w, cf, 10);
      bad[4] += oa != ob;
    }
    // ALF classification gradients: n positions, 2n + 2 samples per row.
    {
      const int n = 1 + int(rng() % 70), stride = 2 * n + 8;
      std::vector<Pel> in = random_rows(rng, size_t(stride) * 3, mode);
      std::vector<int32_t> ga(size_t(n) * 4), gb;
      for (auto &v : ga) v = int32_t(rng() % 5000);
      gb = ga;
      int32_t *const pa[4] = {ga.data(), ga.data() + n, ga.data() + 2 * n, ga.data() + 3 * n};
      int32_t *const pb[4] = {gb.data(), gb.data() + n, gb.data() + 2 * n, gb.data() + 3 * n};
      const Pel *u = in.data() + 4, *r = u + stride, *d = r + stride;
      ref.alf_grad_row(u, r, d, n, pa);
      simd.alf_grad_row(u, r, d, n, pb);
      bad[5] += ga != gb;
    }
    // SAO edge and band offsets: any length (the callers cut rows at the picture edge).
    {
      const int n = 1 + int(rng() % 130);
      std::vector<Pel> s = random_rows(rng, size_t(n), mode), a = random_rows(rng, size_t(n), mode),
                       b = random_rows(rng, size_t(n), mode);
      if (it % 4 == 0) a = s;  // ties
      int8_t off[4];
      for (auto &o : off) o = int8_t(int(rng() % 63) - 31);
      std::vector<Pel> oa(size_t(n), -1), ob(oa);
      ref.sao_edge_row(s.data(), a.data(), b.data(), oa.data(), n, off, 1023);
      simd.sao_edge_row(s.data(), a.data(), b.data(), ob.data(), n, off, 1023);
      bad[2] += oa != ob;
      int8_t table[32] = {0};
      const int pos = int(rng() % 32);
      for (int k = 0; k < 4; k++) table[(pos + k) & 31] = int8_t(k + 1);
      ref.sao_band_row(s.data(), oa.data(), n, table, 5, off, 1023);
      simd.sao_band_row(s.data(), ob.data(), n, table, 5, off, 1023);
      bad[3] += oa != ob;
    }
  }
  const char *names[6] = {"alf_luma_strip", "alf_chroma_row", "sao_edge_row", "sao_band_row", "ccalf_row",
                          "alf_grad_row"};
  for (int k = 0; k < 6; k++) check(bad[k] == 0, name + " " + names[k] + ": " + std::to_string(bad[k]) + " of 300 differ from C");
  std::printf("%s: 6 kernels x 300 random cases compared with C\n", name.c_str());
}

// Hand-computed cases of the C references.
void c_reference_cases() {
  const Dsp &c = dsp_c();
  // SAO edge: v = 10 with neighbours (20, 20): local minimum, edgeIdx 1 -> off[0];
  // (5, 5): maximum, edgeIdx 4 -> off[3]; (10, 20): edgeIdx 2 -> off[1];
  // (10, 10): flat, no offset; clipping at 0.
  const Pel s[5] = {10, 10, 10, 10, 1}, a[5] = {20, 5, 10, 10, 9}, b[5] = {20, 5, 20, 10, 9};
  const int8_t off[4] = {3, 1, -1, -3};
  Pel d[5];
  c.sao_edge_row(s, a, b, d, 5, off, 1023);
  check(d[0] == 13 && d[1] == 7 && d[2] == 11 && d[3] == 10 && d[4] == 4, "SAO edge offset hand case");
  const int8_t off2[4] = {-5, 0, 0, 0};
  const Pel s2[1] = {2}, a2[1] = {9}, b2[1] = {9};
  c.sao_edge_row(s2, a2, b2, d, 1, off2, 1023);
  check(d[0] == 0, "SAO edge offset clips at 0");
  // SAO band: bands of 32 at 10-bit (shift 5); band 3 = 96..127.
  int8_t table[32] = {0};
  table[3] = 1;
  const Pel s3[3] = {95, 96, 127};
  c.sao_band_row(s3, d, 3, table, 5, off, 1023);
  check(d[0] == 95 && d[1] == 99 && d[2] == 130, "SAO band offset hand case");
  // ALF chroma: a flat row stays flat whatever the filter; one tap with a step.
  std::vector<Pel> flat(5 * 12, 300);
  const Pel *rows[5];
  for (int j = 0; j < 5; j++) rows[j] = flat.data() + j * 12 + 4;
  const int16_t cf[6] = {0, 0, 0, 0, 0, 64}, cl[6] = {1024, 1024, 1024, 1024, 1024, 1024};
  Pel o[4];
  c.alf_chroma_row(rows, o, 4, cf, cl, 7, 1023);
  check(o[0] == 300 && o[3] == 300, "ALF chroma: flat input unchanged");
  flat[2 * 12 + 4 + 1] = 428;  // right neighbour of sample 0 (tap 5, pair x+1 / x-1)
  c.alf_chroma_row(rows, o, 4, cf, cl, 7, 1023);
  // samples 0 and 2: 64 * (128 + 0) = 8192 -> (8192 + 64) >> 7 = +64; sample 1, the step
  // itself: 64 * (-128 - 128) -> (-16384 + 64) >> 7 = -128.
  check(o[0] == 364 && o[2] == 364 && o[1] == 300, "ALF chroma: one-tap step, hand computed");
}


// --- Encoder kernels (EncDsp) ---

// Every SIMD encoder kernel against its C reference: SATD at every size
// 4..64 x 4..64, SSE at widths 1..64, the forward-transform rows at every
// length with random and extreme inputs (|src| up to 32767, matrix entries
// +-90).
void compare_enc(const EncDsp &ref, const EncDsp &simd, const std::string &name) {
  std::mt19937 rng{23};
  int bad[3] = {0, 0, 0}, cases[3] = {0, 0, 0};
  for (int it = 0; it < 200; it++) {
    const int mode = it % 3;
    const int stride = 64 + 8 * int(rng() % 3);
    // (64 rows of the largest stride, 80: room for every 64x64 case)
    std::vector<Pel> org = random_rows(rng, size_t(80) * 64, mode), pred = random_rows(rng, size_t(80) * 64, mode);
    if (it % 5 == 4)  // opposite extremes: the largest differences
      for (size_t i = 0; i < org.size(); i++) { org[i] = Pel((i & 1) * 1023); pred[i] = Pel(1023 - org[i]); }
    for (int lw = 2; lw <= 6; lw++)
      for (int lh = 2; lh <= 6; lh++) {
        const int ps = (1 << lw) + (it & 1 ? 8 : 0);
        bad[0] += ref.satd(org.data(), stride, pred.data(), ps, lw, lh) != simd.satd(org.data(), stride, pred.data(), ps, lw, lh);
        cases[0]++;
      }
    for (int k = 0; k < 8; k++) {
      const int w = 1 + int(rng() % 64), h = 1 + int(rng() % 64);
      bad[1] += ref.sse(org.data(), stride, pred.data(), w, w, h) != simd.sse(org.data(), stride, pred.data(), w, w, h);
      cases[1]++;
    }
    for (int ln = 2; ln <= 6; ln++) {
      const int n = 1 << ln, rows = 1 + int(rng() % 64), num_out = 4 * (1 + int(rng() % std::min(n / 4, 8)));
      std::vector<int16_t> mat(size_t(num_out) * n), src(size_t(rows) * (n + 4));
      for (auto &m : mat) m = int16_t(mode == 1 ? (rng() & 1 ? 90 : -90) : int(rng() % 181) - 90);
      for (auto &v : src)
        v = int16_t(mode == 0 ? int(rng() % 2047) - 1023 : mode == 1 ? (rng() & 1 ? 32767 : -32768) : int(rng() % 65536) - 32768);
      if (mode == 1)  // signs matching the matrix: the largest sums
        for (int r = 0; r < rows; r++)
          for (int j = 0; j < n; j++) src[size_t(r) * (n + 4) + j] = int16_t(mat[size_t(j)] > 0 ? 32767 : -32767);
      const int shift = 1 + int(rng() % 12), ds = rows + 3;
      std::vector<int32_t> da(size_t(num_out) * ds, -7), db(da);
      ref.fwd_rows(mat.data(), n, num_out, src.data(), n + 4, rows, shift, da.data(), ds);
      simd.fwd_rows(mat.data(), n, num_out, src.data(), n + 4, rows, shift, db.data(), ds);
      bad[2] += da != db;
      cases[2]++;
    }
  }
  const char *names[3] = {"satd", "sse", "fwd_rows"};
  for (int k = 0; k < 3; k++)
    check(bad[k] == 0, name + " " + names[k] + ": " + std::to_string(bad[k]) + " of " + std::to_string(cases[k]) +
                           " differ from C");
  std::printf("%s: encoder kernels satd %d, sse %d, fwd_rows %d random cases compared with C\n", name.c_str(),
              cases[0], cases[1], cases[2]);
}

// Hand-computed cases of the encoder C references.
void enc_c_reference_cases() {
  const EncDsp &c = enc_dsp_c();
  // One difference v at (0, 0): every Hadamard coefficient is +-v.
  std::vector<Pel> org(64 * 64, 100), pred(org);
  org[0] = 105;
  check(c.satd(org.data(), 64, pred.data(), 64, 2, 2) == (16 * 5 + 1) >> 1, "satd 4x4 impulse");
  check(c.satd(org.data(), 64, pred.data(), 64, 3, 3) == (64 * 5 + 2) >> 2, "satd 8x8 impulse");
  check(c.satd(org.data(), 64, pred.data(), 64, 6, 2) == (16 * 5 + 1) >> 1, "satd 64x4 impulse: one tile");
  org[64 + 9] = 97;  // -3 in the second 8x8 tile
  check(c.satd(org.data(), 64, pred.data(), 64, 4, 3) == 80 + 48, "satd 16x8: two tiles");
  check(c.sse(org.data(), 64, pred.data(), 64, 16, 2) == 25 + 9, "sse hand case");
  // fwd_rows, the 4-point DCT-II of [1 2 3 4]: 640, -285, 0, -25; (s + 4) >> 3 = 80, -36, 0, -3.
  const int16_t x[4] = {1, 2, 3, 4};
  int32_t out[4] = {0, 0, 0, 0};
  const int16_t mat4[16] = {64, 64, 64, 64, 83, 36, -36, -83, 64, -64, -64, 64, 36, -83, 83, -36};
  c.fwd_rows(mat4, 4, 4, x, 4, 1, 3, out, 1);
  check(out[0] == 80 && out[1] == -36 && out[2] == 0 && out[3] == -3, "fwd_rows 4-point DCT-II hand case");
}
// Decoder kernels (DspDec): the inverse-transform products against a plain
// matrix product (for the C reference) and the SIMD kernels against C, on
// random matrices of 8-bit coefficients and random or extreme 16-bit inputs,
// every n the callers use (and n = 48 for the generic path), every pair count.
std::vector<int32_t> random_pairs(std::mt19937 &rng, int num_pairs, int n, bool extreme) {
  std::vector<int32_t> t(size_t(num_pairs) * n);
  for (auto &v : t) {
    const int a = extreme ? (rng() & 1 ? 90 : -90) : int(rng() % 181) - 90;
    const int b = extreme ? (rng() & 1 ? 90 : -90) : int(rng() % 181) - 90;
    v = int32_t(uint32_t(uint16_t(a)) | (uint32_t(uint16_t(b)) << 16));
  }
  return t;
}

int16_t random_input(std::mt19937 &rng, int mode) {
  if (mode == 0) return int16_t(int(rng() % 65536) - 32768);
  if (mode == 1) return int16_t(rng() & 1 ? 32767 : -32768);
  if (mode == 2) return int16_t(int(rng() % 41) - 20);
  return rng() % 4 ? 0 : int16_t(int(rng() % 2001) - 1000);
}

void c_reference_inverse_transform() {
  std::mt19937 rng{5};
  int bad = 0;
  for (int it = 0; it < 200; it++) {
    const int n = 4 << (rng() % 5), num_pairs = 1 + int(rng() % std::min(16, n / 2)), lines = 1 + int(rng() % 8);
    const int shift = int(rng() % 12);
    const std::vector<int32_t> pairs = random_pairs(rng, num_pairs, n, it % 5 == 0);
    std::vector<int16_t> src(size_t(lines) * 40);
    for (auto &v : src) v = random_input(rng, it % 4);
    std::vector<int16_t> first(size_t(n) * lines);
    std::vector<int32_t> second(size_t(lines) * n);
    dsp_dec_c().inv_tr_first(src.data(), 40, lines, pairs.data(), num_pairs, n, first.data(), lines);
    dsp_dec_c().inv_tr_second(src.data(), 40, lines, pairs.data(), num_pairs, n, shift, second.data(), n);
    for (int l = 0; l < lines; l++)
      for (int i = 0; i < n; i++) {
        int64_t y = 0;
        for (int j = 0; j < 2 * num_pairs; j++) {
          const int32_t t = pairs[size_t(j / 2) * n + i];
          y += int64_t(j & 1 ? t >> 16 : int16_t(t & 0xffff)) * src[size_t(l) * 40 + j];
        }
        const int64_t a = std::min<int64_t>(32767, std::max<int64_t>(-32768, (y + 64) >> 7));
        bad += first[size_t(i) * lines + l] != a;
        bad += second[size_t(l) * n + i] != ((y + ((int64_t(1) << shift) >> 1)) >> shift);
      }
  }
  check(bad == 0, "inverse transform products (C) == matrix product: " + std::to_string(bad) + " differ");
}

void compare_dec(const DspDec &ref, const DspDec &simd, const std::string &name) {
  std::mt19937 rng{17};
  int bad[2] = {0, 0};
  const int ns[6] = {4, 8, 16, 32, 64, 48};
  for (int it = 0; it < 600; it++) {
    const int n = ns[it % 6];
    const int num_pairs = 1 + int(rng() % std::min(16, n / 2)), lines = 1 + int(rng() % 64);
    const int shift = it % 7 == 0 ? 0 : int(rng() % 13);
    const std::vector<int32_t> pairs = random_pairs(rng, num_pairs, n, it % 5 == 0);
    const int src_stride = 2 * num_pairs + int(rng() % 3);
    std::vector<int16_t> src(size_t(lines) * src_stride);
    for (auto &v : src) v = random_input(rng, int(rng() % 4));
    const int dst_stride = lines + int(rng() % 3);
    std::vector<int16_t> fa(size_t(n) * dst_stride, -7), fb(fa);
    ref.inv_tr_first(src.data(), src_stride, lines, pairs.data(), num_pairs, n, fa.data(), dst_stride);
    simd.inv_tr_first(src.data(), src_stride, lines, pairs.data(), num_pairs, n, fb.data(), dst_stride);
    bad[0] += fa != fb;
    std::vector<int32_t> sa(size_t(lines) * n, -7), sb(sa);
    ref.inv_tr_second(src.data(), src_stride, lines, pairs.data(), num_pairs, n, shift, sa.data(), n);
    simd.inv_tr_second(src.data(), src_stride, lines, pairs.data(), num_pairs, n, shift, sb.data(), n);
    bad[1] += sa != sb;
  }
  // Picture construction rows: any width, residuals beyond 16 bits, both clamps.
  int bad_add = 0;
  for (int it = 0; it < 400; it++) {
    const int n = 1 + int(rng() % 70), maxv = it % 2 ? 1023 : 255;
    std::vector<Pel> pred(static_cast<size_t>(n));
    std::vector<int32_t> resid(static_cast<size_t>(n));
    for (auto &v : pred) v = Pel(rng() % (maxv + 1));
    for (auto &v : resid)
      v = it % 4 == 0 ? int32_t(rng() % 400001) - 200000 : it % 4 == 1 ? (rng() & 1 ? 70000 : -70000)
                                                                       : int32_t(rng() % 2049) - 1024;
    std::vector<Pel> a(size_t(n), -1), b(a);
    ref.add_residual_row(pred.data(), resid.data(), a.data(), n, maxv);
    simd.add_residual_row(pred.data(), resid.data(), b.data(), n, maxv);
    bad_add += a != b;
    for (int i = 0; i < n; i++) bad_add += a[size_t(i)] != std::min(maxv, std::max(0, pred[size_t(i)] + resid[size_t(i)]));
  }
  // Angular interpolation rows: fG filters of every fractional position,
  // fC-like filters with negative outer taps, extreme taps, samples at
  // 0 / 1023 or nearly flat, any width.
  int bad_interp[2] = {0, 0};
  for (int it = 0; it < 400; it++) {
    const int n = 1 + int(rng() % 70), fract = int(rng() % 32), mode = it % 3;
    std::vector<Pel> line(static_cast<size_t>(n) + 3);
    for (auto &v : line) v = Pel(mode == 0 ? rng() % 1024 : mode == 1 ? (rng() & 1) * 1023 : 500 + int(rng() % 9));
    int16_t f[4];
    if (it % 4 == 0) {
      for (auto &c : f) c = int16_t(rng() & 1 ? 64 : -64);
    } else if (it % 2) {
      f[0] = int16_t(16 - (fract >> 1));
      f[1] = int16_t(32 - (fract >> 1));
      f[2] = int16_t(16 + (fract >> 1));
      f[3] = int16_t(fract >> 1);
    } else {
      f[0] = int16_t(-int(rng() % 5));
      f[3] = int16_t(-int(rng() % 5));
      f[1] = int16_t(64 - fract);
      f[2] = int16_t(fract - f[0] - f[3]);
    }
    std::vector<Pel> a(static_cast<size_t>(n), -1), b(a);
    ref.intra_interp4_row(line.data(), a.data(), n, f, 1023);
    simd.intra_interp4_row(line.data(), b.data(), n, f, 1023);
    bad_interp[0] += a != b;
    for (int x = 0; x < n; x++) {
      const Pel *p = line.data() + x;
      const int v = (f[0] * p[0] + f[1] * p[1] + f[2] * p[2] + f[3] * p[3] + 32) >> 6;
      bad_interp[0] += a[static_cast<size_t>(x)] != std::min(1023, std::max(0, v));
    }
    ref.intra_interp2_row(line.data(), a.data(), n, fract);
    simd.intra_interp2_row(line.data(), b.data(), n, fract);
    bad_interp[1] += a != b;
    for (int x = 0; x < n; x++)
      bad_interp[1] += a[static_cast<size_t>(x)] != line[static_cast<size_t>(x)] + ((fract * (line[static_cast<size_t>(x) + 1] - line[static_cast<size_t>(x)]) + 16) >> 5);
  }
  check(bad_interp[0] == 0, name + " intra_interp4_row: " + std::to_string(bad_interp[0]) + " differences");
  check(bad_interp[1] == 0, name + " intra_interp2_row: " + std::to_string(bad_interp[1]) + " differences");
  check(bad_add == 0, name + " add_residual_row: " + std::to_string(bad_add) + " of 400 differ");
  check(bad[0] == 0, name + " inv_tr_first: " + std::to_string(bad[0]) + " of 600 differ from C");
  check(bad[1] == 0, name + " inv_tr_second: " + std::to_string(bad[1]) + " of 600 differ from C");
  std::printf("%s: decoder kernels x 600 random cases compared with C\n", name.c_str());
}

}  // namespace

int main() {
  c_reference_cases();
  enc_c_reference_cases();
  c_reference_inverse_transform();
#if defined(__SSE2__)
  compare(dsp_c(), dsp_sse2(), "SSE2");
  compare_enc(enc_dsp_c(), enc_dsp_sse2(), "SSE2");
  compare_dec(dsp_dec_c(), dsp_dec_sse2(), "SSE2");
#else
  std::printf("no SIMD kernels in this build: C references only\n");
#endif
  if (test_support::g_failures) {
    std::printf("%d failure(s)\n", test_support::g_failures);
    return 1;
  }
  std::printf("test_dsp: all passed\n");
  return 0;
}
