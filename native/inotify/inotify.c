// rtsync's inotify binding: the system calls and nothing else (issue 10). Everything above them
// (parsing event records, the watch-descriptor tree, rename pairing, walking new directories)
// is TypeScript in src/watch/sources/inotify/.
//
// open(onReadable)        inotify_init1(IN_NONBLOCK | IN_CLOEXEC) plus a uv_poll on the fd in
//                         Node's own event loop; onReadable() is called (no arguments) whenever
//                         the fd is readable, and JS then drains it with read(). Returns a handle.
// addWatch(h, path, mask) inotify_add_watch; path is a Buffer (raw bytes, NUL added here).
//                         Returns the wd, or -errno.
// rmWatch(h, wd)          inotify_rm_watch; 0 or -errno.
// read(h, buffer)         one read(2) into the caller's Buffer: bytes read, 0 when the queue is
//                         empty (EAGAIN), or -errno. The records are parsed in TypeScript.
// pause(h) / resume(h)    stop / start polling (a stalled reader, for tests of the overflow).
// close(h)                stop polling and close the fd; safe to call twice.
// readSubdirs(path)       the names (latin1 strings, one char per byte) of a directory's
//                         subdirectories by d_type, and of its entries whose type the file system
//                         does not report (DT_UNKNOWN: the caller lstat()s those): [dirs, unknown],
//                         or -errno. readdir(3) only, no stat: listing a 1,000,000-file tree in
//                         JavaScript built a Dirent object per file, and that was most of the
//                         watch set-up time (bench, 2026-11-29).
//
// Why uv_poll here rather than handing the fd to JS: Node has no public API that waits for
// readability of an arbitrary fd (net.Socket refuses an inotify fd, and fs.read would block a
// threadpool thread or spin on EAGAIN). A uv_poll handle costs nothing while idle (epoll), keeps
// reads on the main thread without copying, and is what libuv offers exactly for this.
#define NAPI_VERSION 8
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  int fd;
  int polling;
  int closed;
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} Instance;

#define CHECK(call)                                       \
  do {                                                    \
    if ((call) != napi_ok) {                              \
      napi_throw_error(env, NULL, "rtsync inotify: " #call); \
      return NULL;                                        \
    }                                                     \
  } while (0)

static napi_value number(napi_env env, double value) {
  napi_value out;
  napi_create_double(env, value, &out);
  return out;
}

// The bytes of a Buffer argument; false after throwing a TypeError that shows `usage`.
static int buffer_arg(napi_env env, napi_value value, const char* usage, void** bytes, size_t* length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  if (napi_get_buffer_info(env, value, bytes, length) != napi_ok) {
    napi_throw_error(env, NULL, "rtsync inotify: napi_get_buffer_info");
    return 0;
  }
  return 1;
}

// A NUL-terminated copy of a path given as bytes (free it), or NULL with *err: EINVAL for a NUL
// inside the path, ENOMEM.
static char* path_copy(const void* bytes, size_t length, int* err) {
  if (memchr(bytes, 0, length) != NULL) {
    *err = EINVAL;
    return NULL;
  }
  char* path = malloc(length + 1);
  if (path == NULL) {
    *err = ENOMEM;
    return NULL;
  }
  memcpy(path, bytes, length);
  path[length] = 0;
  return path;
}

static void on_readable(uv_poll_t* poll, int status, int events) {
  (void)events;
  (void)status;  // an error status is reported by the read() that follows
  Instance* inst = (Instance*)poll->data;
  if (inst->closed) return;
  napi_env env = inst->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, resource;
  if (napi_get_reference_value(env, inst->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_undefined(env, &resource) == napi_ok) {
    napi_value global, result;
    napi_get_global(env, &global);
    // MakeCallback: runs the microtask queue afterwards, like any libuv-driven JS callback.
    if (napi_make_callback(env, inst->context, global, callback, 0, NULL, &result) != napi_ok) {
      // An exception from the callback goes where any uncaught exception goes.
      bool pending = false;
      napi_value error;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
          napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

static void free_instance(uv_handle_t* handle) {
  Instance* inst = (Instance*)handle->data;
  if (inst->fd >= 0) close(inst->fd);
  free(inst);
}

// Stops polling, drops the callback and closes the fd (in libuv's close callback, once the
// poll handle no longer uses it). The Instance itself is freed there too.
static void shut(napi_env env, Instance* inst) {
  if (inst->closed) return;
  inst->closed = 1;
  if (inst->callback != NULL) {
    napi_delete_reference(env, inst->callback);
    inst->callback = NULL;
  }
  if (inst->context != NULL) {
    napi_async_destroy(env, inst->context);
    inst->context = NULL;
  }
  uv_close((uv_handle_t*)&inst->poll, free_instance);
}

typedef struct {
  Instance* inst;
} Box;

// The JS handle is an external holding a Box; a handle collected without close() shuts down.
static void finalize_box(napi_env env, void* data, void* hint) {
  (void)hint;
  Box* box = (Box*)data;
  if (box->inst != NULL) shut(env, box->inst);
  free(box);
}

static Instance* instance_of(napi_env env, napi_value value) {
  void* data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "rtsync inotify: not an inotify handle");
    return NULL;
  }
  Box* box = (Box*)data;
  if (box->inst == NULL) {
    napi_throw_error(env, NULL, "rtsync inotify: the handle is closed");
    return NULL;
  }
  return box->inst;
}

static Box* box_of(napi_env env, napi_value value) {
  void* data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (Box*)data;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "rtsync inotify: open(onReadable) needs a function");
    return NULL;
  }
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return number(env, -errno);  // EMFILE: max_user_instances; ENFILE, ENOMEM
  uv_loop_t* loop;
  Instance* inst = calloc(1, sizeof(Instance));
  Box* box = calloc(1, sizeof(Box));
  if (inst == NULL || box == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(inst);
    free(box);
    close(fd);
    return number(env, -ENOMEM);
  }
  inst->fd = fd;
  inst->env = env;
  inst->poll.data = inst;
  int rc = uv_poll_init(loop, &inst->poll, fd);
  if (rc != 0) {
    free(inst);
    free(box);
    close(fd);
    return number(env, rc);  // libuv errors are -errno on Linux
  }
  napi_value name;
  napi_create_string_utf8(env, "rtsync:inotify", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[0], 1, &inst->callback) != napi_ok ||
      napi_async_init(env, NULL, name, &inst->context) != napi_ok) {
    box->inst = NULL;
    shut(env, inst);
    free(box);
    napi_throw_error(env, NULL, "rtsync inotify: cannot keep the callback");
    return NULL;
  }
  rc = uv_poll_start(&inst->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    shut(env, inst);
    free(box);
    return number(env, rc);
  }
  inst->polling = 1;
  box->inst = inst;
  napi_value external;
  if (napi_create_external(env, box, finalize_box, NULL, &external) != napi_ok) {
    box->inst = NULL;
    shut(env, inst);
    free(box);
    napi_throw_error(env, NULL, "rtsync inotify: cannot create the handle");
    return NULL;
  }
  return external;
}

