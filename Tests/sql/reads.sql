.load ./.build/release/libShardExt
-- Reads: every query on the collection must give what the same query gives on one
-- plain table holding the same documents (json_extract in place of the columns).
-- Every row printed must be `<case-id>|1`.

create virtual table events using shards(partition = month, time = '$.ts', category = '$.app', max_rows = 7, merge = none,
                                         index = '$.type', index = 'user: $.user.id');
create table plain(doc text);

-- 150 documents over ~6 months, 3 apps (+ some without one), 4 types (one missing,
-- one JSON null), users 0..8 (some without a user); n numbers them.
insert into plain(doc)
with recursive g(i) as (select 1 union all select i + 1 from g where i < 150)
select json_object(
  'n', i,
  'ts', 1735689600000 + i * 97200000,
  'app', case when i % 11 = 0 then null when i % 3 = 0 then 'web' when i % 3 = 1 then 'ios' else 'and' end,
  'type', case i % 4 when 0 then 'click' when 1 then 'view' when 2 then 'buy' else null end,
  'user', case when i % 10 = 0 then null else json_object('id', i % 9) end,
  'v', i * 7 % 13)
from g;
-- missing keys rather than JSON nulls for a few
update plain set doc = json_remove(doc, '$.app') where json_extract(doc, '$.n') % 22 = 0;
update plain set doc = json_remove(doc, '$.type') where json_extract(doc, '$.n') % 8 = 7;
update plain set doc = json_remove(doc, '$.user') where json_extract(doc, '$.n') % 20 = 0;
-- period boundaries, to the millisecond
insert into plain(doc) values
  (json_object('n', 1001, 'ts', 1738367999999, 'app', 'web', 'type', 'edge', 'user', json_object('id', 1))),
  (json_object('n', 1002, 'ts', 1738368000000, 'app', 'web', 'type', 'edge', 'user', json_object('id', 1))),
  (json_object('n', 1003, 'ts', 1738368000001, 'app', 'web', 'type', 'edge', 'user', json_object('id', 1)));
insert into events(doc) select doc from plain order by rowid;

create table users(id integer primary key, name text);
insert into users values (1, 'ann'), (2, 'bob'), (3, 'cy'), (42, 'nobody');

-- the basics
select 'r-01', (select count(*) from events) = (select count(*) from plain);
select 'r-02', (select group_concat(doc, ';') from (select doc from events order by json_extract(doc, '$.n')))
             = (select group_concat(doc, ';') from (select doc from plain order by json_extract(doc, '$.n')));
select 'r-03', (select count(*) from shard_list('events')) > 20;
select 'r-04', (select sum(rows) from shard_list('events')) = (select count(*) from plain);
select 'r-05', (select count(*) from events where ts is not json_extract(doc, '$.ts')
                                              or type is not json_extract(doc, '$.type')
                                              or user is not json_extract(doc, '$.user.id')) = 0;
select 'r-06', (select count(*) from events e join shard_list('events') l on e.id between l.min_id and l.max_id
                 where e.shard = l.shard) = (select count(*) from plain);

-- equality, IN, ranges and IS NULL on index columns
select 'r-10', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where type = 'click' order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.type') = 'click' order by n));
select 'r-11', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where user = 3 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.user.id') = 3 order by n));
select 'r-12', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where type is null order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.type') is null order by n));
select 'r-13', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where type in ('buy', 'view') order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.type') in ('buy', 'view') order by n));
select 'r-14', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where user > 4 and user <= 7 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.user.id') > 4 and json_extract(doc, '$.user.id') <= 7 order by n));
select 'r-15', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where user < 2 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.user.id') < 2 order by n));
select 'r-16', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where user >= 8 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.user.id') >= 8 order by n));
select 'r-17', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where type = 'click' and user = 4 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.type') = 'click' and json_extract(doc, '$.user.id') = 4 order by n));
-- a text value never equals a JSON number, on both sides
select 'r-18', (select count(*) from events where user = '3') = (select count(*) from plain where json_extract(doc, '$.user.id') = '3');
select 'r-19', (select count(*) from events where type = 'nope') = 0;
select 'r-20', (select count(*) from events where type is not null) = (select count(*) from plain where json_extract(doc, '$.type') is not null);
select 'r-21', (select count(*) from events where type like 'c%') = (select count(*) from plain where json_extract(doc, '$.type') like 'c%');
select 'r-22', (select count(*) from events where type = 'click' or user = 3)
             = (select count(*) from plain where json_extract(doc, '$.type') = 'click' or json_extract(doc, '$.user.id') = 3);
