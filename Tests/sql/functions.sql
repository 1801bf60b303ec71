.load ./.build/release/libShardExt
-- SQL functions: exact return values of shards_version, shards_debug, shard_insert,
-- shard_key, ensure_json_index, and the shard_list table-valued function.
-- Every row printed must be `<case-id>|1`.

-- shards_version() / shards_debug()
select 'f-01', shards_version() = '0.1.0';
select 'f-02', typeof(shards_version()) = 'text';
select 'f-03', shards_debug() like 'shards 0.1.0' || char(10) || '%';
select 'f-04', instr(shards_debug(), char(10) || 'sqlite ' || sqlite_version() || char(10)) > 0;
select 'f-05', instr(shards_debug(), char(10) || 'jsonb ' || case when sqlite_version() >= '3.45' then 'on' else 'off' end || char(10)) > 0;
select 'f-06', (select count(*) from pragma_function_list where name in ('shard_insert', 'shard_key', 'ensure_json_index', 'shards_version', 'shards_debug')) = 5;
select 'f-07', (select count(*) from pragma_module_list where name in ('shards', 'shard_list')) = 2;
-- arity: each function is registered with its documented number of arguments
select 'f-08', (select group_concat(name || '/' || narg, ',') from (select name, narg from pragma_function_list
                 where name in ('shard_insert', 'shard_key', 'ensure_json_index', 'shards_version', 'shards_debug') order by name))
             = 'ensure_json_index/2,shard_insert/2,shard_key/2,shards_debug/0,shards_version/0';

create virtual table ev using shards(partition = month, time = '$.ts', max_rows = 3, index = '$.type', merge = none);

