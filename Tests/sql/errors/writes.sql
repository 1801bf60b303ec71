.load ./.build/release/libShardExt
-- INSERT / UPDATE / DELETE errors: each statement after a `-- expect: <text>`
-- line must fail with a message containing <text>.
create virtual table e using shards(time = '$.ts', category = '$.app', index = '$.type');
create virtual table s using shards(time = '$.ts', time_unit = s);
create virtual table n using shards(partition = day);
insert into e(doc) values ('{"ts":"2025-01-15T10:00:00Z","app":"web","type":"a"}');
insert into n(doc, ts) values ('{"k":1}', '2025-01-15T10:00:00Z');

-- expect: shards: malformed JSON document
insert into e(doc) values ('{"ts": 1, "type":');

-- expect: shards: malformed JSON document
insert into e(doc) values ('not json');

-- expect: shards: a document must be a JSON object, not an array
insert into e(doc) values ('[1, 2]');

-- expect: shards: a document must be a JSON object, not a string
insert into e(doc) values ('"s"');

-- expect: shards: a document must be a JSON object, not
insert into e(doc) values ('5');

-- expect: shards: a document must be a JSON object, not
insert into e(doc) values ('null');

-- expect: shards: a document must be a JSON object, not a boolean
insert into e(doc) values ('true');

-- expect: shards: doc must be a JSON object given as text, not a number
insert into e(doc) values (5);

-- expect: shards: doc must be a JSON object given as text, not a number
insert into e(doc) values (2.5);

-- expect: shards: doc is NULL; insert a JSON object
insert into e(doc) values (null);

-- expect: shards: doc is NULL
insert into e(ts) values (5);

-- expect: shards: document has no time at $.ts
insert into e(doc) values ('{"app":"web"}');

-- expect: shards: unreadable time at $.ts: bad time 'yesterday'
insert into e(doc) values ('{"ts":"yesterday"}');

-- expect: shards: unreadable time at $.ts: bad time '2025-13-01': month 13 is not 01-12
insert into e(doc) values ('{"ts":"2025-13-01"}');

-- expect: shards: unreadable time at $.ts: bad time '2025-02-30': day 30 is not 01-28
insert into e(doc) values ('{"ts":"2025-02-30"}');

-- expect: shards: unreadable time at $.ts: bad time '2025-01-15T24:00:00Z': hour 24
insert into e(doc) values ('{"ts":"2025-01-15T24:00:00Z"}');

-- expect: shards: unreadable time at $.ts: bad time '2025-01-15T10:00:00+15:00'
insert into e(doc) values ('{"ts":"2025-01-15T10:00:00+15:00"}');

-- expect: shards: unreadable time at $.ts: bad time '2025-01-15T10:00:00 '
insert into e(doc) values ('{"ts":"2025-01-15T10:00:00 "}');

-- expect: shards: unreadable time at $.ts: bad time ''
insert into e(doc) values ('{"ts":""}');

-- expect: shards: time at $.ts must be a number or a time string, not true
insert into e(doc) values ('{"ts":true}');

-- expect: shards: time at $.ts must be a number or a time string, not false
insert into e(doc) values ('{"ts":false}');

-- expect: shards: time at $.ts must be a number or a time string, not null
insert into e(doc) values ('{"ts":null}');

-- expect: shards: time at $.ts must be a number or a time string, not array
insert into e(doc) values ('{"ts":[1]}');

-- expect: shards: time 253402300800000 ms is out of range
insert into e(doc) values ('{"ts":253402300800000}');

-- expect: shards: time 253402300800 s is out of range
insert into s(doc) values ('{"ts":253402300800}');

-- expect: shards: time 9223372036854775807 s is out of range
insert into s(doc) values ('{"ts":9223372036854775807}');

-- expect: shards: ids are assigned by the collection; insert without id
insert into e(id, doc) values (5, '{"ts":1}');

-- expect: shards: ids are assigned by the collection
insert into e(rowid, doc) values (5, '{"ts":1}');

-- expect: shards: column type is computed from doc; insert only doc (and ts)
insert into e(doc, type) values ('{"ts":1}', 'x');

-- expect: shards: column shard is computed from doc
insert into e(doc, shard) values ('{"ts":1}', 'e:1970:01:001');