static napi_value js_add_watch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "rtsync inotify: addWatch(handle, path, mask)");
    return NULL;
  }
  Instance* inst = instance_of(env, argv[0]);
  if (inst == NULL) return NULL;
  void* bytes;
  size_t length;
  if (!buffer_arg(env, argv[1], "rtsync inotify: the path must be a Buffer", &bytes, &length)) return NULL;
  uint32_t mask;
  CHECK(napi_get_value_uint32(env, argv[2], &mask));
  int err;
  char* path = path_copy(bytes, length, &err);
  if (path == NULL) return number(env, -err);
  int wd = inotify_add_watch(inst->fd, path, mask);
  err = errno;
  free(path);
  return number(env, wd < 0 ? -err : wd);
}

static napi_value js_rm_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "rtsync inotify: rmWatch(handle, wd)");
    return NULL;
  }
  Instance* inst = instance_of(env, argv[0]);
  if (inst == NULL) return NULL;
  int32_t wd;
  CHECK(napi_get_value_int32(env, argv[1], &wd));
  return number(env, inotify_rm_watch(inst->fd, wd) < 0 ? -errno : 0);
}

static napi_value js_read(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "rtsync inotify: read(handle, buffer)");
    return NULL;
  }
  Instance* inst = instance_of(env, argv[0]);
  if (inst == NULL) return NULL;
  void* bytes;
  size_t length;
  if (!buffer_arg(env, argv[1], "rtsync inotify: read needs a Buffer", &bytes, &length)) return NULL;
  ssize_t n;
  do n = read(inst->fd, bytes, length);
  while (n < 0 && errno == EINTR);
  if (n < 0) return number(env, errno == EAGAIN ? 0 : -errno);  // EINVAL: buffer too small
  return number(env, (double)n);
}

static napi_value set_polling(napi_env env, napi_callback_info info, int on) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "rtsync inotify: a handle is needed");
    return NULL;
  }
  Instance* inst = instance_of(env, argv[0]);
  if (inst == NULL) return NULL;
  int rc = 0;
  if (on && !inst->polling) rc = uv_poll_start(&inst->poll, UV_READABLE, on_readable);
  if (!on && inst->polling) rc = uv_poll_stop(&inst->poll);
  if (rc == 0) inst->polling = on;
  return number(env, rc);
}

static napi_value js_pause(napi_env env, napi_callback_info info) { return set_polling(env, info, 0); }
static napi_value js_resume(napi_env env, napi_callback_info info) { return set_polling(env, info, 1); }

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "rtsync inotify: close(handle)");
    return NULL;
  }
  Box* box = box_of(env, argv[0]);
  if (box != NULL && box->inst != NULL) {
    shut(env, box->inst);
    box->inst = NULL;
  }
  return NULL;
}

static napi_value js_read_subdirs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* bytes;
  size_t length;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "rtsync inotify: readSubdirs(path: Buffer)");
    return NULL;
  }
  if (!buffer_arg(env, argv[0], "rtsync inotify: readSubdirs(path: Buffer)", &bytes, &length)) return NULL;
  int err;
  char* path = path_copy(bytes, length, &err);
  if (path == NULL) return number(env, -err);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  err = errno;
  free(path);
  if (fd < 0) return number(env, -err);
  DIR* dir = fdopendir(fd);
  if (dir == NULL) {
    err = errno;
    close(fd);
    return number(env, -err);
  }
  napi_value dirs, unknown, result, name;
  uint32_t ndirs = 0, nunknown = 0;
  if (napi_create_array(env, &dirs) != napi_ok || napi_create_array(env, &unknown) != napi_ok) {
    closedir(dir);
    return NULL;
  }
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == NULL) break;
    const char* n = entry->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN) continue;
    if (napi_create_string_latin1(env, n, NAPI_AUTO_LENGTH, &name) != napi_ok) break;
    if (entry->d_type == DT_DIR) napi_set_element(env, dirs, ndirs++, name);
    else napi_set_element(env, unknown, nunknown++, name);
  }
  err = errno;
  closedir(dir);
  if (err != 0) return number(env, -err);
  CHECK(napi_create_array_with_length(env, 2, &result));
  napi_set_element(env, result, 0, dirs);
  napi_set_element(env, result, 1, unknown);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addWatch", NULL, js_add_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rmWatch", NULL, js_rm_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"read", NULL, js_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resume", NULL, js_resume, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readSubdirs", NULL, js_read_subdirs, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
