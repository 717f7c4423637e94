// The addon's readFile: a whole file in one thread-pool job.
#define _GNU_SOURCE  // statx
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addon.h"

// readFile(path, maxBytes): the whole file in one thread-pool job (open,
// statx, read, close), where fs.promises takes four. Resolves with a Buffer,
// or with null when anything is off (cannot open, not a regular file, empty,
// larger than maxBytes, changed while read): the caller then reads it with
// Node's fs, which reports the problem.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  double max_bytes;
  uint8_t *data;
  size_t length;
} ReadJob;

static void read_execute(napi_env env, void *data) {
  (void)env;
  ReadJob *job = (ReadJob *)data;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer,
  // holding this thread-pool thread forever. Regular files ignore it.
  int fd = open(job->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return;
  // Only regular files are read: a FIFO, socket, device or folder goes back
  // to fs, which names it. statx, not fstat: fstat is versioned GLIBC_2.33
  // and would keep the addon from loading on older systems (statx is 2.28);
  // where the kernel lacks statx, fs reads the file.
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &sx) != 0 || !(sx.stx_mask & STATX_TYPE) ||
      !S_ISREG(sx.stx_mode)) {
    close(fd);
    return;
  }
  off_t size = lseek(fd, 0, SEEK_END);
  // Files over 2 GiB go to fs too (Node's Buffers have a size limit).
  if (size > 0 && (double)size <= job->max_bytes && size <= INT32_MAX &&
      lseek(fd, 0, SEEK_SET) == 0) {
    size_t length = (size_t)size, done = 0;
    uint8_t *buffer = malloc(length);
    while (buffer && done < length) {
      ssize_t got = read(fd, buffer + done, length - done);
      if (got <= 0) break;
      done += (size_t)got;
    }
    uint8_t extra;
    if (buffer && done == length && read(fd, &extra, 1) == 0) {
      job->data = buffer;
      job->length = length;
    } else {
      free(buffer);
    }
  }
  close(fd);
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void read_complete(napi_env env, napi_status status, void *data) {
  ReadJob *job = (ReadJob *)data;
  napi_value result;
  // The caller keeps maxBytes within Buffer's limit, so the buffer is made;
  // if it were not, Node has already called free_data (or will): the data is
  // not freed here again.
  if (status != napi_ok || !job->data ||
      napi_create_external_buffer(env, job->length, job->data, free_data, NULL, &result) !=
          napi_ok) {
    if (status != napi_ok) free(job->data);
    napi_value ignored;
    bool pending;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
      napi_get_and_clear_last_exception(env, &ignored);
    napi_get_null(env, &result);
  }
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  free(job->path);
  free(job);
}

napi_value ReadFile(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t length;
  double max_bytes;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok ||
      napi_get_value_double(env, argv[1], &max_bytes) != napi_ok)
    return throw_type(env, "readFile(path: string, maxBytes: number)");
  ReadJob *job = calloc(1, sizeof(ReadJob));
  char *path = job ? malloc(length + 1) : NULL;
  if (!path) {
    free(job);
    napi_throw_error(env, NULL, "readFile: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], path, length + 1, &length);
  job->path = path;
  if (strlen(path) != length) path[0] = '\0';  // a NUL inside: open fails, fs reports it
  job->max_bytes = max_bytes;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "convnets:readFile", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, read_execute, read_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
