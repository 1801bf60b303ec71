"""The time-series chart on a collection's or a rollup's table page.

A collection: documents per bucket, counted by SQL (`GROUP BY` over the bucket of
`ts`) over exactly the rows the page's filters select: the where clauses are built
as Datasette's table view builds them (its `Filters` and every `filters_from_request`
hook), so `?type=click` or `?_where=` chart what the table lists. A rollup
(`shards_rollup`): its first count/sum/min/max measure per bucket, combined over its
groups (sum for count and sum; avg, distinct and quantile do not combine that way).

The bucket is the smallest of minute ... year that keeps the chart at most
MAX_BARS bars wide (never finer than a rollup's own bucket). The chart is inline SVG
drawn here: no script, nothing fetched from a network.
"""
import datetime
import re
import sqlite3

import markupsafe
from datasette.database import QueryInterrupted
from datasette.filters import Filters
from datasette.plugins import pm
from datasette.utils import await_me_maybe, escape_sqlite
from datasette.views.base import ureg

SCHEMA_SQL = "select sql from sqlite_master where type = 'table' and name = ?"
MAX_BARS = 120
BAR_COLOR = "#1f77b4"

_VIRTUAL = re.compile(r"\s*create\s+virtual\s+table\s.*?\busing\s+(shards_rollup|shards)\s*(\(|$)", re.I | re.S)
# measure = 'name: fn(...)' in a rollup's CREATE statement.
_MEASURE = re.compile(r"\bmeasure\s*=\s*'((?:[^']|'')*)'|\bmeasure\s*=\s*\"((?:[^\"]|\"\")*)\"", re.I)
_BUCKET = re.compile(r"\bbucket\s*=\s*['\"]?\s*(\d+)\s*(minute|hour|day|week|month)s?\b", re.I)

DAY = 86_400_000
# (name, width in ms; month and year are calendar units, widths for layout only)
UNITS = [("minute", 60_000), ("5 minutes", 300_000), ("15 minutes", 900_000), ("hour", 3_600_000),
         ("6 hours", 21_600_000), ("day", DAY), ("week", 7 * DAY), ("month", 30.44 * DAY), ("year", 365.25 * DAY)]
UNIT_MS = {"minute": 60_000, "hour": 3_600_000, "day": DAY, "week": 7 * DAY, "month": 28 * DAY}
# How many of each chartable measure combine over a rollup's groups.
COMBINE = {"count": "sum", "sum": "sum", "min": "min", "max": "max"}


def kind_of(results):
    """'collection', 'rollup' or None, from the result of SCHEMA_SQL."""
    row = results.first()
    match = _VIRTUAL.match(row[0] or "") if row else None
    if not match:
        return None
    return "rollup" if match.group(1).lower() == "shards_rollup" else "collection"


def rollup_measure(create_sql):
    """(column, aggregate) of the first measure that combines over groups, or None."""
    for match in _MEASURE.finditer(create_sql):
        spec = (match.group(1) or match.group(2) or "").replace("''", "'").replace('""', '"')
        name, colon, fn = spec.partition(":")
        fn = re.match(r"\s*([a-z]+)", fn.lower()) if colon else None
        if fn and fn.group(1) in COMBINE and name.strip():
            return name.strip(), COMBINE[fn.group(1)]
    return None


def rollup_bucket_ms(create_sql):
    match = _BUCKET.search(create_sql)
    return int(match.group(1)) * UNIT_MS[match.group(2).lower()] if match else 0


def pick_unit(span_ms, finest_ms=0):
    for name, width in UNITS:
        if width >= finest_ms and span_ms / width <= MAX_BARS:
            return name, width
    return UNITS[-1]


def bucket_sql(column, unit):
    """SQL for the start (Unix ms) of `column`'s bucket: fixed widths from the epoch
    (weeks from a Monday), months and years by the calendar."""
    if unit in ("month", "year"):
        return f"cast(strftime('%s', {column} / 1000, 'unixepoch', 'start of {unit}') as integer) * 1000"
    width = dict(UNITS)[unit]
    offset = 4 * DAY if unit == "week" else 0   # 1970-01-05 was a Monday
    return f"({column} - ((({column} - {offset}) % {width}) + {width}) % {width})"


async def where_clauses(datasette, database, table, request):
    """The table view's where clauses and parameters for this request (datasette 0.65,
    views/table.py): arguments not starting with '_' (or holding '__') are filters."""
    args = [(key, value) for key in request.args if not (key.startswith("_") and "__" not in key)
            for value in request.args.getlist(key)]
    units = datasette.table_metadata(database, table).get("units", {})
    wheres, params = Filters(sorted(args), units, ureg).build_where_clauses(table)
    for hook in pm.hook.filters_from_request(request=request, table=table, database=database, datasette=datasette):
        found = await await_me_maybe(hook)
        if found:
            wheres.extend(found.where_clauses)
            params.update(found.params)
    return (" where " + " and ".join(wheres)) if wheres else "", params


