#include "slice_parser.h"

#include <string>

#include "api.h"

namespace pyvtm {

SliceParser::SliceParser(const SliceLayout &layout, const uint8_t *data, size_t size, const Hooks &hooks)
    : lay_(layout), hooks_(hooks), syntax_(lay_.lim, lay_.cclm, maps_, ctx_, hooks_) {
  const int ctu = 1 << lay_.lim.log2_ctu;
  syntax_.joint_cbcr = lay_.joint_cbcr;
  syntax_.mrl = lay_.mrl;
  syntax_.mip = lay_.mip;
  syntax_.isp = lay_.isp;
  ctus_x_ = (lay_.lim.pic_width + ctu - 1) / ctu;
  ctus_y_ = (lay_.lim.pic_height + ctu - 1) / ctu;
  maps_.init(lay_.lim.pic_width, lay_.lim.pic_height, lay_.lim.log2_ctu);
  syntax_.set_ts_tools(lay_.ts);
  syntax_.set_transform_tools(lay_.tools);
  ctx_.init(lay_.slice_qp);  // 9.3.2.2 with SliceQpY
  syntax_.set_sao(lay_.sao, lay_.bit_depth);
  syntax_.set_residual_params(lay_.residual);
  syntax_.set_alf(lay_.alf);
  if (size == 0) throw DecodeError("slice data is empty");
  cabac_.start(data, size);
}

void SliceParser::parse_ctu(int ctu_addr, CtuRecord &out) {
  const int ctu = 1 << lay_.lim.log2_ctu;
  const int x = (ctu_addr % ctus_x_) * ctu, y = (ctu_addr / ctus_x_) * ctu;
  syntax_.read_ctu(cabac_, x, y, out);
  // 7.3.8.1: end_of_slice_one_bit (equal to 1) follows the last CTU of the
  // slice only (one slice, no tiles, no WPP: no end_of_tile / subset bits).
  if (ctu_addr == num_ctus() - 1) {
    if (!cabac_.decode_terminate())
      throw DecodeError("slice data: end_of_slice_one_bit is 0 after the last CTU (corrupt slice data)");
    cabac_.finish_slice();
  }
}

}  // namespace pyvtm
