// What shards-node needs from C: dqlite (Debian's libdqlite-dev) and the system
// libsqlite3 it runs on, and the extension's entry point, which the node links in
// statically (from the ShardExt target) and registers for every connection.
#include <dqlite.h>
#include <sqlite3.h>

int sqlite3_shardext_init(sqlite3 *db, char **error, const sqlite3_api_routines *api);

// sqlite3_auto_extension takes the entry point as void (*)(void), a cast Swift
// cannot write.
static inline int shard_node_register_extension(void) {
  return sqlite3_auto_extension((void (*)(void))sqlite3_shardext_init);
}
