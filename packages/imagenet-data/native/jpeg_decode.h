// The decode of one view of a JPEG: only the rows and columns the view's
// filters read (libjpeg-turbo's jpeg_crop_scanline and jpeg_skip_scanlines,
// then it stops), resampled with Pillow's bilinear filter. See jpeg_decode.c.
#ifndef CONVNETS_JPEG_DECODE_H
#define CONVNETS_JPEG_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jpeglib.h"
#include "resample.h"

// [limitPixels, preLeft, preTop, preWidth, preHeight, resizeWidth,
// resizeHeight, postLeft, postTop, postWidth, postHeight, flip]
#define PARAM_COUNT 12

// One view to render: its input, output and params, and what it came to.
typedef struct {
  const uint8_t *input;
  size_t input_length;
  uint8_t *output;
  size_t output_length;
  double params[PARAM_COUNT];
  // Allocations of render_view(), here so that they survive its longjmp.
  Axis ax, ay;
  uint8_t *rows, *temp;
  int32_t *sums;
  int status;  // 0 written, 1 not for this path, 2 error
  char message[JMSG_LENGTH_MAX + 128];
} View;

// Renders the view into view->output and sets view->status (and
// view->message for an error); view starts zeroed but for its input, output
// and params. Frees what it allocated.
void render_view(View *view);

#endif
