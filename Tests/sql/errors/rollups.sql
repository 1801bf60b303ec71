.load ./.build/release/libShardExt
-- CREATE VIRTUAL TABLE ... USING shards_rollup(...) errors: each statement after a
-- `-- expect: <text>` line must fail with a message containing <text>.
-- Everything before the first `-- expect:` is setup and must succeed.
create virtual table ev using shards(time = '$.t', partition = day);
create table plain(a);

-- expect: shards: unknown option 'foo'; valid options: source, bucket, group, measure, retain
create virtual table r using shards_rollup(source = ev, measure = 'n: count', foo = 1);

-- expect: shards: option source is missing
create virtual table r using shards_rollup(measure = 'n: count');

-- expect: shards: rollup 'r' cannot read its source collection 'nope': no such collection: nope
create virtual table r using shards_rollup(source = nope, measure = 'n: count');

-- expect: shards: rollup 'r' cannot read its source collection 'plain': 'plain' is not a shards collection
create virtual table r using shards_rollup(source = plain, measure = 'n: count');

-- expect: shards: option source is given twice; only group and measure may repeat
create virtual table r using shards_rollup(source = ev, source = ev, measure = 'n: count');

-- expect: shards: option measure is missing
create virtual table r using shards_rollup(source = ev);

-- expect: shards: bad bucket '1.5 days'; valid: '<n> <unit>' with n a whole number from 1 to 100000 and unit one of minute, hour, day, week, month (UTC)
create virtual table r using shards_rollup(source = ev, bucket = '1.5 days', measure = 'n: count');

-- expect: shards: bad bucket '2 fortnights'
create virtual table r using shards_rollup(source = ev, bucket = '2 fortnights', measure = 'n: count');

-- expect: shards: bad bucket '0 hours'
create virtual table r using shards_rollup(source = ev, bucket = '0 hours', measure = 'n: count');

-- expect: shards: bad measure 'n: median($.d)': unknown measure 'median'; valid: count, sum(path), min(path), max(path), avg(path), distinct(path), quantile(path, q)
create virtual table r using shards_rollup(source = ev, measure = 'n: median($.d)');

-- expect: shards: bad measure 'count': expected 'name: kind'
create virtual table r using shards_rollup(source = ev, measure = 'count');

-- expect: shards: bad measure 'd: sum(d)': bad JSON path
create virtual table r using shards_rollup(source = ev, measure = 'd: sum(d)');

-- expect: shards: bad measure 'p: quantile($.d, 1.5)': quantile takes a path and q from 0 to 1
create virtual table r using shards_rollup(source = ev, measure = 'p: quantile($.d, 1.5)');

-- expect: shards: bad measure 'bucket: count': column name 'bucket' is taken by a built-in column
create virtual table r using shards_rollup(source = ev, measure = 'bucket: count');

-- expect: shards: bad group '$.a[0]': the path does not end in a plain name
create virtual table r using shards_rollup(source = ev, group = '$.a[0]', measure = 'n: count');

-- expect: shards: bad group 'type'
create virtual table r using shards_rollup(source = ev, group = 'type', measure = 'n: count');

-- expect: shards: column name 'type' is used twice
create virtual table r using shards_rollup(source = ev, group = '$.type', measure = 'type: count');

-- expect: shards: bad retain '3 weeks'
create virtual table r using shards_rollup(source = ev, measure = 'n: count', retain = '3 weeks');
