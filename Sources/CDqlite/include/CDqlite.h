// What shards-node needs from C: dqlite's node calls, loaded from the system's
// libdqlite.so.0 when the node starts (so building needs no dqlite headers and the
// library alone builds on any machine), the system libsqlite3 the node runs on,
// and the extension's entry point, which the node links in from the ShardExt target
// and registers for every connection.
#ifndef SHARDS_CDQLITE_H
#define SHARDS_CDQLITE_H

#include <sqlite3.h>

typedef struct dqlite_node dqlite_node;
typedef unsigned long long dqlite_node_id;

// Loads libdqlite.so.0 and its node calls once. Returns NULL on success, else a
// sentence saying what is missing.
const char *shard_dqlite_load(void);

// The dqlite 1.x node API (dqlite.h), through the loaded library.
int shard_dqlite_node_create(dqlite_node_id id, const char *address, const char *dir, dqlite_node **n);
void shard_dqlite_node_destroy(dqlite_node *n);
int shard_dqlite_node_set_bind_address(dqlite_node *n, const char *address);
int shard_dqlite_node_start(dqlite_node *n);
int shard_dqlite_node_stop(dqlite_node *n);
const char *shard_dqlite_node_errmsg(dqlite_node *n);

// sqlite3_auto_extension takes the entry point as void (*)(void), a cast Swift
// cannot write.
int shard_node_register_extension(void);

#endif
