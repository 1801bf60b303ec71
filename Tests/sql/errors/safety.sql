.load ./.build/release/libShardExt
-- Names and paths with quotes or SQL in them: refused before they reach SQL (the
-- table x must survive; Tests/python/test_host.py checks that after running these).
create table x(a);
insert into x values (1);
create virtual table e using shards(time = '$.ts', index = '$.type');

-- expect: shards: bad index '$.a'); drop table x; --': bad JSON path
create virtual table e2 using shards(index = '$.a''); drop table x; --');

-- expect: shards: bad index 'x: $.a')); drop table x; --': bad JSON path
create virtual table e2 using shards(index = 'x: $.a'')); drop table x; --');

-- expect: shards: bad index 'x"; drop table x; --: $.a': column name
create virtual table e2 using shards(index = 'x"; drop table x; --: $.a');

-- expect: shards: option time: bad JSON path '$.t'); drop table x; --'
create virtual table e2 using shards(time = '$.t''); drop table x; --');

-- expect: shards: option category: bad JSON path
create virtual table e2 using shards(category = '$.c''||(select 1)||''');

-- expect: shards: collection name 'a; drop table x' must be letters, digits and _
create virtual table "a; drop table x" using shards(partition = none);

-- expect: shards: collection name
create virtual table "x""y" using shards(partition = none);

-- expect: shards: bad JSON path '$.a'); drop table x; --'
select ensure_json_index('e', '$.a''); drop table x; --');

-- expect: shards: bad JSON path
select ensure_json_index('e', '$.a"); drop table x; --');

-- expect: shards: no such collection: e"; drop table x; --
select shard_insert('e"; drop table x; --', '{"ts":1}');

-- expect: shards: no such collection: e'; drop table x; --
select shard_key('e''; drop table x; --', 0);

-- expect: shards: no such collection: x; drop table x
select * from shard_list('x; drop table x');

-- Issue 9 repros in the sqlite3 shell (the system SQLite): errors, never a crash.

-- expect: shards: shards_explain cannot run inside another shards_explain
select shards_explain('e', 'select shards_explain(''e'', ''select 1'')');

-- expect: shards: shards_explain runs read-only queries only
select shards_explain('e', 'update e_config set value = 1');

-- expect: shards: shards_explain takes one statement
select shards_explain('e', 'select 1; drop table x');

-- expect: contains '\', which SQLite versions read differently
create virtual table e2 using shards(time = '$."a\"');

-- expect: is not allowed: it is an absolute path
select shard_archive('e', '2100-01-01', '/tmp/x.db');

-- expect: is not allowed: it contains '..'
select shard_archive('e', '2100-01-01', '../x.db');

-- expect: is not allowed: it contains ':'
select shard_archive('e', '2100-01-01', ':memory:');

-- expect: compressed block claims 1073741824 bytes
select count(*) from shards_block(x'28b52ffde00000004000000000');