-- shard_insert(collection, doc) -> id, the same as an INSERT
select 'f-10', shard_insert('ev', '{"ts":"2025-01-10T08:00:00Z","type":"a"}') = 1 << 40 | 1;
select 'f-11', typeof(shard_insert('ev', '{"ts":"2025-01-11T08:00:00Z","type":"b"}')) = 'integer';
select 'f-12', shard_insert('EV', '{"ts":"2025-01-12T08:00:00Z","type":"c"}') = 1 << 40 | 3;
select 'f-13', (select group_concat(type, ',') from (select type from ev order by id)) = 'a,b,c';
-- bulk, over json_each: one id per document; the 4th document splits the shard
select 'f-14', (select group_concat(id, ',') from (select shard_insert('ev', value) id from json_each('[
    {"ts":"2025-01-13T08:00:00Z","type":"d"},
    {"ts":"2025-01-14T08:00:00Z","type":"e"},
    {"ts":"2025-02-01T08:00:00Z","type":"f"}]')))
  = ((2 << 40) | 1) || ',' || ((2 << 40) | 2) || ',' || ((3 << 40) | 1);
select 'f-15', (select group_concat(shard || '=' || rows, ' ') from shard_list('ev')) = 'ev:2025:01:001=3 ev:2025:01:002=2 ev:2025:02:001=1';
-- the same function with the collection from a column
create table names(c text);
insert into names values ('ev'), ('ev');
select 'f-16', (select count(shard_insert(c, '{"ts":"2025-03-01T00:00:00Z","type":"g"}')) from names) = 2;
select 'f-17', (select count(*) from ev where type = 'g') = 2;
-- it takes part in the transaction
begin;
select 'f-18', shard_insert('ev', '{"ts":"2025-04-01T00:00:00Z","type":"h"}') = (5 << 40) | 1;
rollback;
select 'f-19', (select count(*) from ev where type = 'h') = 0 and (select count(*) from shard_list('ev') where shard like 'ev:2025:04%') = 0;

-- shard_key(collection, doc_or_time): where a document or a time routes now; writes nothing
select 'f-20', shard_key('ev', '{"ts":"2025-02-02T00:00:00Z"}') = 'ev:2025:02:001';
select 'f-21', shard_key('ev', '  {"ts":"2025-02-02T00:00:00Z"}') = 'ev:2025:02:001';
select 'f-22', shard_key('ev', '2025-02-02T00:00:00Z') = 'ev:2025:02:001';
select 'f-23', shard_key('ev', '2025-02-02') = 'ev:2025:02:001';
select 'f-24', shard_key('ev', 1738454400000) = 'ev:2025:02:001';
select 'f-25', shard_key('ev', 1738454400000.5) = 'ev:2025:02:001';
select 'f-26', shard_key('ev', '2025-01-31T23:30:00-01:00') = 'ev:2025:02:001';
-- a full shard: the key names the next split
select 'f-27', shard_key('ev', '2025-01-20') = 'ev:2025:01:002';
select 'f-28', shard_key('ev', '{"ts":"2025-01-20"}') = 'ev:2025:01:002';
insert into ev(doc) values ('{"ts":"2025-01-21T00:00:00Z","type":"i"}');
select 'f-29', shard_key('ev', '2025-01-20') = 'ev:2025:01:003';
-- a period with no shard yet: its first key; nothing is created
select 'f-30', shard_key('ev', '2031-07-04T12:00:00Z') = 'ev:2031:07:001';
select 'f-31', (select count(*) from shard_list('ev') where shard like 'ev:2031%') = 0
           and (select count(*) from sqlite_schema where name like 'ev\_2031%' escape '\') = 0;
select 'f-32', typeof(shard_key('ev', 1736935200000)) = 'text';
-- with a category: a document gives the category
create virtual table cat using shards(partition = day, time = '$.t', category = '$.app');
select 'f-33', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"billing"}') = 'cat:billing:2025:01:15:001';
select 'f-34', shard_key('cat', '{"t":1736935200000,"app":"a b"}') = 'cat:~612062:2025:01:15:001';
-- without a time path: a document routes to now
create virtual table now_c using shards(partition = hour);
select 'f-35', shard_key('now_c', '{}') = 'now_c:' || strftime('%Y:%m:%d:%H', 'now') || ':001'
           or shard_key('now_c', '{}') = 'now_c:' || strftime('%Y:%m:%d:%H', 'now', '-1 minute') || ':001';
select 'f-36', shard_key('now_c', '2025-01-15T13:45:00Z') = 'now_c:2025:01:15:13:001';

-- ensure_json_index(collection, path): shards that gained the index, then 0
select 'f-40', (select count(*) from shard_list('ev')) = 4;
select 'f-41', ensure_json_index('ev', '$.user.id') = 4;
select 'f-42', ensure_json_index('ev', '$.user.id') = 0;
select 'f-43', ensure_json_index('ev', '$."user".id') = 0;
select 'f-44', ensure_json_index('ev', '$.type') = 0;
select 'f-45', typeof(ensure_json_index('ev', '$.type')) = 'integer';
select 'f-46', (select count(*) from sqlite_schema where type = 'index' and sql like '%(json_extract(doc, ''$.user.id''))'
                 and tbl_name in (select tbl from shard_list('ev'))) = 4;
-- later shards get it too
insert into ev(doc) values ('{"ts":"2025-06-01T00:00:00Z","type":"j","user":{"id":9}}');
select 'f-47', (select count(*) from sqlite_schema where type = 'index' and sql like '%(json_extract(doc, ''$.user.id''))'
                 and tbl_name = (select tbl from shard_list('ev') where shard = 'ev:2025:06:001')) = 1;
select 'f-48', ensure_json_index('ev', '$.user.id') = 0;
-- on a collection with no shard yet: 0, recorded for the first shard
create virtual table empty_c using shards(partition = none);
select 'f-49', ensure_json_index('empty_c', '$.k') = 0;
insert into empty_c(doc) values ('{"k":1}');
select 'f-50', (select count(*) from sqlite_schema where type = 'index' and tbl_name = 'empty_c_001' and sql like '%json_extract(doc, ''$.k'')%') = 1;
select 'f-51', ensure_json_index('empty_c', '$.k') = 0;
-- a quoted path is quoted in the index, not pasted
select 'f-52', ensure_json_index('empty_c', '$."it''s"') = 1;
select 'f-53', (select count(*) from sqlite_schema where type = 'index' and tbl_name = 'empty_c_001' and sql like '%json_extract(doc, ''$."it''''s"'')%') = 1;
select 'f-54', ensure_json_index('empty_c', '$."it''s"') = 0;
-- queries through the collection still give the same answers
select 'f-55', (select count(*) from ev where type = 'g') = 2 and (select count(*) from ev where json_extract(doc, '$.user.id') = 9) = 1;

-- shard_list: one row per shard, every column
select 'f-60', (select collection || '|' || shard || '|' || tbl || '|' || period_start || '|' || period_end || '|' || rows || '|'
                       || min_id || '|' || max_id || '|' || min_ts || '|' || max_ts || '|' || state || '|' || coalesce(file, 'NULL')
                from shard_list('ev') where shard = 'ev:2025:01:001')
  = 'ev|ev:2025:01:001|ev_2025-01-001|' || (strftime('%s', '2025-01-01') * 1000) || '|' || (strftime('%s', '2025-02-01') * 1000) || '|3|'
    || (1 << 40 | 1) || '|' || (1 << 40 | 3) || '|' || (strftime('%s', '2025-01-10 08:00') * 1000) || '|' || (strftime('%s', '2025-01-12 08:00') * 1000) || '|sealed|NULL';
select 'f-61', (select typeof(bytes) from shard_list('ev') where shard = 'ev:2025:01:001') = 'integer';
select 'f-62', (select count(*) from shard_list('empty_c')) = 1 and (select state from shard_list('empty_c')) = 'hot';
select 'f-63', (select group_concat(c) from (select distinct collection c from shard_list order by c)) = 'empty_c,ev';
select 'f-64', (select count(*) from shard_list where collection = 'ev') = (select count(*) from shard_list('ev'));
select 'f-65', (select count(*) from shard_list('ev') l join ev e on e.shard = l.shard) = (select count(*) from ev);

-- The sketch aggregates (docs/rollups.md, "Sketches and their error bounds"):
-- states built from values, merged, and answered.
create table sk(g, v, d);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000)
insert into sk select i % 3, i % 1000, (i % 500) * 1.5 from n;
-- below 256 distinct values the count is exact; 1 and 1.0 are one value, '1' and x'31' two more
select 'sk-01', (select shards_distinct(s) from (select shards_distinct_state(v % 200) s from sk group by g)) = 200;
select 'sk-02', (select shards_distinct(s) from (select shards_distinct_state(x) s from
                  (select 1 x union all select 1.0 union all select '1' union all select x'31' union all select null))) = 3;
-- above it, within 2% (1000 distinct values, states per group merged)
select 'sk-03', (select abs(shards_distinct(s) - 1000) <= 20 from (select shards_distinct_state(v) s from sk group by g));
-- merging per-group states gives the state of all the values
select 'sk-04', (select shards_distinct_merge(s) from (select shards_distinct_state(v) s from sk group by g))
              = (select shards_distinct_state(v) from sk);
select 'sk-05', (select shards_distinct(s) from (select shards_distinct_merge(s) s from (select shards_distinct_state(v) s from sk group by g)))
              = (select shards_distinct(s) from (select shards_distinct_state(v) s from sk));
-- no rows, NULL states: 0, as count(DISTINCT x) gives
select 'sk-06', (select shards_distinct(s) from (select shards_distinct_state(v) s from sk where 0)) = 0
            and (select shards_distinct(null) from sk) = 0 and (select shards_distinct(v) from sk where 0) = 0;
-- quantiles: the value of rank floor(q * (n - 1)), within 1%
select 'sk-07', (select abs(shards_quantile(s, 0.5) - (select d from sk order by d limit 1 offset 1499)) <= 0.01 * 373.5
                 from (select shards_quantile_state(d) s from sk group by g));
select 'sk-08', (select abs(shards_quantile(s, 0.95) - (select d from sk order by d limit 1 offset 2849)) <= 0.01 * 711
                 from (select shards_quantile_state(d) s from sk group by g));
select 'sk-09', (select shards_quantile(s, 0) = 0 and abs(shards_quantile(s, 1) - 748.5) <= 7.485
                 from (select shards_quantile_state(d) s from sk));
select 'sk-10', (select shards_quantile_merge(s) from (select shards_quantile_state(d) s from sk group by g))
              = (select shards_quantile_state(d) from sk);
-- NULL, text and blobs are not numbers: skipped
select 'sk-11', (select abs(shards_quantile(s, 0.5) - 5) <= 0.05 from (select shards_quantile_state(x) s from
                  (select 5 x union all select 'a' union all select null union all select x'00')));
-- an empty sketch has no quantile
select 'sk-12', (select shards_quantile(s, 0.5) is null from (select shards_quantile_state(d) s from sk where 0))
            and (select shards_quantile(null, 0.5) is null);
select 'sk-13', (select typeof(shards_distinct(null)) || typeof(shards_quantile(s, 0.5)) || typeof(shards_distinct_merge(null))
                        || typeof(shards_quantile_merge(null)) || typeof(shards_distinct_state(1)) || typeof(shards_quantile_state(1))
                 from (select shards_quantile_state(1) s)) = 'integerrealblobblobblobblob';
-- registered with their arity, deterministic and innocuous (0x800 | 0x200000)
select 'sk-14', (select group_concat(name || '/' || narg || '/' || (flags & 0x200800 = 0x200800), ',') from
                  (select name, narg, flags from pragma_function_list where name like 'shards\_%' escape '\' and type = 'a' order by name))
              = 'shards_distinct/1/1,shards_distinct_merge/1/1,shards_distinct_state/1/1,shards_quantile/2/1,shards_quantile_merge/1/1,shards_quantile_state/1/1';

-- ensure_json_index(collection, 'name: path [type]'): the index, and a column that
-- statements see from the next one on
create virtual table geo using shards(partition = day, time = '$.t');
insert into geo(doc) values ('{"t":"2025-01-15T10:00:00Z","country":"fr","n":1}'),
  ('{"t":"2025-01-16T10:00:00Z","country":"de","n":"2"}'), ('{"t":"2025-01-16T11:00:00Z","country":"fr","n":3}');
select 'col-01', ensure_json_index('geo', 'country: $.country') = 2;
select 'col-02', (select group_concat(country || '=' || c) from (select country, count(*) c from geo group by country order by country)) = 'de=1,fr=2';
-- the same column again changes nothing
select 'col-03', ensure_json_index('geo', 'country: $.country') = 0;
-- a typed column compares with its affinity: '3' bound as text finds 3
select 'col-04', ensure_json_index('geo', 'n: $.n integer') = 2;
select 'col-05', (select count(*) from geo where n = '3') = 1;
select 'col-06', (select group_concat(name) from pragma_table_info('geo')) = 'id,ts,shard,doc,country,n';
-- a path indexed before: every shard has the index, and the column still comes
select 'col-07', ensure_json_index('geo', '$.city') = 2 and ensure_json_index('geo', 'city: $.city text') = 0;
select 'col-08', (select count(*) from geo where city is null) = 3;
select 'col-09', (select count(*) from geo where filter = '{"country":"fr"}') = 2;
-- new shards get the index too
insert into geo(doc) values ('{"t":"2025-01-20T10:00:00Z","country":"it"}');
select 'col-10', (select country from geo order by id desc limit 1) = 'it';
select 'col-11', (select count(*) from sqlite_schema where type = 'index' and tbl_name like 'geo_2025-01-20%'
                   and sql like '%json_extract(doc, ''$.country'')%') = 1;

-- shard_storage(collection, 'text' | 'jsonb'): every document rewritten, but
-- compressed shards' (their blocks hold text); 0 when it stores so already.
-- (JSONB needs SQLite 3.45: on an older one the jsonb steps are skipped.)
create virtual table stor using shards(partition = day, time = '$.t', storage = text, index = 'k: $.k');
insert into stor(doc) values ('{"t":"2025-01-14T10:00:00Z","k":0}'), ('{"t":"2025-01-15T10:00:00Z","k":1}'), ('{"t":"2025-01-16T10:00:00Z","k":2}');
select 'st-01', shard_storage('stor', 'text') = 0;
select 'st-02', shard_compress('stor', '2025-01-15') = 1;
select 'st-03', case when sqlite_version() >= '3.45' then shard_storage('stor', 'jsonb') = 2 else 1 end;
select 'st-04', (select value from stor_config where key = 'storage') = case when sqlite_version() >= '3.45' then 'jsonb' else 'text' end;
select 'st-05', (select group_concat(k) from (select k from stor where k >= 0 order by k)) = '0,1,2';
select 'st-06', shard_storage('stor', 'text') = case when sqlite_version() >= '3.45' then 2 else 0 end;
select 'st-07', (select group_concat(typeof(doc) || ':' || doc, ' ') from "stor_2025-01-16-001")
  = 'text:{"t":"2025-01-16T10:00:00Z","k":2}';
select 'st-08', (select group_concat(doc, ' ') from (select doc from stor order by k))
  = '{"t":"2025-01-14T10:00:00Z","k":0} {"t":"2025-01-15T10:00:00Z","k":1} {"t":"2025-01-16T10:00:00Z","k":2}';