-- expect: shards: 'e' reads ts from $.ts
insert into e(doc, ts) values ('{"ts":1}', 5);

-- expect: shards: 'e' reads ts from $.ts
update e set ts = 7;

-- expect: shards: ts must be epoch milliseconds or a time string
insert into n(doc, ts) values ('{}', x'00');

-- expect: shards: bad time 'soon'
insert into n(doc, ts) values ('{}', 'soon');

-- expect: out of range
insert into n(doc, ts) values ('{}', -62167219200001);

-- expect: shards: this update moves document
update e set doc = '{"ts":"2025-02-15T10:00:00Z","app":"web","type":"a"}';

-- expect: (to another period or category); delete it and insert it again
update e set doc = '{"ts":"2025-01-15T10:00:00Z","app":"ios","type":"a"}';

-- expect: shards: this update moves document
update e set doc = json_remove(doc, '$.app');

-- expect: shards: this update moves document
update n set ts = '2025-01-16T10:00:00Z';

-- expect: shards: document has no time at $.ts
update e set doc = '{"app":"web"}';

-- expect: shards: a document must be a JSON object, not an array
update e set doc = '[]';

-- expect: shards: the id of a document cannot change
update e set id = 7;

-- expect: shards: the id of a document cannot change
update e set rowid = rowid + 1;

-- expect: shards: column type is computed from doc and cannot be set
update e set type = 'b';

-- expect: shards: column shard is computed from doc and cannot be set
update e set shard = 'e:web:2025:02:001';

-- Numbers that read as Unix seconds (magnitude below 10^11): refused unless the
-- collection gives time_unit; the error shows both readings.
-- expect: shards: time 1736935200 at $.ts reads as Unix seconds: as milliseconds it is 1970-01-21T02:28:55.200Z, as seconds 2025-01-15T10:00:00.000Z; add time_unit = s to the collection if its times are seconds
insert into e(doc) values ('{"ts":1736935200,"app":"web"}');

-- expect: shards: time 1736935200.25 at $.ts reads as Unix seconds: as milliseconds it is 1970-01-21T02:28:55.200Z, as seconds 2025-01-15T10:00:00.250Z
insert into e(doc) values ('{"ts":1736935200.25,"app":"web"}');

-- expect: shards: time 99999999999 at $.ts reads as Unix seconds
insert into e(doc) values ('{"ts":99999999999}');

-- expect: shards: time -86400 at $.ts reads as Unix seconds: as milliseconds it is 1969-12-31T23:58:33.600Z, as seconds 1969-12-31T00:00:00.000Z
insert into e(doc) values ('{"ts":-86400}');

-- (a statement of many rows writes none of them)
-- expect: shards: time 1736935200 at $.ts reads as Unix seconds
insert into e(doc) values ('{"ts":"2025-01-15T10:00:00Z","app":"web"}'), ('{"ts":1736935200,"app":"web"}');

-- expect: shards: time 1736935200 at $.ts reads as Unix seconds
update e set doc = '{"ts":1736935200,"app":"web"}' where ts = 1736935200000;

-- An INSERT's own ts is milliseconds: a small one needs time_unit = ms.
-- expect: shards: ts 1736935200 reads as Unix seconds: as milliseconds it is 1970-01-21T02:28:55.200Z, as seconds 2025-01-15T10:00:00.000Z; ts is in milliseconds: give 1736935200000 or a time string
insert into n(doc, ts) values ('{"k":1}', 1736935200);

-- expect: shards: ts 1736935200.5 reads as Unix seconds
insert into n(doc, ts) values ('{"k":1}', 1736935200.5);

-- expect: shards: ts 1736935200 reads as Unix seconds
update n set ts = 1736935200;

-- Malformed JSON: where it goes wrong, in bytes from 1.
-- expect: shards: malformed JSON document: syntax error at byte 8, near 'x}'
insert into e(doc) values ('{"é": x}');

-- expect: shards: malformed JSON document: it ends too early (at byte 15)
insert into e(doc) values ('{"ts": 1, "a":');

-- expect: shards: malformed JSON document: syntax error at byte 12, near '}'
insert into e(doc) values ('{"a": [1, 2}');