select 'r-23', (select count(*) from events where type != 'click') = (select count(*) from plain where json_extract(doc, '$.type') != 'click');
-- a path that is not indexed is filtered by SQLite
select 'r-24', (select count(*) from events where json_extract(doc, '$.v') = 5) = (select count(*) from plain where json_extract(doc, '$.v') = 5);
select 'r-25', (select count(*) from events where json_extract(doc, '$.app') = 'web') = (select count(*) from plain where json_extract(doc, '$.app') = 'web');
-- a bound value from a scalar subquery
select 'r-26', (select count(*) from events where user = (select max(id) from users where id < 10))
             = (select count(*) from plain where json_extract(doc, '$.user.id') = 3);

-- ts ranges
select 'r-30', (select count(*) from events where ts = 1738368000000) = 1;
select 'r-31', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where ts < 1738368000000 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.ts') < 1738368000000 order by n));
select 'r-32', (select count(*) from events where ts <= 1738368000000) = (select count(*) from plain where json_extract(doc, '$.ts') <= 1738368000000);
select 'r-33', (select count(*) from events where ts > 1738368000000) = (select count(*) from plain where json_extract(doc, '$.ts') > 1738368000000);
select 'r-34', (select count(*) from events where ts >= 1738368000000) = (select count(*) from plain where json_extract(doc, '$.ts') >= 1738368000000);
select 'r-35', (select group_concat(n) from (select json_extract(doc, '$.n') n from events where ts between 1738000000000 and 1742000000000 order by n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain where json_extract(doc, '$.ts') between 1738000000000 and 1742000000000 order by n));
select 'r-36', (select count(*) from events where ts between 1738000000000 and 1742000000000 and type = 'view')
             = (select count(*) from plain where json_extract(doc, '$.ts') between 1738000000000 and 1742000000000 and json_extract(doc, '$.type') = 'view');
select 'r-37', (select count(*) from events where ts > 1738368000000 and ts < 1738368000000) = 0;
select 'r-38', (select count(*) from events where ts > 1738367999999.5) = (select count(*) from plain where json_extract(doc, '$.ts') > 1738367999999.5);
select 'r-39', (select count(*) from events where ts = 1738368000000.5) = 0;
select 'r-40', (select count(*) from events where ts in (1738367999999, 1738368000001, 5)) = 2;
select 'r-41', (select count(*) from events where ts < 0) = 0 and (select count(*) from events where ts > 9e18) = 0;
select 'r-42', (select count(*) from events where ts is null) = 0;
-- a time given as text compares as a number, as for an INTEGER column
select 'r-43', (select count(*) from events where ts >= '1738368000000') = (select count(*) from plain where cast(json_extract(doc, '$.ts') as integer) >= '1738368000000');
select 'r-44', (select count(*) from events where ts >= strftime('%s', '2025-03-01') * 1000 and ts < strftime('%s', '2025-04-01') * 1000)
             = (select rows from (select sum(rows) rows from shard_list('events') where shard like '%:2025:03:%'));

