-- A five-minute tour of shards in the sqlite3 shell. From the repository root:
--
--   swift build -c release && sqlite3 demo.db < examples/tour.sql
--
-- Safe to run again on the same demo.db: it starts by dropping the collection.
.load ./.build/release/libShardExt
.headers on
.mode box

.print
.print "shards" version, SQLite version, JSONB storage on or off
select shards_version() as version, sqlite_version() as sqlite,
       case when instr(shards_debug(), 'jsonb on') then 'on' else 'off' end as jsonb;

-- 1. A collection: one virtual table over many shard tables, cut by month and by
--    app, at most 3 rows per shard (tiny, to show splitting), with two indexed paths
--    that become columns.
drop table if exists events_daily;
drop table if exists events;
create virtual table events using shards(
  partition = month,
  time      = '$.ts',
  category  = '$.app',
  max_rows  = 3,
  index     = '$.type',
  index     = 'user: $.user.id'
);

-- 2. Inserting is plain SQL. Times may be ISO-8601 strings (with an offset) or epoch ms;
--    periods are UTC, so 2025-01-31T23:30-02:00 lands in February.
insert into events(doc) values
  ('{"ts":"2025-01-30T09:15:00Z","app":"web","type":"click","user":{"id":1}}'),
  ('{"ts":"2025-01-31T23:30:00-02:00","app":"web","type":"view","user":{"id":2}}'),
  ('{"ts":1738400000000,"app":"ios","type":"click","user":{"id":1}}');

-- ... or in bulk from a JSON array, through shard_insert (it returns the new ids).
.print
.print Bulk insert from a JSON array with shard_insert
select count(shard_insert('events', value)) as inserted
from json_each('[
  {"ts":"2025-02-02T10:00:00Z","app":"web","type":"buy","user":{"id":2}},
  {"ts":"2025-02-03T11:00:00Z","app":"web","type":"click","user":{"id":3}},
  {"ts":"2025-02-04T12:00:00Z","app":"web","type":"view","user":{"id":1}},
  {"ts":"2025-02-05T13:00:00Z","app":"web","type":"click","user":{"id":2}},
  {"ts":"2025-02-06T14:00:00Z","app":"ios","type":"buy","user":{"id":3}}
]');

.print
.print The collection reads as one table: id, ts (ms), shard, doc and the index columns.
select id, strftime('%Y-%m-%d %H:%M', ts / 1000, 'unixepoch') as time, shard, type, user
from events order by id;

.print
.print Equality on an indexed column is answered by each shard's functional index.
select type, count(*) as n from events where user = 1 group by type order by type;

.print
.print A time range visits only the shards whose month can match.
select shard, count(*) as n from events
where ts >= strftime('%s', '2025-02-01') * 1000 and ts < strftime('%s', '2025-03-01') * 1000
group by shard order by shard;

.print
.print Ids name their shard: id >> 40 is the shard number, so a lookup by id goes straight there.
select id >> 40 as shard_number, id & 1099511627775 as row_in_shard, shard
from events where id = (select max(id) from events);

-- 3. The shards themselves. web / 2025-02 got 5 rows, so it split at max_rows = 3.
.print
.print shard_list: one row per shard table
select shard, tbl, rows, min_ts, max_ts, state from shard_list('events');

-- 4. shard_key: where a document or a time would go now, without writing anything.
.print
.print shard_key: where a document or a time would be routed
select shard_key('events', '{"ts":"2025-02-20T08:00:00Z","app":"web"}') as web_doc,
       shard_key('events', '{"ts":"2025-03-01T00:00:00+01:00","app":"android"}') as android_doc,
       shard_key('events', '{"ts":"2025-02-20T08:00:00Z","app":"new app!"}') as unsafe_category;

-- 5. ensure_json_index: index another path on every shard (and on future ones).
.print
.print ensure_json_index: shards that gained the index, then 0 the second time
select ensure_json_index('events', '$.user.plan') as first_call,
       ensure_json_index('events', '$.user.plan') as second_call;

-- 6. Updates stay in their shard; deletes go straight to it by id.
update events set doc = json_set(doc, '$.type', 'purchase') where type = 'buy';
delete from events where id = (select min(id) from events);
.print
.print After an update and a delete
select type, count(*) as n from events group by type order by type;

-- 7. A rollup: counts per day and type, as GROUP BY over the collection answers
--    them (docs/rollups.md).
create virtual table events_daily using shards_rollup(
  source = events, bucket = '1 day', group = '$.type', measure = 'n: count');
.print
.print A daily rollup
select bucket, type, n from events_daily where bucket >= '2025-02-01' order by bucket, type;

.print
.print "Drop it all with: DROP TABLE events_daily; DROP TABLE events; (every shard and catalog table goes with it)"
