-- db: file
.load ./.build/release/libShardExt
-- Writes: INSERT / UPDATE / DELETE, time strings and numbers, time_unit = s,
-- explicit ts, transactions and rollback (on a file database, with a real journal).
-- Every row printed must be `<case-id>|1`.

create virtual table ev using shards(partition = month, time = '$.ts', index = '$.type', index = 'user: $.user.id');

-- INSERT: the id is the rowid; last_insert_rowid() sees it
insert into ev(doc) values ('{"ts":"2025-01-10T08:00:00Z","type":"click","user":{"id":1}}');
select 'w-01', last_insert_rowid() = 1 << 40 | 1;
select 'w-02', (select id from ev) = 1 << 40 | 1;
insert into ev(doc) values ('{"ts":"2025-01-11T08:00:00Z","type":"view","user":{"id":2}}');
select 'w-03', last_insert_rowid() = 1 << 40 | 2;
-- ts column is NULL in the INSERT: allowed, the time comes from the document
insert into ev(doc, ts) values ('{"ts":"2025-01-12T08:00:00Z","type":"view"}', null);
select 'w-04', (select count(*) from ev) = 3;
select 'w-05', (select doc from ev where id = 1 << 40 | 1) = '{"ts":"2025-01-10T08:00:00Z","type":"click","user":{"id":1}}';

-- time strings: ISO-8601 / SQLite forms, fractions, offsets; UTC when none
-- (time_unit = ms: k 15 and 16 are milliseconds near 1970 on purpose)
create virtual table t using shards(partition = month, time = '$.t', time_unit = ms, index = 'k: $.k');
insert into t(doc) values
  ('{"k":1,  "t":"2025-01-31T23:59:59Z"}'),
  ('{"k":2,  "t":"2025-01-31 23:59:59.250"}'),
  ('{"k":3,  "t":"2025-01-31T23:59:59.2509"}'),
  ('{"k":4,  "t":"2025-02-01T00:30:00+01:00"}'),
  ('{"k":5,  "t":"2025-01-31T19:00:00-05:00"}'),
  ('{"k":6,  "t":"2025-02-01T05:00:00+0530"}'),
  ('{"k":7,  "t":"2025-02-01T04:30+05"}'),
  ('{"k":8,  "t":"2025-01-31"}'),
  ('{"k":9,  "t":"2025-01-31T23:59"}'),
  ('{"k":10, "t":"2025-01-31t23:59:59z"}'),
  ('{"k":11, "t":"2025-01-31 23:59:59 +00:00"}'),
  ('{"k":12, "t":"2025-01-31T23:59:59.5"}'),
  ('{"k":13, "t":1738367999000}'),
  ('{"k":14, "t":1738367999000.9}'),
  ('{"k":15, "t":-1}'),
  ('{"k":16, "t":0}'),
  ('{"k":17, "t":"2024-02-29T12:00:00Z"}');
select 'w-10', (select ts from t where k = 1) = strftime('%s', '2025-01-31 23:59:59') * 1000;
select 'w-11', (select ts from t where k = 2) = strftime('%s', '2025-01-31 23:59:59') * 1000 + 250;
select 'w-12', (select ts from t where k = 3) = strftime('%s', '2025-01-31 23:59:59') * 1000 + 250;
select 'w-13', (select ts from t where k = 4) = strftime('%s', '2025-01-31 23:30:00') * 1000;
select 'w-14', (select shard from t where k = 4) = 't:2025:01:001';
select 'w-15', (select ts from t where k = 5) = strftime('%s', '2025-02-01 00:00:00') * 1000;
select 'w-16', (select shard from t where k = 5) = 't:2025:02:001';
select 'w-17', (select ts from t where k = 6) = strftime('%s', '2025-01-31 23:30:00') * 1000;
select 'w-18', (select ts from t where k = 7) = strftime('%s', '2025-01-31 23:30:00') * 1000;
select 'w-19', (select ts from t where k = 8) = strftime('%s', '2025-01-31') * 1000;
select 'w-20', (select ts from t where k = 9) = strftime('%s', '2025-01-31 23:59') * 1000;
select 'w-21', (select ts from t where k = 10) = strftime('%s', '2025-01-31 23:59:59') * 1000;
select 'w-22', (select ts from t where k = 11) = strftime('%s', '2025-01-31 23:59:59') * 1000;
select 'w-23', (select ts from t where k = 12) = strftime('%s', '2025-01-31 23:59:59') * 1000 + 500;
select 'w-24', (select ts from t where k = 13) = 1738367999000;
select 'w-25', (select ts from t where k = 14) = 1738367999000;
select 'w-26', (select ts || ' ' || shard from t where k = 15) = '-1 t:1969:12:001';
select 'w-27', (select ts || ' ' || shard from t where k = 16) = '0 t:1970:01:001';
select 'w-28', (select shard from t where k = 17) = 't:2024:02:001';
-- the document is stored as given (time strings are not rewritten)
select 'w-29', (select json_extract(doc, '$.t') from t where k = 4) = '2025-02-01T00:30:00+01:00';
select 'w-30', (select group_concat(shard || '=' || rows, ' ') from shard_list('t'))
  = 't:2025:01:001=13 t:2025:02:001=1 t:1969:12:001=1 t:1970:01:001=1 t:2024:02:001=1';

