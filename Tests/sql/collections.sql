.load ./.build/release/libShardExt
-- Collections and their options: columns, shadow tables, shard keys per partition
-- kind, category keys, splitting at max_rows, ids that name their shard.
-- Every row printed must be `<case-id>|1`.

-- defaults: partition month, no time path, max_rows 100000, no index
create virtual table plain_c using shards();
select 'c-01', (select group_concat(name, ',') from pragma_table_info('plain_c')) = 'id,ts,shard,doc';
select 'c-02', (select name || ':' || hidden from pragma_table_xinfo('plain_c') where name = 'filter') = 'filter:1';
select 'c-03', (select group_concat(name, ',') from (select name from sqlite_schema where name like 'plain\_c\_%' escape '\' and type = 'table' order by name)) = 'plain_c_config,plain_c_shards';
select 'c-04', shard_key('plain_c', '2025-01-15T10:00:00Z') = 'plain_c:2025:01:001';
select 'c-05', shard_key('plain_c', '{"a":1}') = 'plain_c:' || strftime('%Y:%m', 'now') || ':001';
select 'c-06', (select count(*) from shard_list('plain_c')) = 0;
select 'c-07', (select value from plain_c_config where key = 'storage') = case when sqlite_version() >= '3.45' then 'jsonb' else 'text' end;

-- every option at once; names are case-insensitive, values may be quoted either way
create virtual table events using shards(
  PARTITION = Month,
  time      = "$.ts",
  time_unit = ms,
  category  = '$.app',
  max_rows  = 2,
  merge     = none,   -- these cases look at the splits themselves
  index     = '$.type',
  index     = 'user: $.user.id'
);
select 'c-10', (select group_concat(name, ',') from pragma_table_info('events')) = 'id,ts,shard,doc,type,user';
select 'c-11', (select count(*) from events) = 0 and (select count(*) from shard_list('events')) = 0;
insert into events(doc) values
  ('{"ts":"2025-01-10T08:00:00Z","app":"web","type":"click","user":{"id":1}}'),
  ('{"ts":"2025-01-11T08:00:00Z","app":"web","type":"view","user":{"id":2}}'),
  ('{"ts":"2025-01-12T08:00:00Z","app":"web","type":"view","user":{"id":3}}'),
  ('{"ts":"2025-01-13T08:00:00Z","app":"web","type":"buy","user":{"id":1}}'),
  ('{"ts":"2025-01-14T08:00:00Z","app":"web","type":"buy"}'),
  ('{"ts":"2025-01-15T08:00:00Z","app":"ios","type":"view","user":{"id":2}}'),
  ('{"ts":"2025-02-01T00:00:00Z","app":"web","type":"view","user":{"id":2}}');
select 'c-12', (select typeof(id) || ',' || typeof(ts) || ',' || typeof(shard) || ',' || typeof(doc) from events limit 1) = 'integer,integer,text,text';
-- splitting at max_rows = 2: web/2025-01 holds 5 rows in 3 shards
select 'c-13', (select group_concat(shard || '=' || rows, ' ') from shard_list('events'))
  = 'events:web:2025:01:001=2 events:web:2025:01:002=2 events:web:2025:01:003=1 events:ios:2025:01:001=1 events:web:2025:02:001=1';
select 'c-14', (select group_concat(tbl, ' ') from shard_list('events'))
  = 'events_web-2025-01-001 events_web-2025-01-002 events_web-2025-01-003 events_ios-2025-01-001 events_web-2025-02-001';
select 'c-15', (select count(*) from sqlite_schema where type = 'table' and name in (select tbl from shard_list('events'))) = 5;
-- ids name their shard: id >> 40 is the shard number, the low 40 bits count rows in it
select 'c-16', (select group_concat(id >> 40, ',') from (select id from events order by id)) = '1,1,2,2,3,4,5';
select 'c-17', (select group_concat(id & 1099511627775, ',') from (select id from events order by id)) = '1,2,1,2,1,1,1';
select 'c-18', (select count(*) from events e join shard_list('events') l on l.shard = e.shard
                 where e.id >> 40 = l.min_id >> 40 and e.id between l.min_id and l.max_id) = 7;
select 'c-19', (select min(id) from events) = 1 << 40 | 1;
-- shard_list columns
select 'c-20', (select group_concat(name, ',') from pragma_table_info('shard_list'))
  = 'collection,shard,tbl,period_start,period_end,rows,min_id,max_id,min_ts,max_ts,state,file,bytes';
select 'c-21', (select period_start = strftime('%s', '2025-01-01') * 1000 and period_end = strftime('%s', '2025-02-01') * 1000
                 from shard_list('events') where shard = 'events:web:2025:01:001');
select 'c-22', (select min_ts = strftime('%s', '2025-01-10 08:00') * 1000 and max_ts = strftime('%s', '2025-01-11 08:00') * 1000
                 from shard_list('events') where shard = 'events:web:2025:01:001');
select 'c-23', (select group_concat(state, ',') from shard_list('events')) = 'sealed,sealed,sealed,sealed,sealed';
select 'c-24', (select count(*) from shard_list('events') where file is null and bytes > 0 and collection = 'events') = 5;
select 'c-25', (select count(*) from shard_list where collection = 'events') = 5;
select 'c-26', (select count(*) from shard_list('EVENTS')) = 5;
-- every shard has the ts index and one functional index per declared path, written as json_extract(doc, '<path>')
select 'c-27', (select count(*) from sqlite_schema where type = 'index' and tbl_name = 'events_web-2025-01-001' and sql is not null) = 3;
select 'c-28', (select sql from sqlite_schema where name = 'events_web-2025-01-001_type')
  = 'CREATE INDEX "events_web-2025-01-001_type" ON "events_web-2025-01-001"(json_extract(doc, ''$.type''))';
select 'c-29', (select sql from sqlite_schema where name = 'events_web-2025-01-001_user')
  = 'CREATE INDEX "events_web-2025-01-001_user" ON "events_web-2025-01-001"(json_extract(doc, ''$.user.id''))';
select 'c-30', (select count(*) from sqlite_schema where type = 'index' and sql like '%json_extract(doc, ''$.type'')%'
                 and tbl_name in (select tbl from shard_list('events'))) = 5;
-- index columns carry json_extract of their path
select 'c-31', (select group_concat(coalesce(type, '-') || '/' || coalesce(user, '-'), ' ') from (select type, user from events order by id))
  = 'click/1 view/2 view/3 buy/1 buy/- view/2 view/2';

-- partition kinds: none, year, month, day, hour
create virtual table p_none using shards(partition = none, time = '$.t');
-- time_unit = ms: these tests use milliseconds near 1970 on purpose.
create virtual table p_year using shards(partition = year, time = '$.t', time_unit = ms);
create virtual table p_month using shards(partition = month, time = '$.t', time_unit = ms);
create virtual table p_day using shards(partition = day, time = '$.t');
create virtual table p_hour using shards(partition = hour, time = '$.t');
select 'c-40', shard_key('p_none', '2025-01-15T13:45:00Z') = 'p_none:001';
select 'c-41', shard_key('p_year', '2025-01-15T13:45:00Z') = 'p_year:2025:001';
select 'c-42', shard_key('p_month', '2025-01-15T13:45:00Z') = 'p_month:2025:01:001';
select 'c-43', shard_key('p_day', '2025-01-15T13:45:00Z') = 'p_day:2025:01:15:001';
select 'c-44', shard_key('p_hour', '2025-01-15T13:45:00Z') = 'p_hour:2025:01:15:13:001';
-- UTC calendar boundaries, to the millisecond
select 'c-45', shard_key('p_hour', 1736953199999) = 'p_hour:2025:01:15:14:001';
select 'c-46', shard_key('p_hour', 1736953200000) = 'p_hour:2025:01:15:15:001';
select 'c-47', shard_key('p_day', '2024-02-29T23:59:59.999Z') = 'p_day:2024:02:29:001';
select 'c-48', shard_key('p_day', '2024-03-01T00:00:00+01:00') = 'p_day:2024:02:29:001';
select 'c-49', shard_key('p_month', '2024-12-31T23:59:59.999Z') = 'p_month:2024:12:001';
select 'c-50', shard_key('p_year', '2025-01-01T00:00:00Z') = 'p_year:2025:001';
select 'c-51', shard_key('p_year', -1) = 'p_year:1969:001';
select 'c-52', shard_key('p_month', 0) = 'p_month:1970:01:001';
select 'c-53', shard_key('p_month', '9999-12-31T23:59:59.999Z') = 'p_month:9999:12:001';
select 'c-54', shard_key('p_month', '0000-01-01') = 'p_month:0000:01:001';
-- the period columns of shard_list follow the partition
insert into p_none(doc) values ('{"t":"2025-01-15T13:45:00Z"}');
insert into p_year(doc) values ('{"t":"2025-01-15T13:45:00Z"}');
insert into p_day(doc) values ('{"t":"2025-01-15T13:45:00Z"}');
insert into p_hour(doc) values ('{"t":"2025-01-15T13:45:00Z"}');
select 'c-55', (select period_start is null and period_end is null and tbl = 'p_none_001' from shard_list('p_none'));
select 'c-56', (select period_start = strftime('%s', '2025-01-01') * 1000 and period_end = strftime('%s', '2026-01-01') * 1000 and tbl = 'p_year_2025-001' from shard_list('p_year'));
select 'c-57', (select period_start = strftime('%s', '2025-01-15') * 1000 and period_end = strftime('%s', '2025-01-16') * 1000 and tbl = 'p_day_2025-01-15-001' from shard_list('p_day'));
select 'c-58', (select period_start = strftime('%s', '2025-01-15 13:00') * 1000 and period_end = strftime('%s', '2025-01-15 14:00') * 1000 and tbl = 'p_hour_2025-01-15-13-001' from shard_list('p_hour'));
-- partition none never seals by time: the only shard is hot
select 'c-59', (select state from shard_list('p_none')) = 'hot';

-- categories: one shard line per value; unsafe values are encoded so keys stay safe and distinct
create virtual table cat using shards(partition = day, time = '$.t', category = '$.app');
select 'c-60', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"billing"}') = 'cat:billing:2025:01:15:001';
select 'c-61', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"Web_App-2"}') = 'cat:Web_App-2:2025:01:15:001';
select 'c-62', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"a b"}') = 'cat:~612062:2025:01:15:001';
select 'c-63', shard_key('cat', '{"t":"2025-01-15T10:00:00Z"}') = 'cat:~null:2025:01:15:001';
select 'c-64', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"a_b"}') = 'cat:a_b:2025:01:15:001';
select 'c-65', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"x''; drop table cat; --"}')
  = 'cat:~' || lower(hex('x''; drop table cat; --')) || ':2025:01:15:001';
