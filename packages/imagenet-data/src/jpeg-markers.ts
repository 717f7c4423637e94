// Walking a JPEG's marker segments: its frame header, and how many scans it has.

/** A JPEG's frame header: size and number of colour components. */
export interface JpegFrame {
  width: number;
  height: number;
  components: number;
}

/** JPEG start-of-frame markers (SOF0 … SOF15 except DHT, JPG and DAC). */
const isStartOfFrame = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * Reads the frame header of a JPEG by walking its marker segments, a few
 * bytes per segment, so that the common case needs no libvips call (about
 * 0.3 ms of CPU each). Returns `null` for anything unusual (not a JPEG, a
 * segment running past the end, a height defined later by a DNL marker): the
 * caller then asks libvips, which also produces the proper error message.
 */
export function jpegFrame(input: Uint8Array): JpegFrame | null {
  // libvips recognises a JPEG by FF D8 FF.
  if (input.length < 4 || input[0] !== 0xff || input[1] !== 0xd8 || input[2] !== 0xff) return null;
  let i = 2;
  while (i + 4 <= input.length) {
    if (input[i] !== 0xff) return null;
    const marker = input[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    i += 2;
    // Markers without a segment: TEM, RSTn, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    // Scan data or the end before any frame header.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = (input[i] << 8) | input[i + 1];
    if (length < 2 || i + length > input.length) return null;
    if (isStartOfFrame(marker)) {
      if (length < 8) return null;
      const height = (input[i + 3] << 8) | input[i + 4];
      const width = (input[i + 5] << 8) | input[i + 6];
      const components = input[i + 7];
      if (width === 0 || height === 0 || ![1, 3, 4].includes(components)) return null;
      return { width, height, components };
    }
    i += length;
  }
  return null;
}

/**
 * The most scans a JPEG may have: libjpeg-turbo's scan limit (its TurboJPEG
 * API's, which djpeg's `-maxscans` also offers). Each scan is a pass over
 * every block of the image, so a small file with one scan repeated thousands
 * of times costs seconds to decode; encoders write one scan, or about ten
 * for a progressive file (libjpeg's and mozjpeg's scripts write 10 for a
 * colour image). libvips has no such limit (it stops at the 100th decoder warning, which
 * repeated refinement scans reach, but not repeated first scans), so the
 * limit is applied here, to the file, before sharp or the JPEG addon decodes
 * it: the checker and the loader refuse the same files. The addon applies
 * it again as libjpeg-turbo does, with a progress monitor.
 */
export const MAX_JPEG_SCANS = 500;

/**
 * Counts the scans (SOS markers) of a JPEG as libjpeg reads them: segment
 * by segment, skipping each scan's data to the next marker that is not a
 * stuffed `FF 00` or a restart marker, up to the end-of-image marker. Stops
 * counting at `limit + 1`.
 */
export function jpegScanCount(input: Buffer, limit: number): number {
  let scans = 0;
  let i = 2;
  while (i + 1 < input.length) {
    if (input[i] !== 0xff) {
      // Stray bytes between segments: libjpeg skips them (with a warning).
      i = input.indexOf(0xff, i);
      if (i < 0) break;
      continue;
    }
    const marker = input[i + 1];
    if (marker === 0xd9) break;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // Markers without a segment: TEM, RSTn, SOI (and a stray FF 00).
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    if (i + 3 >= input.length) break;
    i += 2 + ((input[i + 2] << 8) | input[i + 3]);
    if (marker !== 0xda) continue;
    if (++scans > limit) break;
    // The scan's data, to the next marker.
    for (;;) {
      const ff = input.indexOf(0xff, i);
      if (ff < 0 || ff + 1 >= input.length) return scans;
      const next = input[ff + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) i = ff + 2;
      else if (next === 0xff) i = ff + 1;
      else {
        i = ff;
        break;
      }
    }
  }
  return scans;
}