-- id lookups: = IN and ranges; ids that no shard holds
select 'r-50', (select json_extract(doc, '$.n') from events where id = (select id from events where json_extract(doc, '$.n') = 50)) = 50;
select 'r-51', (select json_extract(doc, '$.n') from events where rowid = (select id from events where json_extract(doc, '$.n') = 51)) = 51;
select 'r-52', (select count(*) from events where id in (select id from events where user = 3)) = (select count(*) from plain where json_extract(doc, '$.user.id') = 3);
select 'r-53', (select count(*) from events e join shard_list('events') l on l.shard = 'events:web:2025:02:001' where e.id between l.min_id and l.max_id) = (select rows from shard_list('events') where shard = 'events:web:2025:02:001');
select 'r-54', (select count(*) from events where id >= (select min_id from shard_list('events') where shard = 'events:web:2025:02:001'))
             = (select count(*) from events where id >> 40 >= (select min_id >> 40 from shard_list('events') where shard = 'events:web:2025:02:001'));
select 'r-55', (select count(*) from events where id < (1 << 40)) = 0;
select 'r-56', (select count(*) from events where id = 12345) = 0 and (select count(*) from events where id = (1 << 40) + 999) = 0;
select 'r-57', (select count(*) from events where id = (999 << 40) + 1) = 0;
select 'r-58', (select count(*) from events where id = -1) = 0;
select 'r-59', (select json_extract(doc, '$.n') from events where id = '' || (select id from events where json_extract(doc, '$.n') = 52)) = 52;

-- shard = key, IN, LIKE, GLOB
select 'r-60', (select count(*) from events where shard = 'events:web:2025:02:001') = (select rows from shard_list('events') where shard = 'events:web:2025:02:001');
select 'r-61', (select count(*) from events where shard = 'events:web:2025:02:001' and type = 'click')
             = (select count(*) from events where shard || '' = 'events:web:2025:02:001' and type = 'click');
select 'r-62', (select count(*) from events where type = 'click' and shard = 'events:web:2025:02:001' and user > 0)
             = (select count(*) from events where shard || '' = 'events:web:2025:02:001' and type = 'click' and user > 0);
select 'r-63', (select count(*) from events where shard = 'events:nope:2025:02:001') = 0;
select 'r-64', (select count(*) from events where shard = 5) = 0;
select 'r-65', (select count(*) from events where shard in ('events:ios:2025:01:001', 'events:web:2025:02:001'))
             = (select sum(rows) from shard_list('events') where shard in ('events:ios:2025:01:001', 'events:web:2025:02:001'));
select 'r-66', (select count(*) from events where shard like 'events:web:%') = (select count(*) from plain where json_extract(doc, '$.app') = 'web');
select 'r-67', (select count(*) from events where shard glob 'events:*:2025:01:*') = (select count(*) from plain where json_extract(doc, '$.ts') < 1738368000000);
select 'r-68', (select count(*) from events where shard like 'events:~null:%') = (select count(*) from plain where json_extract(doc, '$.app') is null);
select 'r-69', (select count(*) from events where shard = 'EVENTS:WEB:2025:02:001' collate nocase) = (select rows from shard_list('events') where shard = 'events:web:2025:02:001');
select 'r-70', (select count(*) from events where shard = 'events:web:2025:02:001' and id = (select min_id from shard_list('events') where shard = 'events:web:2025:01:001')) = 0;

