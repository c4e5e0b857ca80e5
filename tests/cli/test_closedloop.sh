#!/usr/bin/env bash
# test_closedloop.sh -- the closed loop from the command line (issue 7):
#   rules: defaults shown, a file loaded and shown back, bad files refused
#     with file:line;
#   place --store of a year of hotline history with status, closing time and
#     satisfaction; `stats` by town and by category equal figures computed
#     here in Python straight from the CSV (deadlines by hand: the grid's
#     limit is the local day of the report);
#   stats -o writes a GeoPackage of town polygons with the same figures;
#   `incident`: show, allowed steps (exit 0), refused steps (exit 1, nothing
#     changes), escalation, usage errors (exit 2).
source "$(dirname "$0")/lib.sh"

gen="$WG_TMP/gen"
gen_county "$gen" --scale tiny --seed 7
ws="$WG_TMP/loop.sqlite"
expect_exit 0 "$WANGGE" init "$ws"
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
expect_exit 0 "$WANGGE" import-officers "$ws" "$gen/officers.csv"

# ---- rules -------------------------------------------------------------------
expect_exit 0 "$WANGGE" rules "$ws"
expect_contains "$OUT" "limit grid * 0 days"
expect_contains "$OUT" "limit village * 3 days"
expect_contains "$OUT" "limit dispatch * 1 workdays"
cat >"$WG_TMP/rules.txt" <<'EOF'
# a county's rules
warning 75%
limit town 违章建筑 10 workdays
holiday 2025-10-01..2025-10-08
workday 2025-09-28
workday 2025-10-11
EOF
expect_exit 0 "$WANGGE" rules "$ws" --load "$WG_TMP/rules.txt"
expect_exit 0 "$WANGGE" rules "$ws" --show
cp "$OUT" "$WG_TMP/shown.txt"
expect_contains "$OUT" "warning 75%"
expect_contains "$OUT" "limit town 违章建筑 10 workdays"
expect_contains "$OUT" "holiday 2025-10-01..2025-10-08"
expect_contains "$OUT" "limit county * 7 days" # not in the file: the default stays
expect_exit 0 "$WANGGE" rules "$ws" --load "$WG_TMP/shown.txt"
expect_exit 0 "$WANGGE" rules "$ws"
cmp -s "$OUT" "$WG_TMP/shown.txt" || fail "rules --show | --load | --show is not a fixed point"
ok "rules shown, loaded and shown again are identical"
printf 'warning 80%%\nlimit town * 5 fortnights\n' >"$WG_TMP/bad.txt"
expect_exit 1 "$WANGGE" rules "$ws" --load "$WG_TMP/bad.txt"
expect_contains "$ERR" "bad.txt:2:"
expect_exit 0 "$WANGGE" rules "$ws"
cmp -s "$OUT" "$WG_TMP/shown.txt" || fail "a refused rules file changed the rules"
ok "a refused rules file changes nothing"
expect_exit 0 "$WANGGE" rules "$ws" --defaults

# ---- a year of hotline history -------------------------------------------------
"$PYTHON" - "$gen/incidents.csv" "$WG_TMP/history.csv" <<'PYEOF'
import csv, datetime, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")))
ST = ["reported", "accepted", "assigned", "handled", "verified", "closed", "closed", "closed"]
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(list(rows[0].keys()) + ["status", "closed_at", "satisfaction"])
    for i, r in enumerate(rows):
        s = ST[(i * 7) % len(ST)]
        closed = sat = ""
        if s == "closed":
            t = datetime.datetime.fromisoformat(r["reported_at"])
            closed = (t + datetime.timedelta(hours=[2, 9, 30, 75][i % 4])).isoformat()
            sat = ["", "2", "4", "5", "3"][i % 5]
        w.writerow(list(r.values()) + [s, closed, sat])
PYEOF
expect_exit 2 "$WANGGE" place "$ws" "$WG_TMP/history.csv" -o "$WG_TMP/h.csv" --status-field status
expect_exit 1 "$WANGGE" place "$ws" "$WG_TMP/history.csv" -o "$WG_TMP/h.csv" --crs-field crs \
    --store --status-field state
expect_contains "$ERR" "no field 'state'"
sed '3s/,closed,\|,reported,\|,accepted,\|,assigned,\|,handled,\|,verified,/,lost,/' \
    "$WG_TMP/history.csv" >"$WG_TMP/badstatus.csv"
