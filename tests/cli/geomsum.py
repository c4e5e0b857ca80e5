#!/usr/bin/env python3
"""geomsum.py -- an oracle for the CLI tests: what a polygon layer holds, read
through GDAL's ogr2ogr (not through wangge), and a strict comparison.

  geomsum.py summary [--out OUT.json] PATH[:CODE_FIELD[:NAME_FIELD]]...
      writes PATH.sum.json beside each layer (or OUT.json for a single one):
      per feature, keyed by code (field "code" unless given): name (field
      "name" unless given), area_m2 (if the layer has it), npoints (all ring
      vertices, closing ones included), rings (sorted ring vertex counts),
      polys (sorted number of rings per polygon part)
  geomsum.py compare [--rtol 1e-6] [--no-area] [--no-names] [--what TEXT] A.json B.json...
      exits 1, listing the differences, unless every B holds the same codes,
      names, vertex counts, ring and part structure as A, and areas within
      rtol (per feature and in total).
"""
import json
import os
import subprocess
import sys
import tempfile


def read_geojson(path):
    if path.endswith((".geojson", ".json")):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "layer.geojson")
        subprocess.run(["ogr2ogr", "-q", "-f", "GeoJSON", out, path], check=True)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def polygons(geom):
    if geom is None:
        return []
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    if geom["type"] == "MultiPolygon":
        return geom["coordinates"]
    raise SystemExit("geomsum: unexpected geometry type %s" % geom["type"])


def summary(path, code_field, name_field=None):
    out = {}
    for feat in read_geojson(path)["features"]:
        props = feat["properties"]
        code = str(props[code_field])
        if code in out:
            raise SystemExit("geomsum: %s: code %s appears twice" % (path, code))
        polys = polygons(feat["geometry"])
        rings = [len(r) for p in polys for r in p]
        out[code] = {
            "name": props.get(name_field) if name_field else None,
            "area_m2": props.get("area_m2"),
            "npoints": sum(rings),
            "rings": sorted(rings),
            "polys": sorted(len(p) for p in polys),
        }
    return out


def compare(a, b, rtol, area=True, names=True, what="layers"):
    errs = []
    if set(a) != set(b):
        errs.append("codes differ: only in first %s, only in second %s"
                    % (sorted(set(a) - set(b))[:10], sorted(set(b) - set(a))[:10]))
    keys = ["npoints", "rings", "polys"] + (["name"] if names else [])
    for code in sorted(set(a) & set(b)):
        for k in keys:
            if a[code][k] != b[code][k]:
                errs.append("code %s: %s %s != %s" % (code, k, str(a[code][k])[:80],
                                                      str(b[code][k])[:80]))
        if area:
            x, y = a[code]["area_m2"], b[code]["area_m2"]
            if x is None or y is None or abs(x - y) > rtol * max(abs(x), abs(y)):
                errs.append("code %s: area_m2 %r != %r" % (code, x, y))
    if area and not errs:
        ta = sum(v["area_m2"] for v in a.values())
        tb = sum(v["area_m2"] for v in b.values())
        if abs(ta - tb) > rtol * max(ta, tb):
            errs.append("total area %.6f != %.6f m2" % (ta, tb))
    if errs:
        print("geomsum: %s differ:\n  %s" % (what, "\n  ".join(errs[:20])), file=sys.stderr)
        return 1
    return 0


def main(argv):
    cmd, args, opts = (argv[0] if argv else ""), [], {}
    rest = argv[1:]
    while rest:
        a = rest.pop(0)
        if a in ("--out", "--rtol", "--what"):
            opts[a] = rest.pop(0)
        elif a in ("--no-area", "--no-names"):
            opts[a] = True
        elif a.startswith("--"):
            raise SystemExit("geomsum: unknown option %s" % a)
        else:
            args.append(a)
    if cmd == "summary" and args and (len(args) == 1 or "--out" not in opts):
        for spec in args:
            path, _, fields = spec.partition(":")
            code_f, _, name_f = fields.partition(":")
            out = opts.get("--out") or path + ".sum.json"
            with open(out, "w", encoding="utf-8") as f:
                json.dump(summary(path, code_f or "code", name_f or "name"), f,
                          ensure_ascii=False, sort_keys=True)
        return 0
    if cmd == "compare" and len(args) >= 2:
        with open(args[0], encoding="utf-8") as f:
            a = json.load(f)
        rc = 0
        for other in args[1:]:
            with open(other, encoding="utf-8") as f:
                b = json.load(f)
            what = "%s: %s vs %s" % (opts.get("--what", "layers"), os.path.basename(args[0]),
                                     os.path.basename(other))
            rc |= compare(a, b, float(opts.get("--rtol", 1e-6)), "--no-area" not in opts,
                          "--no-names" not in opts, what)
        return rc
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
