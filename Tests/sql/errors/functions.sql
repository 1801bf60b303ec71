.load ./.build/release/libShardExt
-- Function errors: each statement after a `-- expect: <text>` line must fail with
-- a message containing <text>.
create virtual table e using shards(time = '$.ts', index = '$.type');
create virtual table cat using shards(time = '$.ts', category = '$.app');
create table plain(doc);

-- expect: shards: no such collection: nope
select shard_insert('nope', '{"ts":1}');

-- expect: shards: ensure_json_index needs a path below the root, like $.type
select ensure_json_index('e', '$');

-- expect: shards: no such collection: nope
select shard_key('nope', '{"ts":1}');

-- expect: shards: no such collection: nope
select ensure_json_index('nope', '$.a');

-- expect: shards: no such collection: nope
select * from shard_list('nope');

-- expect: shards: 'plain' is not a shards collection
select shard_insert('plain', '{"ts":1}');

-- expect: shards: 'plain' is not a shards collection
select shard_key('plain', 0);

-- expect: shards: 'plain' is not a shards collection
select ensure_json_index('plain', '$.a');

-- expect: shards: 'plain' is not a shards collection
select * from shard_list('plain');

-- expect: shards: 'sqlite_schema' is not a shards collection
select shard_key('sqlite_schema', 0);

-- expect: shards: the collection name must be text
select shard_insert(null, '{"ts":1}');

-- expect: shards: the collection name must be text
select shard_key(5, 0);

-- expect: shards: the collection name must be text
select ensure_json_index(x'65', '$.a');

-- expect: shards: shard_list takes a collection name
select * from shard_list(5);

-- expect: shards: bad JSON path 'a': must start with '$'
select ensure_json_index('e', 'a');

-- expect: shards: bad JSON path '$.a b'
select ensure_json_index('e', '$.a b');

-- expect: shards: bad JSON path '$[x]'
select ensure_json_index('e', '$[x]');

-- expect: shards: the path must be text
select ensure_json_index('e', null);

-- expect: shards: malformed JSON document
select shard_insert('e', '{"ts":');

-- expect: shards: a document must be a JSON object, not an array
select shard_insert('e', '[]');

-- expect: shards: doc is NULL
select shard_insert('e', null);

-- expect: shards: unreadable time at $.ts: bad time 'bad'
select shard_insert('e', '{"ts":"bad"}');

-- expect: shards: document has no time at $.ts
select shard_key('e', '{"type":"a"}');

-- expect: shards: bad time 'garbage'
select shard_key('e', 'garbage');

-- expect: shards: bad time '[1]'
select shard_key('e', '[1]');

-- expect: shards: the time must be epoch milliseconds or a time string
select shard_key('e', null);

-- expect: shards: time 253402300800000 ms is out of range
select shard_key('e', 253402300800000);

-- expect: shards: 'cat' is split by category; pass a document, not a time
select shard_key('cat', 0);

-- expect: shards: malformed JSON document
select shard_key('e', '{"ts":1');

-- expect: wrong number of arguments to function shard_key()
select shard_key('e');

-- expect: wrong number of arguments to function shards_version()
select shards_version(1);

-- expect: unsafe use of shard_insert()
create view v as select shard_insert('e', '{"ts":1}');
select * from v;

-- expect: shards: shards_distinct: not a shards distinct state
select shards_distinct(x'00');

-- expect: shards: shards_distinct: not a shards distinct state (a state is a BLOB)
select shards_distinct('abc');

-- expect: shards: shards_quantile: not a shards quantile state
select shards_quantile(s, 0.5) from (select shards_distinct_state(1) s);

-- expect: shards: shards_distinct_merge: not a shards distinct state (checksum mismatch)
select shards_distinct_merge(cast(substr(s, 1, length(s) - 1) || x'00' as blob)) from (select shards_distinct_state(1) s);

-- expect: shards: shards_quantile: the quantile must be a number from 0 to 1
select shards_quantile(s, 2) from (select shards_quantile_state(1) s);

-- expect: shards: shards_quantile: the quantile must be a number from 0 to 1
select shards_quantile(s, '0.5') from (select shards_quantile_state(1) s);

-- expect: shards: shards_quantile: the quantile must be the same on every row
select shards_quantile(s, q) from (select shards_quantile_state(1) s, 0.5 q union all select shards_quantile_state(2), 0.9);

-- expect: wrong number of arguments to function shards_quantile()
select shards_quantile(x'00');

-- shard_key's time is milliseconds, like ts.
-- expect: shards: the time 1736935200 reads as Unix seconds: as milliseconds it is 1970-01-21T02:28:55.200Z, as seconds 2025-01-15T10:00:00.000Z; the time is in milliseconds: give 1736935200000 or a time string
select shard_key('e', 1736935200);

-- expect: shards: time 1736935200 at $.ts reads as Unix seconds
select shard_key('e', '{"ts":1736935200}');

-- expect: shards: time 1736935200 at $.ts reads as Unix seconds
select shard_insert('e', '{"ts":1736935200}');

-- ensure_json_index with a name adds a column; a clash is refused.
-- expect: shards: column 'type' exists already, as 'type: $.type'; give the new column another name
select ensure_json_index('e', 'type: $.kind');

-- expect: shards: column 'type' exists already, as 'type: $.type'
select ensure_json_index('e', 'TYPE: $.type integer');

-- expect: shards: path '$.type' is column 'type' already; a path has one column
select ensure_json_index('e', 'kind: $.type');

-- expect: shards: bad index 'n: $.n float': unknown type 'float'; valid: integer, real, text, or none
select ensure_json_index('e', 'n: $.n float');

-- expect: shards: bad index 'ts: $.time': column name 'ts' is taken by a built-in column
select ensure_json_index('e', 'ts: $.time');

-- expect: shards: bad index 'n-1: $.n': column name 'n-1' must be letters, digits and _
select ensure_json_index('e', 'n-1: $.n');

-- expect: shards: a type belongs to a column; give it a name, e.g. 'n: $.n integer'
select ensure_json_index('e', '$.n integer');

-- expect: shards: bad index 'all: $': the path '$' is the whole document
select ensure_json_index('e', 'all: $');

-- expect: shards: column 'country' exists already, as 'country: $.country'
select ensure_json_index('e', 'country: $.country'), ensure_json_index('e', 'country: $.geo.country');

-- shard_storage(collection, 'text' | 'jsonb')
-- expect: shards: bad storage 'blob'; valid: text, jsonb
select shard_storage('e', 'blob');

-- expect: shards: no such collection: nope
select shard_storage('nope', 'text');

-- expect: shards: the storage ('text' or 'jsonb') must be text
select shard_storage('e', 1);
