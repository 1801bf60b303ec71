#include "CShardShim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

SQLITE_EXTENSION_INIT1

void shard_set_api(const sqlite3_api_routines *api) { sqlite3_api = api; }

int shard_vtab_config(sqlite3 *db, int op) { return sqlite3_vtab_config(db, op); }

char *shard_strdup(const char *text) { return sqlite3_mprintf("%s", text); }

static ShardZstd zstd;
static const ShardZstd *zstdLoaded;
static char zstdError[512];
static pthread_once_t zstdOnce = PTHREAD_ONCE_INIT;

static void loadZstd(void) {
  void *lib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(zstdError, sizeof zstdError, "%s", why ? why : "libzstd.so.1: not found");
    return;
  }
  struct { void **slot; const char *name; } symbols[] = {
    {(void **)&zstd.compressBound, "ZSTD_compressBound"},
    {(void **)&zstd.compress, "ZSTD_compress"},
    {(void **)&zstd.decompress, "ZSTD_decompress"},
    {(void **)&zstd.getFrameContentSize, "ZSTD_getFrameContentSize"},
    {(void **)&zstd.isError, "ZSTD_isError"},
    {(void **)&zstd.getErrorName, "ZSTD_getErrorName"},
  };
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    *symbols[i].slot = dlsym(lib, symbols[i].name);
    if (!*symbols[i].slot) {
      snprintf(zstdError, sizeof zstdError, "libzstd.so.1 lacks %s", symbols[i].name);
      dlclose(lib);
      return;
    }
  }
  zstdLoaded = &zstd;
}

const ShardZstd *shard_zstd(void) {
  pthread_once(&zstdOnce, loadZstd);
  return zstdLoaded;
}

const char *shard_zstd_error(void) {
  pthread_once(&zstdOnce, loadZstd);
  return zstdError;
}

void shard_log(int code, const char *message) { sqlite3_log(code, "%s", message); }
