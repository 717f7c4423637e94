// What the files of the addon's N-API glue share (jpeg.c, jpeg_read.c).
#ifndef CONVNETS_ADDON_H
#define CONVNETS_ADDON_H

#include <node_api.h>

// Throws a TypeError with `message`; returns NULL, the callback's result.
napi_value throw_type(napi_env env, const char *message);

// readFile(path, maxBytes), see jpeg_read.c.
napi_value ReadFile(napi_env env, napi_callback_info info);

#endif