def label_format(unit):
    if unit in ("minute", "5 minutes", "15 minutes", "hour", "6 hours"):
        return "%Y-%m-%d %H:%M"
    return {"month": "%Y-%m", "year": "%Y"}.get(unit, "%Y-%m-%d")


def utc(ms, fmt):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).strftime(fmt)


def svg(points, unit, width_ms, caption):
    """Bars at their place in time (empty buckets leave gaps), the largest value and
    the first and last bucket labelled."""
    w, h, left, right, top, bottom = 800, 180, 60, 12, 12, 30
    plot_w, plot_h = w - left - right, h - top - bottom
    start, end = points[0][0], points[-1][0] + width_ms
    peak = max(v for _, v in points) or 1
    scale_x = plot_w / max(end - start, 1)
    bar_w = max(width_ms * scale_x - (1 if width_ms * scale_x > 3 else 0), 1)
    fmt = label_format(unit)
    bars = []
    for bucket, value in points:
        bar_h = plot_h * value / peak
        bars.append(markupsafe.Markup(
            '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"><title>{}: {}</title></rect>').format(
            left + (bucket - start) * scale_x, top + plot_h - bar_h, bar_w, bar_h, utc(bucket, fmt), _number(value)))
    return markupsafe.Markup(
        '<figure class="shards-chart" style="margin: 1em 0">'
        '<figcaption style="font-size: 0.9em">{caption}</figcaption>'
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{caption}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" style="max-width: 100%; height: auto" font-size="11" font-family="sans-serif">'
        '<g fill="{color}">{bars}</g>'
        '<line x1="{left}" y1="{base}" x2="{right_x}" y2="{base}" stroke="#666"/>'
        '<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#666"/>'
        '<text x="{lx}" y="{ty}" text-anchor="end">{peak}</text>'
        '<text x="{lx}" y="{base}" text-anchor="end">0</text>'
        '<text x="{left}" y="{label_y}">{first}</text>'
        '<text x="{right_x}" y="{label_y}" text-anchor="end">{last}</text>'
        '</svg></figure>').format(
        caption=caption, w=w, h=h, color=BAR_COLOR, bars=markupsafe.Markup("").join(bars), left=left,
        right_x=w - right, top=top, base=top + plot_h, lx=left - 6, ty=top + 9, peak=_number(peak),
        label_y=h - 10, first=utc(points[0][0], fmt), last=utc(points[-1][0], fmt))


def _number(value):
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


async def chart_html(datasette, database, table, kind, request):
    db = datasette.get_database(database)
    create_sql = (await db.execute(SCHEMA_SQL, [table])).first()[0]
    where, params = await where_clauses(datasette, database, table, request)
    name = escape_sqlite(table)
    try:
        measure = None
        if kind == "collection":
            column, value_sql, what, finest = "ts", "count(*)", "Documents", 0
            span = (await db.execute(
                f"select (select ts from {name}{where} order by ts limit 1), "
                f"(select ts from {name}{where} order by ts desc limit 1)", params)).first()
        else:
            measure = rollup_measure(create_sql)
            if measure is None:
                return ""
            column, finest = "bucket_ms", rollup_bucket_ms(create_sql)
            value_sql, what = f"{measure[1]}({escape_sqlite(measure[0])})", measure[0]
            span = (await db.execute(f"select min(bucket_ms), max(bucket_ms) from {name}{where}", params)).first()
        if span[0] is None:
            return ""
        unit, width = pick_unit(span[1] - span[0] + 1, finest)
        rows = (await db.execute(
            f"select {bucket_sql(column, unit)} as shards_bucket, {value_sql} from {name}{where} "
            f"group by shards_bucket order by shards_bucket", params)).rows
    except QueryInterrupted:
        return markupsafe.Markup('<p class="shards-chart-note">No chart: counting per bucket took longer than '
                                 'the time limit (sql_time_limit_ms). Filter on ts to narrow it.</p>')
    except sqlite3.Error as e:
        return markupsafe.Markup('<p class="shards-chart-note">No chart: {}</p>').format(str(e))
    points = [(b, v) for b, v in rows if b is not None and v is not None]
    if not points:
        return ""
    caption = f"{what} per {unit} (UTC)" + (f", {measure[1]} over the groups" if kind == "rollup" else "")
    return svg(points, unit, int(width), caption)