select 'c-66', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"~null"}') = 'cat:~7e6e756c6c:2025:01:15:001';
select 'c-67', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":""}') = 'cat:~:2025:01:15:001';
select 'c-68', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"' || printf('%.64c', 'a') || '"}') = 'cat:' || printf('%.64c', 'a') || ':2025:01:15:001';
-- longer than 64 bytes: a hex prefix and a hash, still distinct
select 'c-69', length(shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"' || printf('%.65c', 'a') || '"}')) = length('cat:~') + 48 + 1 + 16 + length(':2025:01:15:001');
select 'c-70', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"' || printf('%.65c', 'a') || '"}')
            != shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"' || printf('%.66c', 'a') || '"}');
select 'c-71', shard_key('cat', '{"t":"2025-01-15T10:00:00Z","app":"é"}') = 'cat:~c3a9:2025:01:15:001';
insert into cat(doc) values
  ('{"t":"2025-01-15T10:00:00Z","app":"a b"}'),
  ('{"t":"2025-01-15T11:00:00Z","app":"a_b"}'),
  ('{"t":"2025-01-15T12:00:00Z"}'),
  ('{"t":"2025-01-15T13:00:00Z","app":"x''; drop table cat; --"}');
select 'c-72', (select count(*) from shard_list('cat')) = 4;
select 'c-73', (select count(*) from sqlite_schema where type = 'table' and name in (select tbl from shard_list('cat'))) = 4;
select 'c-74', (select tbl from shard_list('cat') where shard like 'cat:~6120%') = 'cat_~612062-2025-01-15-001';
select 'c-74b', (select tbl from shard_list('cat') where shard like 'cat:a_b:%') = 'cat_a~5fb-2025-01-15-001';
select 'c-75', (select count(*) from cat) = 4;
-- every shard and catalog table is a shadow table by SQLite's rule (the name before the last _)
select 'c-75b', (select count(*) from pragma_table_list where type = 'shadow' and name in (select tbl from shard_list('cat'))) = 4;
select 'c-75c', (select group_concat(name) from pragma_table_list where name like 'cat\_%' escape '\' and type != 'shadow') is null;
select 'c-76', (select json_extract(doc, '$.app') from cat where shard = 'cat:~612062:2025:01:15:001') = 'a b';
-- category with partition none
create virtual table catn using shards(partition = none, category = '$.app');
select 'c-77', shard_key('catn', '{"app":"web"}') = 'catn:web:001';

-- time_unit = s
create virtual table secs using shards(time = '$.t', time_unit = s, partition = day);
select 'c-80', shard_key('secs', '{"t":1736948700}') = 'secs:2025:01:15:001';
insert into secs(doc) values ('{"t":1736948700}');
select 'c-81', (select ts from secs) = 1736948700000;

-- index names and paths with quotes in them are quoted, never pasted
create virtual table q using shards(partition = none, index = 'x: $."a''b"', index = 'cd: $."c d"', category = '$."we''ird"', index = '$.plain[2].n');
select 'c-90', (select group_concat(name, ',') from pragma_table_info('q')) = 'id,ts,shard,doc,x,cd,n';
insert into q(doc) values ('{"a''b": 7, "c d": "eight", "we''ird": "o''k", "plain": [0, 1, {"n": 9}]}');
select 'c-91', (select x || ',' || cd || ',' || n from q) = '7,eight,9';
select 'c-92', (select count(*) from q where x = 7 and cd = 'eight' and n = 9) = 1;
select 'c-93', (select shard from q) = 'q:~6f276b:001';
select 'c-94', (select sql from sqlite_schema where name = 'q_~6f276b-001_x')
  = 'CREATE INDEX "q_~6f276b-001_x" ON "q_~6f276b-001"(json_extract(doc, ''$."a''''b"''))';
select 'c-95', (select sql from sqlite_schema where name = 'q_~6f276b-001_n')
  = 'CREATE INDEX "q_~6f276b-001_n" ON "q_~6f276b-001"(json_extract(doc, ''$.plain[2].n''))';
-- index paths are normalised: $."type" and $.type are one path
create virtual table norm using shards(index = 'kind: $."type"');
insert into norm(doc) values ('{"type":"a"}');
select 'c-96', (select sql like '%(json_extract(doc, ''$.type''))' from sqlite_schema where name like 'norm\_%\_kind' escape '\') = 1;

-- DROP TABLE removes every shard and shadow table
drop table cat;
select 'c-100', (select count(*) from sqlite_schema where name like 'cat\_%' escape '\' or name = 'cat') = 0;
create virtual table cat using shards(partition = none);
insert into cat(doc) values ('{}');
select 'c-101', (select shard from cat) = 'cat:001';
select 'c-102', (select min_id from shard_list('cat')) = 1 << 40 | 1;
