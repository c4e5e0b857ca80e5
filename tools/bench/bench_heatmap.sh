#!/usr/bin/env bash
# bench_heatmap.sh -- kernel density of a county's incidents: `wangge heatmap`
# against QGIS's "Heatmap (Kernel Density Estimation)" run by qgis_process, and
# a naive per-pixel loop, on the same points, the same machine, in one run.
#
#   1. QGIS (Debian package qgis) installed with apt-get if qgis_process is
#      missing; it runs headless (QT_QPA_PLATFORM=offscreen).
#   2. wangge built with -DWG_BENCH=ON (Release) into build-bench/.
#   3. The synthetic county (wg_gencounty --seed 42); its first N incidents
#      projected once to the county's metric CRS (EPSG:4549) and rounded to the
#      millimetre into out/bench/heatmap_points.gpkg (QGIS takes a GeoPackage's
#      extent from gpkg_contents, printed with 15 digits: millimetres keep it
#      exact). Coordinates are taken as WGS84 as written (the GCJ-02 rows are
#      not de-obfuscated: this measures density, not placement). Every engine
#      reads exactly these points.
#   4. Timed, each the whole command as a user waits for it (read, compute,
#      write): wangge heatmap (all threads, 1 thread, and with --png),
#      qgis_process (and its fixed start-up cost, on a 10-point file), and
#      bench_density_naive (QGIS's loop in memory: pow/sqrt per pixel).
#   5. The rasters compared pixel by pixel: the maximum relative difference
#      |a - b| / max(|a|, |b|) over every pixel where either is non-zero (QGIS's
#      nodata, where no kernel reached, counts as 0).
#   6. Agreement with QGIS for every kernel and both scalings (plus the
#      triangular decay and a weight field) on the first --agree-points points.
#   7. One table on stdout, also saved to out/bench/heatmap.txt.
#
# usage: bash tools/bench/bench_heatmap.sh [--scale large|county] [--points N]
#            [--radius M] [--pixel M] [--agree-points N] [--repeat R] [--no-build]
#            [--no-agree]
#   --scale S         generator scale (default large: 1,000,000 incidents)
#   --points N        the first N incidents (default 1000000)
#   --radius M        kernel radius in metres (default 200)
#   --pixel M         pixel size in metres (default 10)
#   --agree-points N  points for the per-kernel agreement table (default 100000)
#   --repeat R        time every engine R times and keep the best (default 1)
#   --no-build        use the binaries already in build-bench/
#   --no-agree        skip the per-kernel agreement table (10+ QGIS runs)
# Environment: WG_BENCH_BUILD, WG_BENCH_OUT override build-bench/ and out/bench/.
# Not part of the test suite (tests/cli/test_heatmap.sh compares with QGIS on
# the tiny county when qgis_process is installed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCALE=large
NPOINTS=1000000
RADIUS=200
PIXEL=10
AGREE=100000
REPEAT=1
BUILD_IT=1
DO_AGREE=1
SEED=42
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=${2:?--scale needs large or county}; shift ;;
        --points) NPOINTS=${2:?--points needs a number}; shift ;;
        --radius) RADIUS=${2:?--radius needs metres}; shift ;;
        --pixel) PIXEL=${2:?--pixel needs metres}; shift ;;
        --agree-points) AGREE=${2:?--agree-points needs a number}; shift ;;
        --repeat) REPEAT=${2:?--repeat needs a number}; shift ;;
        --no-build) BUILD_IT=0 ;;
        --no-agree) DO_AGREE=0 ;;
        -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench_heatmap.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$SCALE" in large|county|tiny) ;; *) echo "bench_heatmap.sh: --scale large|county" >&2; exit 2 ;; esac
for v in "$NPOINTS" "$AGREE" "$REPEAT"; do
    case "$v" in ''|*[!0-9]*|0) echo "bench_heatmap.sh: --points, --agree-points, --repeat need numbers >= 1" >&2; exit 2 ;; esac
done
for v in "$RADIUS" "$PIXEL"; do
    awk -v v="$v" 'BEGIN { exit !(v + 0 > 0) }' || { echo "bench_heatmap.sh: --radius and --pixel need metres > 0" >&2; exit 2; }
done