expect_exit 1 "$WANGGE" place "$ws" "$WG_TMP/badstatus.csv" -o "$WG_TMP/h.csv" --crs-field crs \
    --store --status-field status
expect_contains "$ERR" "row 3: status 'lost'"
expect_eq "$("$PYTHON" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM incidents").fetchone()[0])' "$ws")" \
    "0" "a refused history import stores nothing"
expect_exit 0 "$WANGGE" place "$ws" "$WG_TMP/history.csv" -o "$WG_TMP/placed.csv" --crs-field crs \
    --store --status-field status --closed-field closed_at --satisfaction-field satisfaction

AT=2026-01-01T00:00:00Z
oracle() { # oracle BY_COLUMN OUT.json -- the figures from the CSV and the placement
    "$PYTHON" - "$WG_TMP/placed.csv" "$1" "$2" <<'PYEOF'
import csv, datetime, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")))
by = sys.argv[2]
g = {}
for r in rows:
    k = r[by] or ""
    d = g.setdefault(k, dict(received=0, accepted=0, closed=0, closed_on_time=0, open=0,
                             overdue_open=0, warning_open=0, rated=0, satisfied=0, h=[], s=0))
    d["received"] += 1
    d["accepted"] += r["status"] != "reported"
    rep = datetime.datetime.fromisoformat(r["reported_at"])
    if r["status"] == "closed":
        d["closed"] += 1
        c = datetime.datetime.fromisoformat(r["closed_at"])
        # Every row is in (or snapped to) a grid: due at the end of the local
        # (UTC+8) day of the report; the CSV's times are all +08:00.
        assert rep.utcoffset() == datetime.timedelta(hours=8)
        d["closed_on_time"] += c.date() == rep.date()
        d["h"].append((c - rep).total_seconds() / 3600)
        if r["satisfaction"]:
            d["rated"] += 1
            d["satisfied"] += int(r["satisfaction"]) >= 4
            d["s"] += int(r["satisfaction"])
    else:
        d["open"] += 1
        d["overdue_open"] += 1  # every deadline of 2025 is past on 2026-01-01
pct = lambda a, b: round(100.0 * a / b, 2) if b else None
out = []
# the total: every row in one group, after the others
t = dict(received=0, accepted=0, closed=0, closed_on_time=0, open=0, overdue_open=0,
         warning_open=0, rated=0, satisfied=0, h=[], s=0)
for d in g.values():
    for f in t:
        t[f] += d[f]
g[None] = t
for k in sorted(g, key=lambda s: b"\xff" if s is None else s.encode()):
    d = g[k]
    out.append(dict(key=k, received=d["received"], accepted=d["accepted"], closed=d["closed"],
                    closed_on_time=d["closed_on_time"], open=d["open"],
                    overdue_open=d["overdue_open"], warning_open=0,
                    median_close_h=round(statistics.median(d["h"]), 2) if d["h"] else None,
                    rated=d["rated"], satisfied=d["satisfied"],
                    mean_satisfaction=round(d["s"] / d["rated"], 2) if d["rated"] else None,
                    acceptance_rate=pct(d["accepted"], d["received"]),
                    on_time_rate=pct(d["closed_on_time"], d["closed"]),
                    satisfaction_rate=pct(d["satisfied"], d["rated"])))
json.dump(out, open(sys.argv[3], "w"), ensure_ascii=False)
PYEOF
}
for pair in town:wg_town category:category village:wg_village; do
    by=${pair%%:*}
    oracle "${pair#*:}" "$WG_TMP/want_$by.json"
    expect_exit 0 "$WANGGE" stats "$ws" --by "$by" --at "$AT"
    py 'import json, sqlite3, sys
j = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
want_total = want.pop()
del want_total["key"]
if j["total"] != want_total:
    sys.exit("stats total differs:\n got  %s\n want %s" % (j["total"], want_total))
got = j["groups"]
by = sys.argv[4]
names = dict(sqlite3.connect(sys.argv[3]).execute(
    "SELECT code, name FROM units WHERE level = ? AND valid_to IS NULL", (by,)).fetchall())
for g in got:
    n = g.pop("name")
    if n != (names.get(g["key"]) if by != "category" else None):
        sys.exit("group %s is named %r" % (g["key"], n))
for g, w in zip(got, want):
    if g != w:
        sys.exit("stats differ:\n got  %s\n want %s" % (g, w))