-- ORDER BY id (both directions), ORDER BY ts, LIMIT / OFFSET
select 'r-80', (select group_concat(id) from (select id from events order by id)) = (select group_concat(id) from (select id from events order by id + 0));
select 'r-81', (select group_concat(id) from (select id from events order by id desc)) = (select group_concat(id) from (select id from events order by id + 0 desc));
select 'r-82', (select group_concat(id) from (select id from events order by rowid desc)) = (select group_concat(id) from (select id from events order by id + 0 desc));
select 'r-83', (select group_concat(id) from (select id from events where type = 'view' order by id desc)) = (select group_concat(id) from (select id from events where type = 'view' order by id + 0 desc));
select 'r-84', (select group_concat(id) from (select id from events where type in ('buy', 'click') order by id)) = (select group_concat(id) from (select id from events where type in ('buy', 'click') order by id + 0));
select 'r-85', (select group_concat(id) from (select id from events where ts between 1738000000000 and 1742000000000 order by id desc)) = (select group_concat(id) from (select id from events where ts between 1738000000000 and 1742000000000 order by id + 0 desc));
select 'r-86', (select group_concat(n) from (select json_extract(doc, '$.n') n from events order by ts, n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain order by json_extract(doc, '$.ts'), n));
select 'r-87', (select group_concat(n) from (select json_extract(doc, '$.n') n from events order by ts desc, n))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain order by json_extract(doc, '$.ts') desc, n));
select 'r-88', (select group_concat(id) from (select id from events order by id limit 5)) = (select group_concat(id) from (select id from events order by id + 0 limit 5));
select 'r-89', (select group_concat(id) from (select id from events order by id desc limit 5 offset 40)) = (select group_concat(id) from (select id from events order by id + 0 desc limit 5 offset 40));
select 'r-90', (select count(*) from (select id from events limit -1 offset 100)) = (select count(*) from plain) - 100;
select 'r-91', (select count(*) from (select id from events limit 0)) = 0;
select 'r-92', (select group_concat(id) from (select id from events where user = 2 order by id desc limit 3 offset 1)) = (select group_concat(id) from (select id from events where user = 2 order by id + 0 desc limit 3 offset 1));
select 'r-93', (select count(*) from (select id from events limit 10 offset 1000)) = 0;
select 'r-94', (select group_concat(n) from (select json_extract(doc, '$.n') n from events order by ts limit 7 offset 3))
             = (select group_concat(n) from (select json_extract(doc, '$.n') n from plain order by json_extract(doc, '$.ts') limit 7 offset 3));
select 'r-95', (select group_concat(id) from (select id from events where type = 'view' order by id limit 4)) = (select group_concat(id) from (select id from events where type = 'view' order by id + 0 limit 4));

-- GROUP BY, DISTINCT, aggregates
select 'r-100', (select group_concat(k || ':' || c) from (select coalesce(type, '-') k, count(*) c from events group by type order by k))
              = (select group_concat(k || ':' || c) from (select coalesce(json_extract(doc, '$.type'), '-') k, count(*) c from plain group by json_extract(doc, '$.type') order by k));
select 'r-101', (select group_concat(k || ':' || c) from (select coalesce(user, '-') k, count(*) c from events group by user order by k))
              = (select group_concat(k || ':' || c) from (select coalesce(json_extract(doc, '$.user.id'), '-') k, count(*) c from plain group by json_extract(doc, '$.user.id') order by k));
select 'r-102', (select group_concat(k || ':' || c) from (select shard k, count(*) c from events group by shard order by k))
              = (select group_concat(k || ':' || c) from (select shard k, rows c from shard_list('events') order by k));
select 'r-103', (select group_concat(k || ':' || c) from (select strftime('%Y-%m', ts / 1000, 'unixepoch') k, count(*) c from events group by k order by k))
              = (select group_concat(k || ':' || c) from (select strftime('%Y-%m', json_extract(doc, '$.ts') / 1000, 'unixepoch') k, count(*) c from plain group by k order by k));
select 'r-104', (select group_concat(t) from (select distinct type t from events where type is not null order by t))
              = (select group_concat(t) from (select distinct json_extract(doc, '$.type') t from plain where json_extract(doc, '$.type') is not null order by t));
select 'r-105', (select min(ts) || ',' || max(ts) || ',' || sum(user) || ',' || avg(user) from events)
              = (select min(json_extract(doc, '$.ts')) || ',' || max(json_extract(doc, '$.ts')) || ',' || sum(json_extract(doc, '$.user.id')) || ',' || avg(json_extract(doc, '$.user.id')) from plain);