-- time_unit = s: numbers are seconds (fractions kept to the ms); strings are unchanged
create virtual table s using shards(partition = day, time = '$.t', time_unit = s, index = 'k: $.k');
insert into s(doc) values ('{"k":1,"t":1736948700}'), ('{"k":2,"t":1736948700.25}'), ('{"k":3,"t":"2025-01-15T13:45:00Z"}'), ('{"k":4,"t":1.001}');
select 'w-35', (select ts from s where k = 1) = 1736948700000;
select 'w-36', (select ts from s where k = 2) = 1736948700250;
select 'w-37', (select ts from s where k = 3) = 1736948700000;
select 'w-38', (select ts from s where k = 4) = 1001;
select 'w-39', (select shard from s where k = 1) = 's:2025:01:15:001';

-- no time path: ts is the insertion time unless the INSERT gives it
create virtual table nt using shards(partition = day, index = 'k: $.k');
insert into nt(doc, ts) values ('{"k":1}', 1736948700000);
insert into nt(doc, ts) values ('{"k":2}', '2025-01-15T13:45:00+01:00');
insert into nt(doc, ts) values ('{"k":3}', 1736948700000.75);
insert into nt(doc) values ('{"k":4}');
select 'w-40', (select ts || ' ' || shard from nt where k = 1) = '1736948700000 nt:2025:01:15:001';
select 'w-41', (select ts from nt where k = 2) = 1736948700000 - 3600000;
select 'w-42', (select ts from nt where k = 3) = 1736948700000;
select 'w-43', (select abs(ts - (julianday('now') - 2440587.5) * 86400000) < 60000 from nt where k = 4);
select 'w-44', (select shard from nt where k = 4) = 'nt:' || strftime('%Y:%m:%d', 'now') || ':001';

-- UPDATE: rewrites the document in its shard; index columns follow
update ev set doc = '{"ts":"2025-01-10T09:00:00Z","type":"buy","user":{"id":7}}' where id = 1 << 40 | 1;
select 'w-50', (select type || ',' || user || ',' || ts from ev where id = 1 << 40 | 1) = 'buy,7,' || (strftime('%s', '2025-01-10 09:00') * 1000);
select 'w-51', (select count(*) from ev where type = 'buy') = 1 and (select count(*) from ev where type = 'click') = 0;
select 'w-52', (select count(*) from ev where user = 7) = 1;
update ev set doc = json_set(doc, '$.type', 'seen') where type = 'view';
select 'w-53', (select count(*) from ev where type = 'seen') = 2 and (select count(*) from ev where type = 'view') = 0;
-- the time bounds of the shard widen with the updated time
select 'w-54', (select min_ts from shard_list('ev')) = strftime('%s', '2025-01-10 08:00') * 1000
           and (select max_ts from shard_list('ev')) = strftime('%s', '2025-01-12 08:00') * 1000;