assert len(got) == len(want), (len(got), len(want))
assert sum(g["closed"] for g in got) > 50 and sum(g["closed_on_time"] for g in got) > 10' \
        "$OUT" "$WG_TMP/want_$by.json" "$ws" "$by"
    ok "stats --by $by equals the figures computed from the CSV (groups named, total over all)"
done
expect_exit 0 "$WANGGE" stats "$ws" --by town --at "$AT" -o "$WG_TMP/towns.gpkg"
py 'import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute("SELECT key, name, received, on_time_rate, geom IS NOT NULL FROM towns ORDER BY key").fetchall()
want = json.load(open(sys.argv[2]))[:-1]  # without the total
assert [(r[0], r[2]) for r in rows] == [(w["key"], w["received"]) for w in want], rows
assert all(r[1] and r[4] for r in rows), rows
assert con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0] == 4326' \
    "$WG_TMP/towns.gpkg" "$WG_TMP/want_town.json"
ok "stats -o towns.gpkg: one town polygon per group, same figures, EPSG:4326"
expect_exit 2 "$WANGGE" stats "$ws" --by street
expect_exit 1 "$WANGGE" stats "$ws" --by town --from yesterday

# The view other layers read: open and overdue counts per grid.
py 'import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
v = con.execute("SELECT sum(is_open), sum(is_overdue_now) FROM incident_state").fetchone()
n = con.execute("SELECT count(*) FROM incidents WHERE status <> \"closed\"").fetchone()[0]
assert v == (n, n), (v, n)' "$ws"
ok "incident_state: open and overdue counts"

# ---- one incident ----------------------------------------------------------------
ID=$("$PYTHON" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT min(id) FROM incidents WHERE status = \"reported\" AND grid_code IS NOT NULL").fetchone()[0])' "$ws")
OFFICER=$("$PYTHON" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT min(officer_id) FROM officer_grids").fetchone()[0])' "$ws")
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --at 2025-06-01T00:00:00+08:00
py 'import json, sys; j = json.load(open(sys.argv[1]))
assert j["status"] == "reported" and j["colour"] == "red" and j["level"] == "grid", j' "$OUT"
expect_exit 1 "$WANGGE" incident "$ws" "$ID" --close
expect_contains "$ERR" "cannot close"
expect_exit 2 "$WANGGE" incident "$ws" "$ID" --accept --handle
expect_exit 2 "$WANGGE" incident "$ws" "$ID" --accept --satisfaction 4
expect_exit 2 "$WANGGE" incident "$ws" abc
expect_exit 1 "$WANGGE" incident "$ws" 999999
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --accept --note "受理" --actor 张三 --at 2025-12-01T09:00:00+08:00
expect_exit 1 "$WANGGE" incident "$ws" "$ID" --assign NOBODY --at 2025-12-01T10:00:00+08:00
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --assign "$OFFICER" --at 2025-12-01T10:00:00+08:00
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --escalate --at 2025-12-01T11:00:00+08:00
py 'import json, sys; j = json.load(open(sys.argv[1]))
assert j["status"] == "accepted" and j["level"] == "village" and j["assignee"] is None, j
assert j["deadline"] == "2025-12-04T15:59:59Z", j  # 3 days: end of 4 Dec in Beijing
assert [e["event"] for e in j["history"]] == ["import", "accept", "assign", "escalate"], j["history"]
assert j["history"][1]["note"] == "受理" and j["history"][1]["actor"] == "张三"' "$OUT"
ok "accept, assign, escalate: history and the village's deadline"
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --at 2025-12-04T12:00:00+08:00
py 'import json, sys; assert json.load(open(sys.argv[1]))["colour"] == "red"' "$OUT"
ok "red while unassigned past the dispatch limit (1 working day)"
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --assign "$OFFICER" --at 2025-12-01T12:00:00+08:00
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --at 2025-12-04T12:00:00+08:00
py 'import json, sys; assert json.load(open(sys.argv[1]))["colour"] == "yellow"' "$OUT"
ok "assigned: yellow after 80% of the village's 3 days (73 h of 85)"
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --at 2025-12-02T12:00:00+08:00
py 'import json, sys; assert json.load(open(sys.argv[1]))["colour"] == "green"' "$OUT"
ok "green early on"
expect_exit 0 "$WANGGE" incident "$ws" "$ID" --at 2025-12-05T00:00:00+08:00
py 'import json, sys; assert json.load(open(sys.argv[1]))["colour"] == "red"' "$OUT"
ok "red past the deadline"
pass
