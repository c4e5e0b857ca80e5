#!/usr/bin/env python3
"""shp2osm.py -- a layer of road lines as OpenStreetMap XML, for bench_roads.sh.

usage: shp2osm.py SRC OUT.osm [--class-field class] [--name-field name]
                              [--oneway-field oneway] [--speed-field speed]

SRC is read through ogr2ogr (GeoJSONSeq on a pipe, reprojected to WGS84 with
9 decimals), so any OGR line layer will do. Each line becomes a way tagged
highway=<class>, name, oneway (yes, -1 or no, as `wangge roads` reads the
field) and maxspeed (when the speed is above 0); a multi-line becomes one way
per part. Vertices become nodes rounded to 1e-7 degree, OSM's own precision,
and vertices that round to the same position are one node -- the same rule
`wangge roads` applies to a line layer, so both sources should give the same
graph. Nodes come first (ids 1, 2, ... in order of first use), then the ways
in the order of the layer, as the OSM readers expect.

Python 3 standard library only, plus the ogr2ogr program. Prints one line of
counts on stderr.
"""
import json
import math
import subprocess
import sys
from xml.sax.saxutils import quoteattr


def main(argv):
    args = {"class": "class", "name": "name", "oneway": "oneway", "speed": "speed"}
    pos = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        if a.startswith("--") and a.endswith("-field") and i + 1 < len(argv):
            key = a[2:-6]
            if key not in args:
                print(f"shp2osm.py: unknown option {a}", file=sys.stderr)
                return 2
            args[key] = argv[i + 1]
            i += 2
            continue
        pos.append(a)
        i += 1
    if len(pos) != 2:
        print("usage: shp2osm.py SRC OUT.osm (try --help)", file=sys.stderr)
        return 2
    src, out = pos

    proc = subprocess.Popen(
        ["ogr2ogr", "-f", "GeoJSONSeq", "/vsistdout/", src, "-t_srs", "EPSG:4326",
         "-lco", "COORDINATE_PRECISION=9"],
        stdout=subprocess.PIPE, text=True, encoding="utf-8")
    node_of = {}          # (x, y) in 1e-7 degree -> node id
    node_xy = []          # id - 1 -> (x, y)
    ways = []             # (node ids, tags)
    skipped = 0
    for line in proc.stdout:
        line = line.strip().lstrip("\x1e")
        if not line:
            continue
        f = json.loads(line)
        g = f.get("geometry") or {}
        p = f.get("properties") or {}
        if g.get("type") == "LineString":
            parts = [g["coordinates"]]
        elif g.get("type") == "MultiLineString":
            parts = g["coordinates"]
        else:
            skipped += 1
            continue
        tags = []
        cls = p.get(args["class"])
        if cls is None or str(cls).strip() == "":
            skipped += 1
            continue
        tags.append(("highway", str(cls).strip()))
        name = p.get(args["name"])
        if name is not None and str(name).strip():
            tags.append(("name", str(name).strip()))
        ow = str(p.get(args["oneway"]) or "").strip().lower()
        tags.append(("oneway", "yes" if ow in ("yes", "true", "1") else
                     "-1" if ow in ("-1", "reverse") else "no"))
        sp = p.get(args["speed"])
        try:
            if sp is not None and float(sp) > 0:
                tags.append(("maxspeed", str(sp).strip()))
        except ValueError:
            pass
        for part in parts:
            ids = []
            for c in part:
                # llround(v * 1e7), as roads.c quantises; v * 1e7 is the same
                # IEEE product in Python and C
                q = (int(math.copysign(math.floor(abs(c[0] * 1e7) + 0.5), c[0])),
                     int(math.copysign(math.floor(abs(c[1] * 1e7) + 0.5), c[1])))
                n = node_of.get(q)
                if n is None:
                    node_xy.append(q)
                    n = node_of[q] = len(node_xy)
                if not ids or ids[-1] != n:   # OSM ways do not repeat a node in a row
                    ids.append(n)
            if len(ids) >= 2:
                ways.append((ids, tags))
            else:
                skipped += 1
    if proc.wait() != 0:
        print(f"shp2osm.py: ogr2ogr failed on {src}", file=sys.stderr)
        return 1

    def deg(v):
        s = "-" if v < 0 else ""
        v = abs(v)
        return f"{s}{v // 10000000}.{v % 10000000:07d}"

    with open(out, "w", encoding="utf-8") as o:
        o.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<osm version="0.6" generator="wangge shp2osm.py">\n')
        w = o.write
        for i, (x, y) in enumerate(node_xy, 1):
            w(f' <node id="{i}" version="1" lat="{deg(y)}" lon="{deg(x)}"/>\n')
        for i, (ids, tags) in enumerate(ways, 1):
            w(f' <way id="{i}" version="1">\n')
            w("".join(f'  <nd ref="{n}"/>\n' for n in ids))
            w("".join(f"  <tag k={quoteattr(k)} v={quoteattr(v)}/>\n" for k, v in tags))
            w(" </way>\n")
        w("</osm>\n")
    print(f"shp2osm.py: {len(node_xy)} nodes, {len(ways)} ways, {skipped} features skipped "
          f"-> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
