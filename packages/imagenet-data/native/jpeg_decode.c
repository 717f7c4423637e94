// The JPEG decode of the fast path: libjpeg-turbo decodes only the rows
// and columns that one view's filters read (then stops), with libvips' rule
// for warnings and libjpeg-turbo's scan limit, and resample.c turns them
// into the view.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "jpeg_decode.h"
#include "jerror.h"

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 128];
} ErrorManager;

static void on_error(j_common_ptr cinfo) {
  ErrorManager *err = (ErrorManager *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// Warnings pass (as with libvips' fail_on=truncated), except the end of the
// data arriving early: a truncated file fails. So does the 100th warning of
// one decode, as libvips (sharp) fails it whatever its fail_on, so that a
// file that sharp refuses (a progressive JPEG whose scans are repeated gives
// a warning per coefficient of each repeat) is refused here too.
#define MAX_WARNINGS 100
static void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  ErrorManager *err = (ErrorManager *)cinfo->err;
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    snprintf(err->message, sizeof err->message,
             "the JPEG data ends early (truncated file)");
    longjmp(err->jump, 1);
  }
  if (++cinfo->err->num_warnings >= MAX_WARNINGS) {
    char last[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, last);
    snprintf(err->message, sizeof err->message,
             "the JPEG decoder gave %d warnings, where sharp (libvips) refuses a file too; "
             "the last: %s",
             MAX_WARNINGS, last);
    longjmp(err->jump, 1);
  }
}

// libjpeg-turbo's scan limit (its TurboJPEG API and djpeg -maxscans): a
// progress monitor that fails once input_scan_number passes the limit, so
// that a small file with its scans repeated thousands of times (each scan a
// pass over every block) fails at once instead of decoding for seconds.
// 500 is TurboJPEG's limit; readHeader() refuses such files before either
// decoder sees them (see MAX_JPEG_SCANS in src/decode.ts), this is the same
// limit where libjpeg itself counts.
#define MAX_SCANS 500
static void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  int scans = ((j_decompress_ptr)cinfo)->input_scan_number;
  if (scans > MAX_SCANS) {
    ErrorManager *err = (ErrorManager *)cinfo->err;
    snprintf(err->message, sizeof err->message,
             "the JPEG has more than %d scans (libjpeg-turbo's scan limit)", MAX_SCANS);
    longjmp(err->jump, 1);
  }
}

static void fail(View *view, const char *message) {
  view->status = 2;
  snprintf(view->message, sizeof view->message, "%s", message);
}

// The view's geometry, from renderJpeg's params: a crop of the image
// (pre), resized to rw × rh, and a crop of that (post), mirrored if flip.
typedef struct {
  double limit;
  int pre_left, pre_top, pre_w, pre_h;
  int rw, rh;
  int post_left, post_top, post_w, post_h;
  int flip;
} Geometry;

static Geometry geometry_of(const double *p) {
  Geometry g = {
      .limit = p[0],
      .pre_left = (int)p[1], .pre_top = (int)p[2], .pre_w = (int)p[3], .pre_h = (int)p[4],
      .rw = (int)p[5], .rh = (int)p[6],
      .post_left = (int)p[7], .post_top = (int)p[8], .post_w = (int)p[9], .post_h = (int)p[10],
      .flip = p[11] != 0,
  };
  return g;
}

// 1 when the header read is of a JPEG this path decodes, within the pixel
// limit, and the geometry fits it; otherwise sets view->status.
static int check_header(View *view, j_decompress_ptr cinfo, const Geometry *g) {
  J_COLOR_SPACE space = cinfo->jpeg_color_space;
  if (!((space == JCS_YCbCr && cinfo->num_components == 3) ||
        (space == JCS_RGB && cinfo->num_components == 3) ||
        (space == JCS_GRAYSCALE && cinfo->num_components == 1))) {
    view->status = 1;
    return 0;
  }
  int width = (int)cinfo->image_width, height = (int)cinfo->image_height;
  if ((double)width * height > g->limit) {
    snprintf(view->message, sizeof view->message,
             "%d×%d = %.0f pixels exceeds limitInputPixels (%.0f)", width, height,
             (double)width * height, g->limit);
    view->status = 2;
    return 0;
  }
  if (g->pre_left < 0 || g->pre_top < 0 || g->pre_w < 1 || g->pre_h < 1 ||
      g->pre_left + g->pre_w > width || g->pre_top + g->pre_h > height || g->rw < 1 ||
      g->rh < 1 || g->post_left < 0 || g->post_top < 0 || g->post_w < 1 || g->post_h < 1 ||
      g->post_left + g->post_w > g->rw || g->post_top + g->post_h > g->rh ||
      (size_t)g->post_w * g->post_h * 3 != view->output_length) {
    fail(view, "the view's geometry does not fit the image (an internal error)");
    return 0;
  }
  return 1;
}