BUILD=${WG_BENCH_BUILD:-$ROOT/build-bench}
OUT=${WG_BENCH_OUT:-$ROOT/out/bench}
DATA=$OUT/$SCALE
HM=$OUT/heatmap
NCPU=$(nproc 2>/dev/null || echo 1)
T_START=$(date +%s)

. "$ROOT/tools/bench/lib.sh"

# ---- 1. QGIS -------------------------------------------------------------------
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
QGIS=$(command -v qgis_process.bin || true)
[ -n "$QGIS" ] || [ ! -x /usr/bin/qgis_process.bin ] || QGIS=/usr/bin/qgis_process.bin
if [ -z "$QGIS" ]; then
    say "installing qgis (apt-get, non-interactive; large)"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q qgis >/dev/null
    QGIS=/usr/bin/qgis_process.bin
fi
[ -x "$QGIS" ] || die "qgis_process not found after installing qgis"
mkdir -p "$OUT" "$HM"
XDG=$HM/xdg
mkdir -p "$XDG" && chmod 700 "$XDG"
QG=(env QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$XDG" "$QGIS") # headless
QGIS_VERSION=$("${QG[@]}" --version 2>/dev/null | awk '/^QGIS/ { print $2; exit }')
[ -n "$QGIS_VERSION" ] || QGIS_VERSION=unknown
# Python with GDAL and numpy for the comparisons (Debian's, which qgis pulls in).
GPY=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import numpy; from osgeo import gdal' 2>/dev/null; then GPY=$p; break; fi
done
[ -n "$GPY" ] || die "no Python with GDAL and numpy (apt-get install python3-gdal python3-numpy)"
for tool in ogr2ogr cmake; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (bash tools/deps.sh installs it)"
done
say "QGIS $QGIS_VERSION ($QGIS)"

# ---- 2. build -------------------------------------------------------------------
if [ "$BUILD_IT" = 1 ]; then
    say "building wangge with -DWG_BENCH=ON into $BUILD"
    { cmake -S "$ROOT" -B "$BUILD" -DWG_BENCH=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$BUILD" -j"$NCPU"; } >"$OUT/build.log" 2>&1 ||
        { tail -n 30 "$OUT/build.log" >&2; die "the build failed (log: $OUT/build.log)"; }
else
    say "using the binaries in $BUILD as they are (--no-build)"
fi
WANGGE=$BUILD/tools/wangge
GEN=$BUILD/fixtures/wg_gencounty
NAIVE=$BUILD/tools/bench/bench_density_naive
for b in "$WANGGE" "$GEN" "$NAIVE"; do
    [ -x "$b" ] || die "$b was not built (is bench_density_naive in tools/bench/CMakeLists.txt?)"
done

# ---- 3. points ---------------------------------------------------------------------
if [ ! -s "$DATA/incidents.csv" ]; then
    say "generating the $SCALE county (seed $SEED) into $DATA"
    rm -rf "$DATA"
    "$GEN" --scale "$SCALE" --seed "$SEED" -o "$DATA" >"$OUT/$SCALE.summary.json" 2>"$OUT/$SCALE.gen.log" ||
        { cat "$OUT/$SCALE.gen.log" >&2; die "wg_gencounty --scale $SCALE --seed $SEED failed"; }
else
    say "using the county already in $DATA"
fi
points_file() { # points_file OUT.gpkg N -- the first N incidents in EPSG:4549, mm, weight w
    rm -f "$1"
    ogr2ogr -f GPKG "$1" "$DATA/incidents.csv" -dialect sqlite -nln points -nlt POINT \
        -a_srs EPSG:4549 -lco SPATIAL_INDEX=NO -sql \
        "SELECT incident_id, category, (rowid % 5) + 0.5 AS w,
                MakePoint(round(ST_X(p), 3), round(ST_Y(p), 3), 4549) AS geom
         FROM (SELECT rowid, incident_id, category,
                      ST_Transform(MakePoint(CAST(lon AS REAL), CAST(lat AS REAL), 4326), 4549) AS p
               FROM incidents LIMIT $2)" || die "ogr2ogr could not write $1"
}
PTS=$HM/points.gpkg
say "projecting the first $NPOINTS incidents to EPSG:4549 once ($PTS)"
points_file "$PTS" "$NPOINTS"
N=$(ogrinfo -ro -so "$PTS" points | awk -F': ' '/Feature Count/ { print $2 }')
[ "$N" -gt 0 ] || die "no points in $PTS"
[ "$N" -eq "$NPOINTS" ] || say "note: the $SCALE county has $N incidents, not $NPOINTS: using $N"
TINY=$HM/ten_points.gpkg
points_file "$TINY" 10
WS=$HM/bench.wangge
rm -f "$WS"
"$WANGGE" init "$WS" --crs EPSG:4549 >/dev/null 2>&1 || die "wangge init $WS --crs EPSG:4549 failed"

# ---- 4. timed runs ---------------------------------------------------------------------
timed() { # timed NAME CMD... -> $HM/NAME.out, NAME.log (stdout, stderr), NAME.time ("seconds rss_kib")
    local name=$1 t0 best="" rss=0 r
    shift
    for ((r = 0; r < REPEAT; r++)); do
        t0=$(now)
        if [ -x /usr/bin/time ]; then
            /usr/bin/time -f '%M' -o "$HM/$name.rss" "$@" >"$HM/$name.out" 2>"$HM/$name.log" ||
                { tail -n 20 "$HM/$name.log" >&2; die "$name failed"; }
            rss=$(tail -n 1 "$HM/$name.rss")
        else
            "$@" >"$HM/$name.out" 2>"$HM/$name.log" || { tail -n 20 "$HM/$name.log" >&2; die "$name failed"; }
        fi
        best=$(min "$best" "$(elapsed "$t0" "$(now)")")
    done
    echo "$best $rss" >"$HM/$name.time"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
say "load average before timing: $LOAD_BEFORE (other jobs on the machine skew the figures)"
HMARGS=(--radius "$RADIUS" --pixel "$PIXEL")
say "wangge heatmap, $NCPU threads"
timed wangge_nt "$WANGGE" heatmap "$WS" --input "$PTS" "${HMARGS[@]}" -o "$HM/wangge.tif" --json
say "wangge heatmap, 1 thread"
timed wangge_1t "$WANGGE" heatmap "$WS" --input "$PTS" "${HMARGS[@]}" -o "$HM/wangge_1t.tif" --threads 1 --json
say "wangge heatmap --compress none (an uncompressed GeoTIFF, as QGIS writes), $NCPU threads"
timed wangge_plain "$WANGGE" heatmap "$WS" --input "$PTS" "${HMARGS[@]}" -o "$HM/wangge_plain.tif" \
    --compress none --json
say "wangge heatmap with --png, $NCPU threads"
timed wangge_png "$WANGGE" heatmap "$WS" --input "$PTS" "${HMARGS[@]}" -o "$HM/wangge_png.tif" \
    --png "$HM/wangge.png" --json
say "naive loop (bench_density_naive, 1 thread)"
timed naive "$NAIVE" "$PTS" "${HMARGS[@]}" -o "$HM/naive.tif"
say "qgis_process start-up (10 points)"
timed qgis_startup "${QG[@]}" run qgis:heatmapkerneldensityestimation -- INPUT="$TINY" RADIUS="$RADIUS" \
    PIXEL_SIZE="$PIXEL" KERNEL=0 OUTPUT_VALUE=0 OUTPUT="$HM/qgis_ten.tif"
say "qgis_process heatmap, $N points (QGIS's algorithm is single-threaded)"
timed qgis "${QG[@]}" run qgis:heatmapkerneldensityestimation -- INPUT="$PTS" RADIUS="$RADIUS" \
    PIXEL_SIZE="$PIXEL" KERNEL=0 OUTPUT_VALUE=0 OUTPUT="$HM/qgis.tif"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# ---- 6. agreement per kernel and scaling -------------------------------------------------
AGREE_TXT=$HM/agree.txt
: >"$AGREE_TXT"
if [ "$DO_AGREE" = 1 ]; then
    SMALL=$HM/points_agree.gpkg
    say "agreement table: the first $AGREE points, every kernel, raw and scaled"
    points_file "$SMALL" "$AGREE"
    K=(quartic triangular uniform triweight epanechnikov)
    cases=()
    for k in 0 1 2 3 4; do
        cases+=("${K[$k]}_0|KERNEL=$k OUTPUT_VALUE=0|--kernel ${K[$k]}")
        cases+=("${K[$k]}_1|KERNEL=$k OUTPUT_VALUE=1|--kernel ${K[$k]} --scaled")
    done
    cases+=("triangular_decay0.5_weighted_1|KERNEL=1 DECAY=0.5 OUTPUT_VALUE=1 WEIGHT_FIELD=w|--kernel triangular --decay 0.5 --scaled --weight-field w")
    cases+=("triangular_decay-0.5_0|KERNEL=1 DECAY=-0.5 OUTPUT_VALUE=0|--kernel triangular --decay -0.5")
    for c in "${cases[@]}"; do
        IFS='|' read -r name qargs wargs <<<"$c"
        # shellcheck disable=SC2086
        "${QG[@]}" run qgis:heatmapkerneldensityestimation -- INPUT="$SMALL" RADIUS="$RADIUS" PIXEL_SIZE="$PIXEL" \
            $qargs OUTPUT="$HM/agree_q_$name.tif" >"$HM/agree_q_$name.log" 2>&1 || die "qgis_process failed ($name)"
        # shellcheck disable=SC2086
        "$WANGGE" heatmap "$WS" --input "$SMALL" "${HMARGS[@]}" $wargs -o "$HM/agree_w_$name.tif" \
            >"$HM/agree_w_$name.log" 2>&1 || die "wangge heatmap failed ($name)"
        echo "$name $HM/agree_q_$name.tif $HM/agree_w_$name.tif" >>"$AGREE_TXT"
    done
fi

# ---- 5 and 7. compare and tabulate ------------------------------------------------------
say "comparing rasters and writing $OUT/heatmap.txt"
export HM N NCPU REPEAT RADIUS PIXEL AGREE QGIS_VERSION LOAD_BEFORE LOAD_AFTER SCALE SEED AGREE_TXT
"$GPY" - <<'PYEOF' | tee "$OUT/heatmap.txt"
import json, os, platform, time
import numpy as np
from osgeo import gdal
E = os.environ
hm = E["HM"]
gdal.UseExceptions()

def read(path):
    ds = gdal.Open(path)
    a = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    nd = ds.GetRasterBand(1).GetNoDataValue()
    if nd is not None:
        a[a == nd] = 0
    return ds.GetGeoTransform(), a

def diff(p, q, factor=1.0):
    """Max relative difference of q against p / factor, and max |diff| / max |p|."""
    gp, a = read(p)
    gq, b = read(q)
    if a.shape != b.shape or max(abs(x - y) for x, y in zip(gp, gq)) > 1e-6:
        return None, None, "frames differ: %s %s vs %s %s" % (a.shape, gp, b.shape, gq)
    a = a / factor
    den = np.maximum(np.abs(a), np.abs(b))
    m = den > 0
    rel = float((np.abs(a - b)[m] / den[m]).max()) if m.any() else 0.0
    scale = float(np.abs(a).max()) or 1.0
    return rel, float(np.abs(a - b).max()) / scale, ""

def t(name):
    s, rss = open(os.path.join(hm, name + ".time")).read().split()
    return float(s), int(rss) / 1024

def wj(name):
    return json.loads(open(os.path.join(hm, name + ".out")).read().strip().splitlines()[-1])

n, ncpu = int(E["N"]), int(E["NCPU"])
qv = E["QGIS_VERSION"]
w = wj("wangge_nt")
naive_figs = dict(l.split() for l in open(os.path.join(hm, "naive.out")) if len(l.split()) == 2)
t_q, rss_q = t("qgis")
t_q0, _ = t("qgis_startup")
rows = [
    ("wangge heatmap, %d threads" % ncpu, "wangge_nt"),
    ("wangge heatmap, 1 thread", "wangge_1t"),
    ("wangge heatmap --compress none, %d threads" % ncpu, "wangge_plain"),
    ("wangge heatmap + PNG/legend, %d threads" % ncpu, "wangge_png"),
    ("naive loop in memory (pow/sqrt), 1 thread", "naive"),
    ("QGIS %s qgis_process" % qv, "qgis"),
]
print("wangge heatmap benchmark: scale %s (seed %s), %d points, radius %s m, pixel %s m, quartic, raw;"
      % (E["SCALE"], E["SEED"], n, E["RADIUS"], E["PIXEL"]))
print("  raster %d x %d = %.1f Mpixel (EPSG:4549); %d CPUs (%s), %s%s"
      % (w["cols"], w["rows"], w["cols"] * w["rows"] / 1e6, ncpu, platform.processor() or platform.machine(),
         time.strftime("%Y-%m-%d %H:%M"), "; best of %s runs" % E["REPEAT"] if E["REPEAT"] != "1" else ""))
print()
print("%-44s %9s %11s %10s %9s  %s" % ("engine", "seconds", "points/s", "x faster", "peak MiB", "max rel. diff from QGIS"))
for label, name in rows:
    s, rss = t(name)
    tif = {"wangge_nt": "wangge.tif", "wangge_1t": "wangge_1t.tif", "wangge_png": "wangge_png.tif",
           "wangge_plain": "wangge_plain.tif",
           "naive": "naive.tif", "qgis": None}[name]
    d = "-"
    if tif:
        rel, _, err = diff(os.path.join(hm, "qgis.tif"), os.path.join(hm, tif))
        d = err or "%.2e" % rel
    print("%-44s %9.3f %11.0f %9.1fx %9.0f  %s" % (label, s, n / s, t_q / s, rss, d))
print()
print("seconds: each command as a user waits for it: read the GeoPackage, compute, write the")
print("  GeoTIFF (wangge: DEFLATE unless --compress none; QGIS and naive: uncompressed).")
print("  x faster = QGIS's seconds / the row's seconds. qgis_process's fixed start-up (QGIS on")
print("  10 points): %.3f s; without it QGIS takes %.3f s, %.1fx wangge's %d-thread run."
      % (t_q0, t_q - t_q0, (t_q - t_q0) / t("wangge_nt")[0], ncpu))
for label, name in (("DEFLATE", "wangge_nt"), ("--compress none", "wangge_plain")):
    ph = wj(name)["seconds"]
    print("wangge phases (%s, %d threads): read %.3f s, density %.3f s, write %.3f s"
          " (QGIS's run / wangge's density phase: %.1fx)" % (label, ncpu, ph["read"], ph["kde"],
                                                             ph["write"], t_q / ph["kde"]))
print("naive phases: read %s s, loop %s s, write %s s" % (naive_figs.get("read_s"), naive_figs.get("kde_s"), naive_figs.get("write_s")))
rel_wn, _, _ = diff(os.path.join(hm, "naive.tif"), os.path.join(hm, "wangge.tif"))
rel_1n, _, _ = diff(os.path.join(hm, "wangge.tif"), os.path.join(hm, "wangge_1t.tif"))
print("wangge vs naive: %.2e; wangge %d threads vs 1 thread: %.2e" % (rel_wn, ncpu, rel_1n))
print("max rel. diff: max over pixels of |a - b| / max(|a|, |b|) where either is non-zero (QGIS's")
print("  nodata = 0). Both sum into float32 (wangge computes each kernel value in double, QGIS")
print("  too); the points are added in another order, hence differences of a few float ulps.")
agree = [l.split() for l in open(E["AGREE_TXT"]) if l.strip()]
if agree:
    print()
    print("agreement with QGIS %s, first %s points, radius %s m, pixel %s m:" % (qv, E["AGREE"], E["RADIUS"], E["PIXEL"]))
    print("  %-34s %16s %18s  %s" % ("kernel_scaling", "max rel. diff", "max |diff|/max", "note"))
    for name, q, wt in agree:
        factor, note = 1.0, ""
        if name == "quartic_1":
            # QGIS before its February 2025 fix (issue 60616) used 116 for 16 in
            # the quartic constant: recognise the ratio and divide it out
            _, a = read(q)
            _, b = read(wt)
            m = b > 0
            ratio = float(np.median(a[m] / b[m])) if m.any() else 1.0
            if abs(ratio / (116.0 / 16.0) - 1) < 1e-3:
                factor, note = 116.0 / 16.0, "this QGIS has the 116/16 quartic constant (issue 60616): divided out"
        if "decay-" in name:
            note = "negative decay: terms of both signs cancel; see |diff|/max"
        rel, absd, err = diff(q, wt, factor)
        print("  %-34s %16s %18s  %s" % (name, err or "%.2e" % rel, "" if err else "%.2e" % absd, note))
print("load average (1, 5, 15 min): %s before timing, %s after" % (E["LOAD_BEFORE"], E["LOAD_AFTER"]))
PYEOF
say "done in $(($(date +%s) - T_START)) s; table in $OUT/heatmap.txt"
