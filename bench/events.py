"""What the benchmarks share: where the library is, and the shape of their events
(~180-byte analytics events: skewed types, a few apps and plans, heavy users)."""
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LIB = os.path.join(ROOT, ".build", "release", "libShardExt")

YEAR = 2024

# ~20 event types, skewed: the first is ~28% of all events, the last ~0.4%.
TYPES = [
    ("page_view", 28), ("click", 16), ("scroll", 10), ("search", 8), ("view_item", 6),
    ("add_to_cart", 5), ("login", 4), ("logout", 3.5), ("video_play", 3), ("like", 2.5),
    ("share", 2.2), ("comment", 2), ("video_pause", 1.8), ("signup", 1.5), ("download", 1.3),
    ("checkout", 1.2), ("purchase", 1.0), ("refund", 0.8), ("invite", 0.6), ("delete_account", 0.4),
]
APPS = [("web", 55), ("ios", 25), ("android", 17), ("api", 3)]
PLANS = [("free", 70), ("pro", 25), ("team", 5)]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "NL", "SE", "ES", "IT", "PL", "AU", "MX"]
SECTIONS = ["home", "electronics", "books", "garden", "toys", "fashion", "sports", "music", "help", "account"]
USERS = 50_000
HEAVY_USERS = 500  # users 1..500 produce 20% of the events


def generate(n, seed, start, end):
    """n documents as JSON text in arrival order, with their ts and user ids: mostly
    in time order, 2% arriving up to an hour late; every ts distinct, so ORDER BY ts
    has one right answer."""
    import random
    rnd = random.Random(seed)
    ts = sorted(rnd.randrange(start, end) for _ in range(n))
    for i in range(1, n):
        if ts[i] <= ts[i - 1]:
            ts[i] = ts[i - 1] + 1
    assert ts[-1] < end
    arrival = [t + (rnd.randrange(3_600_000) if rnd.random() < 0.02 else rnd.randrange(5_000)) for t in ts]
    order = sorted(range(n), key=arrival.__getitem__)
    ts = [ts[i] for i in order]

    def pick(pairs):
        return rnd.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=n)

    types, apps, plans = pick(TYPES), pick(APPS), pick(PLANS)
    docs, users = [], []
    for i in range(n):
        user = rnd.randrange(1, HEAVY_USERS + 1) if rnd.random() < 0.2 else rnd.randrange(1, USERS + 1)
        users.append(user)
        section = SECTIONS[rnd.randrange(len(SECTIONS))]
        docs.append(
            '{"ts":%d,"type":"%s","user":{"id":%d,"plan":"%s"},"app":"%s",'
            '"url":"https://example.com/%s/%d?ref=%s","session":"%08x",'
            '"country":"%s","dur":%d}'
            % (ts[i], types[i], user, plans[i], apps[i], section, rnd.randrange(100_000),
               SECTIONS[rnd.randrange(len(SECTIONS))], rnd.getrandbits(32),
               COUNTRIES[rnd.randrange(len(COUNTRIES))], int(rnd.expovariate(1 / 2000)))
        )
    return docs, ts, users


def connect(path, cache_mb):
    """A WAL connection with the extension loaded; cache_mb 0 keeps SQLite's default."""
    import apsw
    conn = apsw.Connection(path)
    conn.enable_load_extension(True)
    conn.load_extension(LIB)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if cache_mb:
        conn.execute(f"PRAGMA cache_size = {-cache_mb * 1024}")
    return conn


def scalar(conn, sql, params=()):
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def print_table(header, rows, markdown):
    """The results, as a Markdown table for the README or aligned text."""
    if markdown:
        esc = lambda s: s.replace("|", "\\|")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * 3 + ["---"] * (len(header) - 4)) + "|")
        for r in rows:
            print("| " + " | ".join(esc(c) for c in r) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def print_footer(missed, t_start, script, markdown):
    """The closing lines of a report: goals missed, run time, the command to run it again."""
    import shlex
    import sys
    import time
    print(f"goals missed: {len(missed)}" + ("" if not missed else " (" + "; ".join(missed) + ")"))
    print(f"total run time: {time.perf_counter() - t_start:.0f} s")
    cmd = script + ("" if len(sys.argv) == 1 else " " + shlex.join(sys.argv[1:]))
    print(f"rerun: `{cmd}`" if markdown else f"rerun: {cmd}")


def svg_frame(w, h, left, pw, title, subtitle):
    """The opening elements of a chart: the canvas, its title and subtitle."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            'font-family="Helvetica, Arial, sans-serif" font-size="13">',
            f'<rect width="{w}" height="{h}" fill="white"/>',
            f'<text x="{left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{title}</text>',
            f'<text x="{left + pw / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">{subtitle}</text>']


def svg_grid(left, pw, Y, ymax, ystep, label):
    """Horizontal grid lines with their labels, every ystep up to ymax."""
    out, y = [], 0.0
    while y <= ymax + ystep * 1e-9:
        out.append(f'<line x1="{left}" y1="{Y(y):.1f}" x2="{left + pw}" y2="{Y(y):.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 8}" y="{Y(y) + 4:.1f}" text-anchor="end">{label(y)}</text>')
        y += ystep
    return out


def svg_series(points, color, name, k, right, top, radius):
    """One line of a chart: its polyline, its points, and the k-th legend entry right of the plot."""
    out = [f'<polyline fill="none" stroke="{color}" stroke-width="2.2" points="'
           + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>']
    out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{color}"/>' for x, y in points]
    ly = top + 14 + 22 * k
    out.append(f'<line x1="{right + 14}" y1="{ly}" x2="{right + 40}" y2="{ly}" stroke="{color}" stroke-width="2.2"/>')
    out.append(f'<text x="{right + 46}" y="{ly + 4}">{name}</text>')
    return out


def svg_write(path, out):
    with open(path, "w") as f:
        f.write("\n".join(out + ["</svg>"]) + "\n")