select 'r-106', (select group_concat(k || ':' || c) from (select type k, count(*) c from events where ts < 1740000000000 group by type having count(*) > 3 order by k))
              = (select group_concat(k || ':' || c) from (select json_extract(doc, '$.type') k, count(*) c from plain where json_extract(doc, '$.ts') < 1740000000000 group by k having count(*) > 3 order by k));

-- joins: with a plain table, with itself, correlated subqueries
select 'r-110', (select count(*) from events e join plain p on p.doc = e.doc) = (select count(*) from plain);
select 'r-111', (select group_concat(x) from (select u.name || '/' || json_extract(e.doc, '$.n') x from users u join events e on e.user = u.id order by u.name, json_extract(e.doc, '$.n')))
              = (select group_concat(x) from (select u.name || '/' || json_extract(p.doc, '$.n') x from users u join plain p on json_extract(p.doc, '$.user.id') = u.id order by u.name, json_extract(p.doc, '$.n')));
select 'r-112', (select count(*) from users u left join events e on e.user = u.id where e.id is null) = 1;
select 'r-113', (select count(*) from events a join events b on a.user = b.user)
              = (select count(*) from plain a join plain b on json_extract(a.doc, '$.user.id') = json_extract(b.doc, '$.user.id'));
select 'r-114', (select count(*) from events a join events b on b.id = a.id) = (select count(*) from plain);
select 'r-115', (select count(*) from events a where exists (select 1 from events b where b.user = a.user and b.type = 'buy' and b.id != a.id))
              = (select count(*) from plain a where exists (select 1 from plain b where json_extract(b.doc, '$.user.id') = json_extract(a.doc, '$.user.id') and json_extract(b.doc, '$.type') = 'buy' and b.rowid != a.rowid));
select 'r-116', (select count(*) from events a join events b on a.type = b.type and a.shard = b.shard)
              = (select sum(c * c) from (select count(*) c from events where type is not null group by shard, type));
select 'r-117', (select group_concat(x) from (select u.name || ':' || (select count(*) from events e where e.user = u.id and e.ts < 1740000000000) x from users u order by u.id))
              = (select group_concat(x) from (select u.name || ':' || (select count(*) from plain p where json_extract(p.doc, '$.user.id') = u.id and json_extract(p.doc, '$.ts') < 1740000000000) x from users u order by u.id));
select 'r-118', (select count(*) from events e where e.user in (select id from users)) = (select count(*) from plain where json_extract(doc, '$.user.id') in (select id from users));
-- a view over the collection
create view clicks as select id, ts, user from events where type = 'click';
select 'r-119', (select count(*) from clicks where user = 1) = (select count(*) from plain where json_extract(doc, '$.type') = 'click' and json_extract(doc, '$.user.id') = 1);
-- reading inside a write transaction sees its own writes
begin;
insert into events(doc) values ('{"n":2000,"ts":1738368000000,"app":"web","type":"late","user":{"id":1}}');
select 'r-120', (select count(*) from events where type = 'late') = 1 and (select count(*) from events) = (select count(*) from plain) + 1;
rollback;
select 'r-121', (select count(*) from events where type = 'late') = 0 and (select count(*) from events) = (select count(*) from plain);

-- times out of order across splits and category lines, with ties: ORDER BY ts (and
-- LIMIT on it) must still merge every shard correctly
create virtual table ooo using shards(partition = none, time = '$.ts', time_unit = ms, category = '$.c', max_rows = 3, index = 'k: $.k');
create table ooo_plain(doc text);
insert into ooo_plain(doc)
with recursive g(i) as (select 1 union all select i + 1 from g where i < 40)
select json_object('k', i, 'ts', (i * 7919) % 23 * 1000, 'c', case when i % 3 = 0 then 'x' else 'y' end) from g;
insert into ooo(doc) select doc from ooo_plain order by rowid;
select 'r-130', (select group_concat(k) from (select k from ooo order by ts, id))
              = (select group_concat(k) from (select json_extract(doc, '$.k') k from ooo_plain order by json_extract(doc, '$.ts'), rowid));
