#include "CDqlite.h"

#include <dlfcn.h>
#include <stdio.h>

int sqlite3_shardext_init(sqlite3 *db, char **error, const sqlite3_api_routines *api);

int shard_node_register_extension(void) {
  return sqlite3_auto_extension((void (*)(void))sqlite3_shardext_init);
}

static int (*node_create)(dqlite_node_id, const char *, const char *, dqlite_node **);
static void (*node_destroy)(dqlite_node *);
static int (*node_set_bind_address)(dqlite_node *, const char *);
static int (*node_start)(dqlite_node *);
static int (*node_stop)(dqlite_node *);
static const char *(*node_errmsg)(dqlite_node *);

const char *shard_dqlite_load(void) {
  static char problem[512];
  if (node_create) return NULL;
  void *lib = dlopen("libdqlite.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    snprintf(problem, sizeof problem,
             "cannot load libdqlite.so.0 (Debian's libdqlite0 package): %s", dlerror());
    return problem;
  }
#define LOAD(var, name)                                                              \
  *(void **)(&var) = dlsym(lib, name);                                               \
  if (!var) {                                                                        \
    snprintf(problem, sizeof problem, "libdqlite.so.0 has no %s: dqlite 1.x is needed", name); \
    node_create = NULL;                                                              \
    return problem;                                                                  \
  }
  LOAD(node_destroy, "dqlite_node_destroy")
  LOAD(node_set_bind_address, "dqlite_node_set_bind_address")
  LOAD(node_start, "dqlite_node_start")
  LOAD(node_stop, "dqlite_node_stop")
  LOAD(node_errmsg, "dqlite_node_errmsg")
  LOAD(node_create, "dqlite_node_create")
#undef LOAD
  return NULL;
}

int shard_dqlite_node_create(dqlite_node_id id, const char *address, const char *dir, dqlite_node **n) {
  return node_create(id, address, dir, n);
}
void shard_dqlite_node_destroy(dqlite_node *n) { node_destroy(n); }
int shard_dqlite_node_set_bind_address(dqlite_node *n, const char *address) {
  return node_set_bind_address(n, address);
}
int shard_dqlite_node_start(dqlite_node *n) { return node_start(n); }
int shard_dqlite_node_stop(dqlite_node *n) { return node_stop(n); }
const char *shard_dqlite_node_errmsg(dqlite_node *n) { return node_errmsg(n); }
