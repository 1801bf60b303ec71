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