-- UPDATE of ts on a collection without a time path, inside the period
update nt set ts = 1736948700000 + 60000 where k = 1;
select 'w-55', (select ts from nt where k = 1) = 1736948760000;
-- UPDATE of doc alone keeps the stored ts when there is no time path
update nt set doc = '{"k":1,"v":2}' where k = 1;
select 'w-56', (select ts || ' ' || json_extract(doc, '$.v') from nt where k = 1) = '1736948760000 2';
-- an UPDATE that changes nothing is a no-op
update ev set doc = doc where id = 1 << 40 | 2;
select 'w-57', (select count(*) from ev) = 3;
-- UPDATE of a missing id changes nothing
update ev set doc = '{"ts":"2025-01-10T09:00:00Z"}' where id = 42;
select 'w-58', changes() = 0;

-- DELETE: by id and by index; rows counters follow; ids are never reused
delete from ev where id = 1 << 40 | 2;
select 'w-60', (select count(*) from ev) = 2 and (select rows from shard_list('ev')) = 2;
delete from ev where type = 'seen';
select 'w-61', (select count(*) from ev) = 1 and (select rows from shard_list('ev')) = 1;
insert into ev(doc) values ('{"ts":"2025-01-20T08:00:00Z","type":"new"}');
select 'w-62', last_insert_rowid() = 1 << 40 | 4;
delete from ev where id = 99 << 40 | 1;
select 'w-63', (select count(*) from ev) = 2;
delete from ev;
select 'w-64', (select count(*) from ev) = 0 and (select rows from shard_list('ev')) = 0;
insert into ev(doc) values ('{"ts":"2025-01-21T08:00:00Z"}');
select 'w-65', last_insert_rowid() = 1 << 40 | 5;

-- bulk INSERT ... SELECT, and shard_insert over json_each
create virtual table bulk using shards(partition = month, time = '$.ts', max_rows = 10, index = 'n: $.n');
insert into bulk(doc)
with recursive g(value) as (select 1 union all select value + 1 from g where value < 25)
select json_object('n', value, 'ts', 1735689600000 + value * 3600000) from g;
select 'w-70', (select count(*) from bulk) = 25;
select 'w-71', (select group_concat(rows, ',') from shard_list('bulk')) = '10,10,5';
select 'w-72', (select sum(shard_insert('bulk', value)) > 0 from json_each('[{"ts":1735689600000,"n":100},{"ts":1735689600000,"n":101}]'));
select 'w-73', (select count(*) from bulk where n >= 100) = 2 and (select group_concat(rows, ',') from shard_list('bulk')) = '10,10,7';

