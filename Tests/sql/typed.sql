.load ./.build/release/libShardExt
-- Typed index columns: `index = 'name: $.path integer|real|text'` declares the column
-- with that type, so it compares like a plain table's column of that type: the value
-- it is compared with is converted first ('570' finds 570; 7 finds '7').
-- Every row printed must be `<case-id>|1`.

create virtual table ev using shards(time = '$.ts', max_rows = 5,
                                     index = 'user: $.user.id integer', index = 'price: $.price real',
                                     index = 'code: $.code text', index = 'raw: $.uid');
create table plain(id integer primary key, doc text, user integer, price real, code text, raw);

insert into ev(doc)
with recursive g(i) as (select 1 union all select i + 1 from g where i < 60)
select json_object('ts', 1735689600000 + i * 86400000, 'user', json_object('id', 560 + i % 15), 'uid', 560 + i % 15,
                   'price', i % 7 + 0.5, 'code', case when i % 5 = 0 then null else '' || (i % 9) end)
from g;
insert into plain select id, doc, user, price, code, raw from ev;

select 't-01', (select group_concat(name || ' ' || type, ', ') from pragma_table_info('ev'))
             = 'id INTEGER, ts INTEGER, shard TEXT, doc TEXT, user INTEGER, price REAL, code TEXT, raw ';
select 't-02', (select group_concat(shard) from shard_list('ev') where shard like 'ev:2025:01:%') = 'ev:2025:01:000';   -- January merged as the load went on
-- text bound to a typed number column finds its rows, as in the plain table
select 't-03', (select count(*) from ev where user = '570') = 4;
select 't-04', (select count(*) from ev where user = '570') = (select count(*) from plain where user = '570');
select 't-05', (select count(*) from ev where user = 570) = (select count(*) from ev where user = '570');
select 't-06', (select count(*) from ev where user = ' 570 ') = (select count(*) from plain where user = ' 570 ');
select 't-07', (select count(*) from ev where user in ('570', 571, '572.0')) = (select count(*) from plain where user in ('570', 571, '572.0'));
select 't-08', (select count(*) from ev where user > '570') = (select count(*) from plain where user > '570');
select 't-09', (select count(*) from ev where user <= '5.7e2') = (select count(*) from plain where user <= '5.7e2');
select 't-10', (select count(*) from ev where user = 'x570') = 0;
select 't-11', (select count(*) from ev where user < 'a') = (select count(*) from plain where user < 'a');
-- without a type, the column compares like json_extract: text never equals a number
select 't-12', (select count(*) from ev where raw = '570') = 0;
select 't-13', (select count(*) from ev where raw = 570) = 4;
-- real
select 't-14', (select count(*) from ev where price = '3.5') = (select count(*) from plain where price = '3.5');
select 't-15', (select count(*) from ev where price = '3.5') > 0;
select 't-16', (select count(*) from ev where price >= '4') = (select count(*) from plain where price >= '4');
-- text: a number compared with a text column is compared as its text
select 't-17', (select count(*) from ev where code = 3) = (select count(*) from plain where code = 3);
select 't-18', (select count(*) from ev where code = 3) > 0;
select 't-19', (select count(*) from ev where code in (3, '4', 5.0)) = (select count(*) from plain where code in (3, '4', 5.0));
select 't-20', (select count(*) from ev where code > 6) = (select count(*) from plain where code > 6);
select 't-21', (select count(*) from ev where code is null) = 12;
-- the same comparison left to SQLite (not handed to the shards) agrees
select 't-22', (select count(*) from ev where user = '570' or code = 3) = (select count(*) from plain where user = '570' or code = 3);
select 't-23', (select count(*) from ev where user = '570' collate nocase) = (select count(*) from ev where user = '570');
select 't-26', (select count(*) from ev where code = 3 collate nocase) = (select count(*) from plain where code = 3);
-- `+user` has no affinity, in either
select 't-27', (select count(*) from ev where +user = '570') = (select count(*) from plain where +user = '570');
-- in a join, the other side's value is converted the same way
create table wanted(u);
insert into wanted values ('570'), (571), ('nope');
select 't-24', (select count(*) from wanted w join ev e on e.user = w.u) = (select count(*) from wanted w join plain p on p.user = w.u);
-- the shard SQL keeps the index's own expression, so each shard uses its index
select 't-25', shards_explain('ev', 'select count(*) from ev where user = ''570''') like '%json_extract(doc, ''$.user.id'') = +?1%';
