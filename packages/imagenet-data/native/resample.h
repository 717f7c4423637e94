// Pillow's antialiased bilinear resampling (Resample.c) in Pillow's
// fixed-point arithmetic, restricted to the output pixels of one view: the
// filter's weights per axis, the horizontal pass (plain C, SSE4.1 and AVX2
// row functions) and the vertical pass. See resample.c.
#ifndef CONVNETS_RESAMPLE_H
#define CONVNETS_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

// Pillow's Resample.c: coefficients are fixed point with 22 fraction bits.
#define PRECISION_BITS (32 - 8 - 2)
#define HALF (1 << (PRECISION_BITS - 1))

// Both passes (and normalize's loop) are compiled twice, for AVX2 and for
// plain x86-64, and the loader picks the one the CPU runs (GCC's
// target_clones).
#if defined(__x86_64__) && defined(__GNUC__)
#define CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CPU_CLONES
#endif

// One axis of a resize: for each wanted output index, the first input index
// and the fixed-point weights of the inputs it reads.
typedef struct {
  int *first;   // [count]
  int *length;  // [count]
  int32_t *weights;  // [count * ksize]
  int ksize;
  int lo, hi;   // input indices read: [lo, hi)
} Axis;

// Pillow's precompute_coeffs and normalize_coeffs_8bpc for the bilinear
// filter over input [0, in_size) resized to out_size, restricted to output
// indices [from, from + count). 0 when out of memory (axis_free still frees
// what was allocated).
int axis_init(Axis *a, int in_size, int out_size, int from, int count);
void axis_free(Axis *a);

// The horizontal pass over `nrows` rows (`stride` bytes apart) of `width`
// decoded RGB pixels, into *temp (allocated here, count pixels a row; the
// caller frees it). `shift` turns a column of the resized source into a
// column of the rows. 0 when out of memory.
int horizontal_pass(uint8_t **temp, Axis *a, const uint8_t *rows, size_t stride, int width,
                    int shift, int nrows, int count);

// The vertical pass from temp (rows from a->lo, `width` pixels each) into
// `output` (width × height RGB), mirrored when `flip`; *sums is its scratch
// row (allocated here, the caller frees it). 0 when out of memory.
int vertical_pass(int32_t **sums, const uint8_t *temp, uint8_t *output, const Axis *a, int width,
                  int height, int flip);

#endif