-- transactions: ROLLBACK undoes writes, shard creation included
create virtual table r using shards(partition = month, time = '$.ts', index = '$.type');
begin;
insert into r(doc) values ('{"ts":"2025-01-10T08:00:00Z","type":"a"}');
select 'w-80', (select count(*) from r) = 1 and (select count(*) from shard_list('r')) = 1;
rollback;
select 'w-81', (select count(*) from shard_list('r')) = 0;
select 'w-82', (select count(*) from r) = 0;
select 'w-83', (select group_concat(name, ',') from (select name from sqlite_schema where name like 'r\_%' escape '\' and type = 'table' order by name)) = 'r_config,r_shards';
select 'w-84', (select count(*) from sqlite_schema where name like 'r\_%' escape '\' and type = 'index' and sql is not null and tbl_name <> 'r_shards') = 0;
select 'w-85', (select value from r_config where key = 'next_number') = '1';
-- after the rollback the collection starts over cleanly
insert into r(doc) values ('{"ts":"2025-01-10T08:00:00Z","type":"a"}');
select 'w-86', last_insert_rowid() = 1 << 40 | 1 and (select shard from r) = 'r:2025:01:001';
-- a rolled-back second shard and rolled-back rows in an existing shard
begin;
insert into r(doc) values ('{"ts":"2025-02-10T08:00:00Z","type":"b"}');
insert into r(doc) values ('{"ts":"2025-01-11T08:00:00Z","type":"c"}');
rollback;
select 'w-87', (select group_concat(shard || '=' || rows, ' ') from shard_list('r')) = 'r:2025:01:001=1';
select 'w-88', (select count(*) from r) = 1 and (select count(*) from sqlite_schema where name like 'r\_2025\_02%' escape '\') = 0;
-- COMMIT keeps them
begin;
insert into r(doc) values ('{"ts":"2025-02-10T08:00:00Z","type":"b"}');
insert into r(doc) values ('{"ts":"2025-01-11T08:00:00Z","type":"c"}');
commit;
select 'w-89', (select group_concat(shard || '=' || rows, ' ') from shard_list('r')) = 'r:2025:01:001=2 r:2025:02:001=1';
select 'w-90', (select group_concat((id >> 40) || ':' || (id & 255), ',') from (select id from r order by id)) = '1:1,1:2,2:1';
-- savepoints: ROLLBACK TO undoes part of a transaction, counters included
begin;
insert into r(doc) values ('{"ts":"2025-01-12T08:00:00Z","type":"d"}');
savepoint sp;
insert into r(doc) values ('{"ts":"2025-01-13T08:00:00Z","type":"e"}');
insert into r(doc) values ('{"ts":"2025-03-13T08:00:00Z","type":"f"}');
rollback to sp;
release sp;
commit;
select 'w-91', (select group_concat(shard || '=' || rows, ' ') from shard_list('r')) = 'r:2025:01:001=3 r:2025:02:001=1';
select 'w-92', (select group_concat(type, ',') from (select type from r order by id)) = 'a,c,d,b';
select 'w-93', (select count(*) from r_shards) = 2 and (select sum(rows) from r_shards) = 4;
-- ids keep counting after a partial rollback
insert into r(doc) values ('{"ts":"2025-01-14T08:00:00Z","type":"g"}');
select 'w-94', (select id & 255 from r where type = 'g') > (select id & 255 from r where type = 'd');
-- a rolled-back DELETE restores the rows and the counter
begin;
delete from r where type = 'a';
rollback;
select 'w-95', (select count(*) from r where type = 'a') = 1 and (select rows from shard_list('r') where shard = 'r:2025:01:001') = 4;
-- a partial rollback that undoes a shard creation, read before COMMIT; then ids go on without a clash
begin;
insert into r(doc) values ('{"ts":"2025-01-15T08:00:00Z","type":"h"}');
savepoint sp2;
insert into r(doc) values ('{"ts":"2025-01-16T08:00:00Z","type":"i"}');
insert into r(doc) values ('{"ts":"2025-04-16T08:00:00Z","type":"j"}');
rollback to sp2;
select 'w-96', (select count(*) from r) = 6 and (select count(*) from shard_list('r')) = 2;
release sp2;
commit;
insert into r(doc) values ('{"ts":"2025-01-17T08:00:00Z","type":"k"}');
select 'w-97', (select group_concat(shard || '=' || rows, ' ') from shard_list('r')) = 'r:2025:01:001=6 r:2025:02:001=1';
select 'w-98', (select group_concat(type, ',') from (select type from r order by id)) = 'a,c,d,g,h,k,b';

-- time_unit given: small numbers are what they say (without it, a number below
-- 10^11 reads as Unix seconds and is refused: sql/errors/writes.sql)
create virtual table tu_ms using shards(partition = year, time = '$.t', time_unit = ms);
insert into tu_ms(doc) values ('{"t":1736935200}');
select 'tu-01', (select ts || ' ' || shard from tu_ms) = '1736935200 tu_ms:1970:001';
create virtual table tu_s using shards(partition = day, time = '$.t', time_unit = s);
insert into tu_s(doc) values ('{"t":1736935200}');
select 'tu-02', (select ts || ' ' || shard from tu_s) = '1736935200000 tu_s:2025:01:15:001';
-- from 10^11 on, numbers are milliseconds without time_unit
create virtual table tu_auto using shards(partition = year, time = '$.t');
insert into tu_auto(doc) values ('{"t":100000000000}'), ('{"t":-100000000000}'), ('{"t":"1970-01-21T02:28:55Z"}');
select 'tu-03', (select group_concat(shard, ' ') from (select shard from tu_auto order by ts))
  = 'tu_auto:1966:001 tu_auto:1970:001 tu_auto:1973:001';
-- without time, time_unit = ms lets an INSERT's own ts, and shard_key's time, be small
create virtual table nt_ms using shards(partition = year, time_unit = ms);
insert into nt_ms(doc, ts) values ('{}', 5);
select 'tu-04', (select ts from nt_ms) = 5 and shard_key('nt_ms', 5) = 'nt_ms:1970:001';
-- the unit is recorded in the collection when given
select 'tu-05', (select value from tu_s_config where key = 'time_unit') = 's'
  and (select count(*) from tu_auto_config where key = 'time_unit') = 0;
