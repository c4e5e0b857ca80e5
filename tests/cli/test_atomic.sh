#!/usr/bin/env bash
# test_atomic.sh -- a failed import changes nothing: the workspace's SQL dump
# is byte-identical before and after, and the error says which feature (FID)
# or which CSV lines were at fault.
source "$(dirname "$0")/lib.sh"

ws="$WG_TMP/ws.sqlite"
d="$WG_TMP/data"
mkdir -p "$d"

# features NAME ID:CODE:X0:X1[:TYPE] ... -- a GeoJSON FeatureCollection of
# boxes lon X0..X1, lat 34.05..34.15 (Guannan county); the GeoJSON "id"
# becomes the OGR FID. CODE "-" leaves the code out; TYPE "point" writes a
# point instead of a polygon.
features() {
    "$PYTHON" - "$@" <<'PYEOF'
import json, sys
out, feats = sys.argv[1], []
for spec in sys.argv[2:]:
    parts = spec.split(":")
    fid, code, x0, x1 = int(parts[0]), parts[1], float(parts[2]), float(parts[3])
    kind = parts[4] if len(parts) > 4 else "polygon"
    y0, y1 = 34.05, 34.15
    if kind == "point":
        geom = {"type": "Point", "coordinates": [(x0 + x1) / 2, (y0 + y1) / 2]}
    else:
        geom = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    props = {"name": "网格%d" % fid}
    if code != "-":
        props["code"] = code
    feats.append({"type": "Feature", "id": fid, "properties": props, "geometry": geom})
json.dump({"type": "FeatureCollection", "features": feats}, open(out, "w"), ensure_ascii=False)
PYEOF
}

features "$d/town.geojson" 1:320724100:119.30:119.40
features "$d/grids.geojson" 11:320724100001001:119.30:119.3333 \
    12:320724100001002:119.3333:119.3667 13:320724100001003:119.3667:119.40
# Same level again (would supersede the grids above), third feature bad.
features "$d/nocode.geojson" 101:320724100001001:119.30:119.35 \
    102:320724100001002:119.35:119.38 103:-:119.38:119.40
features "$d/point.geojson" 201:320724100001001:119.30:119.35 \
    202:320724100001002:119.35:119.38 203:320724100001003:119.38:119.40:point

# 1. A failed first import leaves even a fresh workspace untouched (the
#    metric CRS is not chosen either).
expect_exit 0 "$WANGGE" init "$ws"
ws_dump "$ws" "$WG_TMP/fresh.sql"
expect_exit 1 "$WANGGE" import-grids "$ws" "$d/nocode.geojson" --level grid
expect_contains "$ERR" "FID 103"
ws_dump "$ws" "$WG_TMP/after0.sql"
cmp -s "$WG_TMP/fresh.sql" "$WG_TMP/after0.sql" ||
    fail "failed import into a fresh workspace changed it: $(diff "$WG_TMP/fresh.sql" "$WG_TMP/after0.sql" | head -20)"
ok "fresh workspace unchanged by a failed import"

# 2. A workspace with a town, three grids and officers.
expect_exit 0 "$WANGGE" import-grids "$ws" "$d/town.geojson" --level town
expect_exit 0 "$WANGGE" import-grids "$ws" "$d/grids.geojson" --level grid
cat >"$d/officers.csv" <<'EOF'
officer_id,name,role,grid_code,phone,lon,lat
P001,张伟,grid_worker,320724100001001,13800000001,119.31,34.10
P002,王芳,grid_chief,320724100001002,13800000002,119.35,34.10
P002,王芳,grid_chief,320724100001003,13800000002,119.35,34.10
EOF
expect_exit 0 "$WANGGE" import-officers "$ws" "$d/officers.csv"
expect_exit 0 "$WANGGE" info "$ws"
cp "$OUT" "$WG_TMP/info-before.json"
py 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["units"]["town"] == 1 and d["units"]["grid"] == 3, d
assert d["officers"] == 2 and d["assignments"] == 3, d' "$WG_TMP/info-before.json"
ok "workspace holds 1 town, 3 grids, 2 officers, 3 assignments"
ws_dump "$ws" "$WG_TMP/before.sql"

same_as_before() {
    ws_dump "$ws" "$WG_TMP/now.sql"
    cmp -s "$WG_TMP/before.sql" "$WG_TMP/now.sql" ||
        fail "$1 changed the workspace: $(diff "$WG_TMP/before.sql" "$WG_TMP/now.sql" | head -20)"
    ok "workspace unchanged after $1"
}

# 3. Third feature without a code: nothing imported, nothing superseded.
expect_exit 1 "$WANGGE" import-grids "$ws" "$d/nocode.geojson" --level grid
expect_contains "$ERR" "FID 103"
expect_contains "$ERR" "code"
same_as_before "an import whose 3rd feature has no code"

# 4. Third feature is a point.
expect_exit 1 "$WANGGE" import-grids "$ws" "$d/point.geojson" --level grid
expect_contains "$ERR" "FID 203"
expect_contains "$ERR" "Point"
same_as_before "an import whose 3rd feature is a point"

# 5. Officers: unknown grid code on line 4, bad role on line 6; every line
#    at fault is listed, no good line is, and the old roster stays.
cat >"$d/bad_officers.csv" <<'EOF'
officer_id,name,role,grid_code,phone,lon,lat
Q001,李娜,grid_worker,320724100001001,13900000001,119.31,34.10
Q002,刘洋,grid_worker,320724100001002,13900000002,119.35,34.10
Q003,陈静,grid_worker,320724999999999,13900000003,119.36,34.10
Q004,杨勇,volunteer,320724100001003,13900000004,119.38,34.10
Q005,赵磊,grid_emperor,320724100001003,13900000005,119.39,34.10
Q006,黄敏,police,320724100001001,13900000006,119.32,34.11
EOF
expect_exit 1 "$WANGGE" import-officers "$ws" "$d/bad_officers.csv"
expect_contains "$ERR" "line 4"
expect_contains "$ERR" "320724999999999"
expect_contains "$ERR" "line 6"
expect_contains "$ERR" "grid_emperor"
for good in 2 3 5 7; do expect_not_contains "$ERR" "line $good:"; done
same_as_before "a failed officers import"

# 6. Nothing above left a rollback journal or staging files beside the
#    workspace (SQLite's own -wal/-shm of a WAL database are fine).
leftovers=$(find "$WG_TMP" -maxdepth 1 \( -name 'ws.sqlite*' -o -name '.wangge-tmp*' \) \
    ! -name ws.sqlite ! -name ws.sqlite-wal ! -name ws.sqlite-shm)
expect_eq "$leftovers" "" "files left beside the workspace"

pass
