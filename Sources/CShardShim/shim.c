#include "CShardShim.h"

SQLITE_EXTENSION_INIT1

void shard_set_api(const sqlite3_api_routines *api) { sqlite3_api = api; }

int shard_vtab_config(sqlite3 *db, int op) { return sqlite3_vtab_config(db, op); }

char *shard_strdup(const char *text) { return sqlite3_mprintf("%s", text); }

void shard_log(int code, const char *message) { sqlite3_log(code, "%s", message); }
