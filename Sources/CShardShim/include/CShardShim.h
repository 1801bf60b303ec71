// The C edge of the extension: SQLite's extension header, the vtab and cursor
// structs extended with a pointer to their Swift object, and the calls Swift
// cannot make itself (variadic slots of sqlite3_api_routines, function-like macros).
#ifndef CSHARDSHIM_H
#define CSHARDSHIM_H

#include <stddef.h>
#include <sqlite3ext.h>

// The routines of the host that loaded us, set once by the entry point. Every
// SQLite call goes through them, so the library imports no sqlite3_* symbol.
SQLITE_EXTENSION_INIT3

static inline const sqlite3_api_routines *shard_api(void) { return sqlite3_api; }
void shard_set_api(const sqlite3_api_routines *api);

// A virtual table / cursor as SQLite sees it, followed by the Swift object.
typedef struct ShardVtab {
  sqlite3_vtab base;
  void *object;
} ShardVtab;

typedef struct ShardCursor {
  sqlite3_vtab_cursor base;
  void *object;
  // Rows a scan that only counts still steps over without reading one (ScanCursor,
  // `countedRows`); -1 for a cursor that reads its rows. Kept here so a step of
  // count(*) touches no Swift object.
  sqlite3_int64 countLeft;
} ShardCursor;

// sqlite3_vtab_config(db, op) for the argument-less ops.
int shard_vtab_config(sqlite3 *db, int op);

// A copy of `text` in memory from the host's sqlite3_malloc (for zErrMsg).
char *shard_strdup(const char *text);

// sqlite3_log(code, "%s", message): a message for the host's error log (the log
// slot is variadic, so Swift calls this).
void shard_log(int code, const char *message);

// SQLITE_TRANSIENT, which Swift cannot spell.
static inline sqlite3_destructor_type shard_transient(void) { return SQLITE_TRANSIENT; }

// zstd, for compressed shards, loaded from the system's libzstd.so.1 on first use
// (dlopen), so building needs no zstd headers and loading the extension needs no
// libzstd: only compressing or reading compressed shards does. The few entry points
// used, declared here with zstd's own signatures (zstd.h, stable API).
typedef struct ShardZstd {
  size_t (*compressBound)(size_t srcSize);
  size_t (*compress)(void *dst, size_t dstCapacity, const void *src, size_t srcSize, int level);
  size_t (*decompress)(void *dst, size_t dstCapacity, const void *src, size_t compressedSize);
  unsigned long long (*getFrameContentSize)(const void *src, size_t srcSize);
  unsigned (*isError)(size_t code);
  const char *(*getErrorName)(size_t code);
} ShardZstd;

// ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR.
#define SHARD_ZSTD_CONTENTSIZE_UNKNOWN (0ULL - 1)
#define SHARD_ZSTD_CONTENTSIZE_ERROR (0ULL - 2)

// The loaded library (the first call loads it, once per process), or NULL when it
// cannot be loaded; then shard_zstd_error() says why (dlerror's text).
const ShardZstd *shard_zstd(void);
const char *shard_zstd_error(void);

#endif