// Rows and columns decoded beyond the ones the filters read, so that the
// edges of a partial decode (chroma upsampling across an iMCU boundary)
// never touch a value that is used.
#define MARGIN 16

// Decodes image rows [ry0, y_hi) into view->rows, of the columns [x_lo,
// x_hi) and MARGIN more either side where the decoder can crop, else whole
// rows; *left is the image column of their first pixel. 0 when out of
// memory.
static int read_rows(View *view, j_decompress_ptr cinfo, int x_lo, int x_hi, int ry0, int y_hi,
                     int *left) {
  int width = (int)cinfo->image_width;
  int cx0 = x_lo - MARGIN < 0 ? 0 : x_lo - MARGIN;
  int cx1 = x_hi + MARGIN > width ? width : x_hi + MARGIN;
  cinfo->out_color_space = JCS_RGB;
  jpeg_start_decompress(cinfo);
  JDIMENSION xoffset = (JDIMENSION)cx0, cwidth = (JDIMENSION)(cx1 - cx0);
  // Not for progressive files: when scans are missing, libjpeg smooths their
  // blocks with DC values up to two blocks away, and a cropped decode takes
  // its first column for the image's edge (pixels then differ from a full
  // decode by up to 11 levels). They decode whole rows.
  if (cwidth < (JDIMENSION)width && !cinfo->progressive_mode)
    jpeg_crop_scanline(cinfo, &xoffset, &cwidth);
  else xoffset = 0;
  *left = (int)xoffset;
  size_t stride = (size_t)cinfo->output_width * 3;
  view->rows = malloc(stride * (size_t)(y_hi - ry0) + 4);  // + 4: see horizontal_row_sse
  if (!view->rows) return 0;
  if (ry0 > 0) jpeg_skip_scanlines(cinfo, (JDIMENSION)ry0);
  while ((int)cinfo->output_scanline < y_hi) {
    JSAMPROW row = view->rows + (size_t)((int)cinfo->output_scanline - ry0) * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  return 1;
}

// render_view's work once the decompressor exists; libjpeg's errors
// longjmp out of it.
static void decode(View *view, j_decompress_ptr cinfo) {
  Geometry g = geometry_of(view->params);
  jpeg_mem_src(cinfo, view->input, (unsigned long)view->input_length);
  jpeg_read_header(cinfo, TRUE);
  if (!check_header(view, cinfo, &g)) return;
  Axis *ax = &view->ax, *ay = &view->ay;
  if (!axis_init(ax, g.pre_w, g.rw, g.post_left, g.post_w) ||
      !axis_init(ay, g.pre_h, g.rh, g.post_top, g.post_h)) {
    fail(view, "out of memory");
    return;
  }
  // Source rows and columns the filters read, in image coordinates.
  int x_lo = g.pre_left + ax->lo, x_hi = g.pre_left + ax->hi;
  int y_lo = g.pre_top + ay->lo, y_hi = g.pre_top + ay->hi;
  int ry0 = y_lo - MARGIN < 0 ? 0 : y_lo - MARGIN;
  int left;
  if (!read_rows(view, cinfo, x_lo, x_hi, ry0, y_hi, &left)) {
    fail(view, "out of memory");
    return;
  }
  size_t stride = (size_t)cinfo->output_width * 3;
  // Horizontal pass over the rows read, then vertical, as Pillow orders them.
  if (!horizontal_pass(&view->temp, ax, view->rows + (size_t)(y_lo - ry0) * stride, stride,
                       (int)cinfo->output_width, g.pre_left - left, y_hi - y_lo, g.post_w) ||
      !vertical_pass(&view->sums, view->temp, view->output, ay, g.post_w, g.post_h, g.flip)) {
    fail(view, "out of memory");
    return;
  }
  view->status = 0;
}

void render_view(View *view) {
  struct jpeg_decompress_struct cinfo;
  ErrorManager err;
  struct jpeg_progress_mgr progress = {.progress_monitor = on_progress};
  volatile int created = 0;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    fail(view, err.message);
  } else {
    jpeg_create_decompress(&cinfo);
    created = 1;
    cinfo.progress = &progress;
    decode(view, &cinfo);
  }
  // Stop here: the rows below the view are never decoded.
  if (created) jpeg_destroy_decompress(&cinfo);
  free(view->rows);
  free(view->temp);
  free(view->sums);
  axis_free(&view->ax);
  axis_free(&view->ay);
}
