.load ./.build/release/libShardExt
-- CREATE VIRTUAL TABLE ... USING shards(...) errors: each statement after a
-- `-- expect: <text>` line must fail with a message containing <text>.
-- Everything before the first `-- expect:` is setup and must succeed.
create table x(a);
insert into x values (1);

-- expect: shards: unknown option 'foo'; valid options: partition, time, time_unit, category, max_rows, index, buffer, flush_ms, retain, merge, merge_rows, storage
create virtual table e using shards(foo = 1);

-- expect: shards: unknown option 'Partitions'
create virtual table e using shards(Partitions = month);

-- expect: shards: option partition is given twice; only index may repeat
create virtual table e using shards(partition = month, partition = day);

-- expect: shards: option time is given twice
create virtual table e using shards(time = '$.a', time = '$.b');

-- expect: shards: option max_rows is given twice
create virtual table e using shards(max_rows = 5, MAX_ROWS = 6);

-- expect: shards: bad partition 'week'; valid: none, year, month, day, hour
create virtual table e using shards(partition = week);

-- expect: shards: option partition has no value; write partition = <value>
create virtual table e using shards(partition = '');

-- expect: shards: bad max_rows '0'; valid: an integer from 1 to 1000000000000
create virtual table e using shards(max_rows = 0);

-- expect: shards: bad max_rows 'abc'
create virtual table e using shards(max_rows = abc);

-- expect: shards: bad max_rows '-1'
create virtual table e using shards(max_rows = -1);

-- expect: shards: bad max_rows '1e3'
create virtual table e using shards(max_rows = 1e3);

-- expect: shards: bad max_rows '1000000000001'
create virtual table e using shards(max_rows = 1000000000001);

-- expect: shards: bad max_rows '10.5'
create virtual table e using shards(max_rows = 10.5);

-- expect: shards: bad time_unit 'us'; valid: ms, s
create virtual table e using shards(time = '$.t', time_unit = us);

-- expect: shards: option time_unit = s is given without time; it says how documents' times at time = '$.path' are read, and an INSERT's own ts is always milliseconds
create virtual table e using shards(time_unit = s);

-- expect: shards: option time: bad JSON path 'ts': must start with '$'
create virtual table e using shards(time = 'ts');

-- expect: shards: option time: the path '$' is the whole document
create virtual table e using shards(time = '$');

-- expect: shards: option category: bad JSON path '$.a b'
create virtual table e using shards(category = '$.a b');

-- expect: shards: option category: the path '$' is the whole document
create virtual table e using shards(category = '$');

-- expect: shards: bad index '$.a.': bad JSON path '$.a.'
create virtual table e using shards(index = '$.a.');

-- expect: shards: bad index '$..a': bad JSON path
create virtual table e using shards(index = '$..a');

-- expect: shards: bad index '$.a[-1]': bad JSON path '$.a[-1]': expected [N] with N a non-negative integer
create virtual table e using shards(index = '$.a[-1]');

-- expect: shards: bad index '$.a[#-1]': bad JSON path
create virtual table e using shards(index = '$.a[#-1]');

-- expect: unterminated quoted name
create virtual table e using shards(index = 'n: $."abc');

-- expect: shards: bad index 'type': expected '$.path' or 'name: $.path'
create virtual table e using shards(index = 'type');

-- expect: shards: bad index 'x:': bad JSON path '': must start with '$'
create virtual table e using shards(index = 'x:');

-- expect: shards: bad index '1bad: $.a': column name '1bad' must be letters, digits and _
create virtual table e using shards(index = '1bad: $.a');

-- expect: shards: bad index 'my col: $.a': column name 'my col' must be letters
create virtual table e using shards(index = 'my col: $.a');

-- expect: shards: bad index ': $.a': column name ''
create virtual table e using shards(index = ': $.a');

-- expect: shards: bad index 'id: $.b': column name 'id' is taken by a built-in column (id, ts, shard, doc, filter)
create virtual table e using shards(index = 'id: $.b');

-- expect: column name 'Filter' is taken by a built-in column
create virtual table e using shards(index = '$.Filter');

-- expect: shards: bad index '$[0]': the path does not end in a plain name; give the column a name
create virtual table e using shards(index = '$[0]');

-- expect: shards: bad index '$."c d"': the path does not end in a plain name
create virtual table e using shards(index = '$."c d"');

-- expect: shards: index column 'a' is defined twice; give each index its own name
create virtual table e using shards(index = '$.a', index = 'a: $.b');

-- expect: shards: index column 'a' is defined twice
create virtual table e using shards(index = '$.x.a', index = '$.y.A');

-- expect: shards: path '$.a' is indexed twice (as 'a' and 'b'); keep one
create virtual table e using shards(index = 'a: $.a', index = 'b: $."a"');

-- expect: shards: bad argument 'partition'; expected key = value
create virtual table e using shards(partition);

-- expect: shards: option index has no value
create virtual table e using shards(index = '');

-- expect: shards: option time has a badly quoted value
create virtual table e using shards(time = '$.a' '$.b');

-- expect: shards: collection name 'e-3' must be letters, digits and _
create virtual table "e-3" using shards(partition = none);

-- expect: shards: option time: bad JSON path
create virtual table e using shards(time = '$.a'') ; DROP TABLE x; --');

-- expect: shards: a collection cannot be renamed
create virtual table e using shards(partition = none);
alter table e rename to f;

-- expect: shards: bad index 'user: $.user.id int': unknown type 'int'; valid: integer, real, text, or none
create virtual table e using shards(index = 'user: $.user.id int');

-- expect: shards: bad storage 'blob'; valid: auto, jsonb, text
create virtual table e using shards(storage = blob);

-- expect: shards: option storage is given twice
create virtual table e using shards(storage = text, storage = auto);