select 'r-131', (select group_concat(ts) from (select ts from ooo order by ts desc))
              = (select group_concat(ts) from (select json_extract(doc, '$.ts') ts from ooo_plain order by 1 desc));
select 'r-132', (select group_concat(ts) from (select ts from ooo order by ts limit 6 offset 5))
              = (select group_concat(ts) from (select json_extract(doc, '$.ts') ts from ooo_plain order by 1 limit 6 offset 5));
select 'r-133', (select group_concat(ts) from (select ts from ooo where k > 10 order by ts desc limit 4))
              = (select group_concat(ts) from (select json_extract(doc, '$.ts') ts from ooo_plain where json_extract(doc, '$.k') > 10 order by 1 desc limit 4));
select 'r-134', (select group_concat(ts) from (select ts from ooo where ts between 5000 and 15000 order by ts))
              = (select group_concat(ts) from (select json_extract(doc, '$.ts') ts from ooo_plain where json_extract(doc, '$.ts') between 5000 and 15000 order by 1));
select 'r-135', (select group_concat(k) from (select k from ooo order by id desc limit 5))
              = (select group_concat(k) from (select k from ooo order by id + 0 desc limit 5));
select 'r-136', (select count(*) from shard_list('ooo')) > 10;
select 'r-137', (select group_concat(k) from (select k from ooo where id in (select id from ooo where ts = 0) order by k))
              = (select group_concat(k) from (select json_extract(doc, '$.k') k from ooo_plain where json_extract(doc, '$.ts') = 0 order by k));

-- shard LIKE / GLOB follow SQLite's own rules: LIKE is case-insensitive, '_' and
-- '?' match one character, ESCAPE works; compared with `shard || ''`, which no
-- virtual table can see
create virtual table pat using shards(time = '$.t', time_unit = ms, category = '$.c', max_rows = 2);
insert into pat(doc) values ('{"t":10,"c":"web"}'), ('{"t":20,"c":"web"}'), ('{"t":5,"c":"web"}'), ('{"t":1,"c":"ios"}'),
                            ('{"t":"2025-01-01","c":"w_b"}'), ('{"t":"2025-01-01","c":"wxb"}');
select 'r-140', (select count(*) from pat where shard like 'PAT:WEB:%') = (select count(*) from pat where shard || '' like 'PAT:WEB:%');
select 'r-141', (select count(*) from pat where shard like 'pat:w_b:%') = (select count(*) from pat where shard || '' like 'pat:w_b:%');
select 'r-142', (select count(*) from pat where shard like 'pat:w\_b:%' escape '\') = 1;
select 'r-143', (select count(*) from pat where shard glob 'pat:web:*') = 3;
select 'r-144', (select count(*) from pat where shard glob 'PAT:web:*') = 0;
select 'r-145', (select count(*) from pat where shard glob 'pat:[w]eb:*') = (select count(*) from pat where shard || '' glob 'pat:[w]eb:*');
select 'r-146', (select count(*) from pat where shard glob 'pat:w?b:*') = (select count(*) from pat where shard || '' glob 'pat:w?b:*');
select 'r-147', (select count(*) from pat where shard like '%:1970:%') = 4;
select 'r-148', (select count(*) from pat where shard like 'pat:web:1970:01:00_') = 3;
select 'r-149', (select count(*) from pat where id in ((1 << 40) | 1, (1 << 40) | 2, 99)) = 2;
select 'r-150', (select count(*) from pat where id in ('' || ((1 << 40) | 1), (1 << 40) | 2)) = 2;
select 'r-151', (select count(*) from pat where id > (1 << 40) | 1 and id < (3 << 40) | 1) = (select count(*) from pat where id + 0 > (1 << 40) | 1 and id + 0 < (3 << 40) | 1);
