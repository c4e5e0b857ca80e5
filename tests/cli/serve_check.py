"""serve_check.py -- the HTTP side of tests/cli/test_serve.sh.

Talks to a running `wangge serve` with the standard library only
(http.client, socket). Each subcommand prints "ok N - what" per check and
exits 1 with the reason at the first failure.

  api     PORT SETUP.json       every endpoint, auth, scope, rate, bad input
  burst   PORT KEY N THREADS OUT   POST N reports; append "ext_id id" to OUT
                                   for each 201 as soon as it is received
  verify  WS OUT [MIN]          every acknowledged report is in the workspace
  slowpost PORT KEY GO          sends a report's headers and half its body,
                                prints "sent-half", waits for file GO, sends
                                the rest, prints the status
  slowloris PORT SECONDS        a header never finished is cut within SECONDS
  status  PORT KEY PATH         prints the status of GET PATH
"""
import hashlib
import http.client
import json
import os
import socket
import sqlite3
import sys
import threading
import time

CHECKS = 0


def ok(what):
    global CHECKS
    CHECKS += 1
    print("ok %d - %s" % (CHECKS, what), flush=True)


def fail(what):
    print("FAIL: " + what, file=sys.stderr, flush=True)
    sys.exit(1)


def expect(cond, what):
    if not cond:
        fail(what)
    ok(what)


class Client:
    def __init__(self, port, key=None):
        self.port, self.key = port, key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None, headers=None, key=None):
        h = {}
        k = key if key is not None else self.key
        if k:
            h["Authorization"] = "Bearer " + k
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        for attempt in range(2):  # the server may close after an error: reconnect once
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return r.status, js, r, data

    def get(self, path, **kw):
        return self.call("GET", path, **kw)


def is_error(js, code=None):
    return (isinstance(js, dict) and set(js) == {"error", "message"} and
            isinstance(js["message"], str) and (code is None or js["error"] == code))


def check_error(c, method, path, status, code, body=None, headers=None, key=None, what=None):
    st, js, _, raw = c.call(method, path, body=body, headers=headers, key=key)
    what = "%s %s -> %d %s" % (method, what or path[:70], status, code)
    if st != status or not is_error(js, code):
        fail("%s: got %d %s" % (what, st, raw[:200]))
    ok(what)
    return js


# ---- api -------------------------------------------------------------------

def api(port, setup_path):
    S = json.load(open(setup_path))
    keys = S["keys"]
    admin = Client(port, keys["admin"])
    anon = Client(port)

    # Authentication.
    check_error(anon, "GET", "/v1/health", 401, "unauthorized", what="no key")
    check_error(anon, "GET", "/v1/health", 401, "unauthorized", key="wgk_" + "A" * 43,
                what="unknown key")
    check_error(anon, "GET", "/v1/health", 401, "unauthorized",
                headers={"Authorization": "Basic " + keys["admin"]}, what="not Bearer")
    st, js, r, _ = anon.get("/v1/health")
    expect(r.getheader("WWW-Authenticate") == "Bearer", "401 says WWW-Authenticate: Bearer")
    st, js, r, _ = admin.get("/v1/health")
    expect(st == 200 and js["status"] == "ok", "health 200 ok")
    expect(r.getheader("Content-Type").startswith("application/json"), "JSON content type")
    st, _, r, raw = admin.call("HEAD", "/v1/health")
    expect(st == 200 and raw == b"", "HEAD answers without a body")

    # locate, route and dispatch equal the command line, for every case the
    # CLI test prepared.
    for case in S["cli_cases"]:
        st, js, _, _ = admin.get(case["path"])
        cli = json.load(open(case["cli"]))
        expect(st == 200 and js == cli, "GET %s equals `wangge %s`" % (case["path"], case["cmd"]))

    # Bad input: a JSON error naming the problem, never a crash.
    bad = [
        ("/v1/locate?lon=119.5", "missing_parameter"),
        ("/v1/locate?lon=119.5&lat=nan", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=NaN", "invalid_parameter"),
        ("/v1/locate?lon=inf&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=1e999&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=0x10&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=119.5abc&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=%20119.5&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=200&lat=34", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=91", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=34&crs=mars", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=34&at=2024-02-30", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=34&tolerance=-1", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=34&tolerance=5000", "invalid_parameter"),
        ("/v1/locate?lon=119.5&lat=34&zoom=3", "unknown_parameter"),
        ("/v1/locate?lon=119.5&lat=34&lon=119.6", "duplicate_parameter"),
        ("/v1/locate?lon=%zz&lat=34", "malformed_query"),
        ("/v1/locate?lon=119.5&lat=34&crs=%FF%FE", "malformed_query"),
        ("/v1/locate?lon=119.5&lat=34&crs=wgs84%00", "malformed_query"),
        ("/v1/incidents?bbox=1,2,3", "invalid_parameter"),
        ("/v1/incidents?bbox=3,2,1,4", "invalid_parameter"),
        ("/v1/incidents?since=2024-01-01", "invalid_parameter"),
        ("/v1/incidents?since=2024-01-01T00:00:00", "invalid_parameter"),
        ("/v1/incidents?status=lost", "invalid_parameter"),
        ("/v1/incidents?limit=0", "invalid_parameter"),
        ("/v1/incidents?limit=99999", "invalid_parameter"),
        ("/v1/incidents?after=-1", "invalid_parameter"),
        ("/v1/incidents?colour=blue", "invalid_parameter"),
        ("/v1/incidents/abc", "invalid_parameter"),
        ("/v1/incidents/0", "invalid_parameter"),
        ("/v1/incidents/1?x=1", "unknown_parameter"),
        ("/v1/grids/%zz", "invalid_parameter"),
        ("/v1/route?from=119.4,34.1", "missing_parameter"),
        ("/v1/route?from=119.4&to=119.5,34.2", "invalid_parameter"),
        ("/v1/isochrone?lon=119.4&lat=34.1&minutes=0", "invalid_parameter"),
        ("/v1/dispatch?lon=119.4&lat=34.1&limit=1000", "invalid_parameter"),
    ]
    for path, code in bad:
        check_error(admin, "GET", path, 400, code)
    check_error(admin, "GET", "/v1/locate?lon=1&lat=2&crs=" + "x" * 5000, 414,
                "query_too_long", what="a query string over 4096 bytes")
    check_error(admin, "GET", "/v1/locate?" + "a=1&" * 300, 400, "unknown_parameter",
                what="a query of 300 parameters")
    check_error(admin, "GET", "/v1/nowhere", 404, "not_found")
    check_error(admin, "GET", "/v1/incidents/999999", 404, "not_found")
    check_error(admin, "GET", "/v1/grids/NO-SUCH-UNIT", 404, "not_found")
    js = check_error(admin, "DELETE", "/v1/incidents", 405, "method_not_allowed")
    st, _, r, _ = admin.call("PUT", "/v1/health")
    expect(st == 405 and "GET" in (r.getheader("Allow") or ""), "405 lists Allow")
    # An isochrone: the figures of `wangge isochrone --json`, the rings of the
    # file it writes (vertex for vertex, to 1e-7 degree).
    iso, (ilon, ilat) = S["isochrone"], S["points"]["in_scope"]
    st, js, _, _ = admin.get("/v1/isochrone?lon=%r&lat=%r&minutes=%g" % (ilon, ilat,
                                                                          iso["minutes"]))
    cli = json.load(open(iso["cli"]))
    f = js["features"][0] if st == 200 and len(js["features"]) == 1 else None
    expect(f and {k: f["properties"][k] for k in ("minutes", "area_m2", "nodes")} ==
           cli["contours"][0] and js["origins"] == 1, "GET /v1/isochrone: the figures of "
           "`wangge isochrone` (%s)" % (f and f["properties"]))
    def rings(g):
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        return [r for p in polys for r in p]
    mine, theirs = rings(f["geometry"]), rings(json.load(open(iso["file"]))["features"][0]["geometry"])
    expect(len(mine) == len(theirs) and all(
        len(a) == len(b) and all(abs(p[0] - q[0]) < 2e-7 and abs(p[1] - q[1]) < 2e-7
                                 for p, q in zip(a, b)) for a, b in zip(mine, theirs)),
        "GET /v1/isochrone: the contour's %d rings as `wangge isochrone` writes them" % len(mine))
    check_error(admin, "GET", "/v1/route?from=119.4,34.1&to=119.5,34.2&profile=horse", 400,
                "invalid_parameter", what="an unknown profile")
    check_error(admin, "GET", "/v1/dispatch?lon=119.4&lat=34.1&role=king", 400,
                "invalid_parameter", what="an unknown role")

    # Report bodies.
    p_in = S["points"]["in_scope"]
    good = {"lon": p_in[0], "lat": p_in[1], "category": "治安问题", "description": "a\nb"}
    bodies = [
        (b'{"lon":1', "invalid_json"), (b'[1,2]', "invalid_json"), (b'', "invalid_json"),
        (b'{"lon":NaN,"lat":1}', "invalid_json"), (b'{"lon":1,"lat":2,}', "invalid_json"),
        (b'\xff\xfe{}', "invalid_json"), (b'{"lon":"119","lat":34}', "invalid_field"),
        (b'{"lon":119,"lat":34,"zoom":1}', "unknown_field"),
        (b'{"lon":119,"lat":34,"lon":119}', "duplicate_field"),
        (b'{"lat":34}', "missing_field"), (b'{"lon":119.5,"lat":95}', "invalid_field"),
        (b'{"lon":34,"lat":119.5}', "invalid_field"),
        (b'{"lon":1e999,"lat":34}', "invalid_field"),
        (b'{"lon":119.5,"lat":34,"crs":"mars"}', "invalid_field"),
        (b'{"lon":119.5,"lat":34,"reported_at":"yesterday"}', "invalid_field"),
        (b'{"lon":119.5,"lat":34,"reported_at":"2099-01-01T00:00:00Z"}', "invalid_field"),
        (b'{"lon":119.5,"lat":34,"category":"' + b"x" * 65 + b'"}', "invalid_field"),
        (b'{"lon":119.5,"lat":34,"category":"a\\u0000b"}', "invalid_json"),
        (b'{"lon":119.5,"lat":34,"category":"\\ud800"}', "invalid_field"),
        (b'{"lon":119.5,"lat":34,"category":["x"]}', "invalid_field"),
    ]
    for body, code in bodies:
        check_error(admin, "POST", "/v1/incidents", 400, code, body=body,
                    headers={"Content-Type": "application/json"}, what="body %r" % body[:40])
    check_error(admin, "POST", "/v1/incidents", 415, "unsupported_media_type",
                body=json.dumps(good), headers={"Content-Type": "text/plain"})
    check_error(admin, "POST", "/v1/incidents", 415, "unsupported_media_type",
                body=json.dumps(good))
    big = b'{"description":"' + b"x" * 70000 + b'"}'
    check_error(admin, "POST", "/v1/incidents", 413, "body_too_large", body=big,
                headers={"Content-Type": "application/json"}, what="a 70 kB body")
    # The same without Content-Length (chunked): read, dropped, then refused.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/v1/incidents")
    conn.putheader("Authorization", "Bearer " + keys["admin"])
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for _ in range(20):
        chunk = b"x" * 5000
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    r = conn.getresponse()
    js = json.loads(r.read())
    expect(r.status == 413 and is_error(js, "body_too_large"), "chunked 100 kB body -> 413")
    conn.close()

    # A report: 201 only with everything a handset needs, readable at once.
    st, js, r, raw = admin.call("POST", "/v1/incidents", body=dict(good, ext_id="T-1"))
    expect(st == 201, "POST /v1/incidents -> 201 (got %d %s)" % (st, raw[:200]))
    p = js["properties"]
    iid = js["id"]
    expect(r.getheader("Location") == "/v1/incidents/%d" % iid, "Location header")
    expect(p["status"] == "reported" and p["grid"] == S["points"]["in_scope_grid"] and
           p["deadline"] and p["level"] == "grid" and p["officers"] and
           p["events"][0]["to"] == "reported",
           "the answer has status, grid, level, deadline, officers and history")
    expect(js["geometry"]["coordinates"] == [p_in[0], p_in[1]], "the point as sent (WGS84)")
    expect(p["colour"] == "green" and p["assignee"] is None and p["dispatch_deadline"] and
           p["closed_at"] is None and p["satisfaction"] is None,
           "a new report is green, unassigned, with a dispatch deadline (%s)" %
           {k: p.get(k) for k in ("colour", "assignee", "dispatch_deadline")})
    st, js2, _, _ = admin.get("/v1/incidents/%d" % iid)
    expect(st == 200 and js2 == js, "GET /v1/incidents/{id} returns the same incident")
    st, js3, _, _ = admin.call("POST", "/v1/incidents", body=dict(good, ext_id="T-1"))
    expect(st == 200 and js3["id"] == iid and js3["properties"]["duplicate"] is True,
           "sending the same ext_id again returns the stored incident (200), no copy")
    st, lst, _, _ = admin.get("/v1/incidents?grid=%s&limit=1000" % p["grid"])
    ids = [f["id"] for f in lst["features"]]
    expect(st == 200 and ids.count(iid) == 1 and lst["type"] == "FeatureCollection",
           "the report is listed once under its grid")
    b = S["points"]["bbox"]
    st, lst, _, _ = admin.get("/v1/incidents?bbox=%.7f,%.7f,%.7f,%.7f" % (p_in[0] - 1e-4, p_in[1] - 1e-4,
                                                                  p_in[0] + 1e-4, p_in[1] + 1e-4))
    expect(iid in [f["id"] for f in lst["features"]], "found by bbox")
    st, lst, _, _ = admin.get("/v1/incidents?bbox=%g,%g,%g,%g" % tuple(b))
    expect(st == 200 and iid not in [f["id"] for f in lst["features"]], "not found outside bbox")
    st, lst, _, _ = admin.get("/v1/incidents?since=2000-01-01T00:00:00Z&status=reported")
    expect(iid in [f["id"] for f in lst["features"]], "found by since and status")
    st, lst, _, _ = admin.get("/v1/incidents?colour=green&limit=1000")
    expect(st == 200 and iid in [f["id"] for f in lst["features"]] and
           all(f["properties"]["colour"] == "green" for f in lst["features"]),
           "listed under colour=green, every one green")
    st, lst, _, _ = admin.get("/v1/incidents?colour=red&limit=1000")
    expect(st == 200 and iid not in [f["id"] for f in lst["features"]] and
           all(f["properties"]["colour"] == "red" for f in lst["features"]),
           "not listed under colour=red")
    st, lst, _, _ = admin.get("/v1/incidents?since=2099-01-01T00:00:00%2B08:00")
    expect(st == 200 and lst["count"] == 0 and lst["next_after"] is None, "none since 2099")
    # GCJ-02 from a handset: stored in WGS84.
    st, js, _, _ = admin.call("POST", "/v1/incidents",
                              body={"lon": S["points"]["gcj02"][0], "lat": S["points"]["gcj02"][1],
                                    "crs": "gcj02"})
    c = js["geometry"]["coordinates"]
    w = S["points"]["gcj02_wgs84"]
    expect(st == 201 and abs(c[0] - w[0]) < 1e-7 and abs(c[1] - w[1]) < 1e-7 and
           js["properties"]["src_crs"] == "gcj02", "a GCJ-02 report is stored in WGS84")
    # Paging.
    for i in range(3):
        admin.call("POST", "/v1/incidents", body=dict(good, ext_id="P-%d" % i))
    seen, after = [], 0
    while True:
        st, lst, _, _ = admin.get("/v1/incidents?limit=2&after=%d" % after)
        seen += [f["id"] for f in lst["features"]]
        if lst["next_after"] is None:
            break
        after = lst["next_after"]
    expect(seen == sorted(set(seen)) and len(seen) >= 5, "paging with after/next_after")

    # Roles.
    hs, an = Client(port, keys["handset_a"]), Client(port, keys["analyst_a"])
    check_error(hs, "GET", "/v1/incidents", 403, "forbidden", what="handset may not list")
    check_error(hs, "GET", "/v1/incidents/%d" % iid, 403, "forbidden", what="handset may not read")
    check_error(an, "POST", "/v1/incidents", 403, "forbidden", body=good, what="analyst may not report")
    st, _, _, _ = hs.get("/v1/locate?lon=%r&lat=%r" % tuple(p_in))
    expect(st == 200, "handset may locate in scope")

    # Scope: 100% of cross-scope requests refused.
    p_out = S["points"]["out_scope"]
    con = sqlite3.connect("file:%s?mode=ro" % S["ws"], uri=True)
    n_before = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    check_error(hs, "GET", "/v1/locate?lon=%r&lat=%r" % tuple(p_out), 403, "forbidden",
                what="locate outside the scope")
    check_error(hs, "POST", "/v1/incidents", 403, "forbidden",
                body={"lon": p_out[0], "lat": p_out[1]}, what="report outside the scope")
    n_after = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    con.close()
    expect(n_after == n_before, "a refused report stores nothing")
    check_error(an, "GET", "/v1/incidents?grid=%s" % S["points"]["out_scope_grid"], 403,
                "forbidden", what="list another town's grid")
    check_error(an, "GET", "/v1/grids/%s" % S["points"]["out_scope_grid"], 403, "forbidden",
                what="another town's grid")
    check_error(an, "GET", "/v1/grids/%s" % S["county"], 403, "forbidden",
                what="the county from a town key")
    check_error(an, "GET", "/v1/dispatch?lon=%r&lat=%r" % tuple(p_out), 403, "forbidden",
                what="dispatch to another town")
    st, js, _, _ = an.get("/v1/dispatch?lon=%r&lat=%r&limit=100" % tuple(p_in))
    hits = js["officers"] if st == 200 else []
    inside = [h for h in hits if any(g.startswith(S["town_a"]) for g in h["grids"].split(","))]
    outside = [h for h in hits if h not in inside]
    expect(st == 200 and inside and outside and all("phone" in h for h in inside) and
           not any("phone" in h for h in outside),
           "dispatch from a town key: officers of other towns without phones")
    st, js, _, _ = admin.call("POST", "/v1/incidents", body={"lon": p_out[0], "lat": p_out[1]})
    out_id = js["id"]
    check_error(an, "GET", "/v1/incidents/%d" % out_id, 403, "forbidden",
                what="another town's incident")
    st, lst, _, _ = an.get("/v1/incidents?limit=1000")
    towns = {f["properties"]["town"] for f in lst["features"]}
    expect(st == 200 and towns == {S["town_a"]}, "a town key lists its own town only")
    st, js, _, _ = an.get("/v1/grids/%s" % S["points"]["in_scope_grid"])
    expect(st == 200 and js["type"] == "Feature" and js["geometry"]["type"] in
           ("Polygon", "MultiPolygon") and js["properties"]["officers"], "grid with officers")
    # Phones only for officers of units within the scope.
    g = Client(port, keys["grid_scoped"])
    st, js, _, _ = g.get("/v1/locate?lon=%r&lat=%r" % tuple(p_in))
    offs = [o for arr in js["officers"].values() for o in arr]
    vill = [o for o in offs if o["unit"] == S["village_officer_unit"]]
    grid = [o for o in offs if o["unit"] == S["points"]["in_scope_grid"]]
    expect(st == 200 and vill and all("phone" not in o for o in vill) and
           all("phone" in o for o in grid), "no phone numbers outside the key's scope")
    st, js, _, _ = admin.get("/v1/locate?lon=%r&lat=%r" % tuple(p_in))
    offs = [o for arr in js["officers"].values() for o in arr]
    expect(all("phone" in o for o in offs), "an unscoped key sees every phone")

    # Rate limit.
    rl = Client(port, keys["rate2"])
    codes = [rl.get("/v1/health") for _ in range(8)]
    n429 = [c for c in codes if c[0] == 429]
    expect(n429 and all(is_error(c[1], "rate_limited") and int(c[2].getheader("Retry-After")) >= 1
                        for c in n429) and codes[0][0] == 200,
           "rate 2/s: a burst gets 429 with Retry-After (%d of 8)" % len(n429))
    time.sleep(1.2)
    expect(rl.get("/v1/health")[0] == 200, "after a pause the key works again")

    # The closed loop over HTTP (issue 7): POST /v1/incidents/{id}/events, any
    # role, within the key's scope; refused steps are 409 and change nothing.
    ev = "/v1/incidents/%d/events" % iid
    con = sqlite3.connect("file:%s?mode=ro" % S["ws"], uri=True)
    oid = con.execute("SELECT officer_id FROM officer_grids WHERE grid_code = ? ORDER BY 1",
                      (S["points"]["in_scope_grid"],)).fetchone()[0]
    con.close()
    check_error(admin, "POST", ev, 409, "conflict", body={"action": "close"},
                what="close a reported incident")
    check_error(admin, "POST", ev, 400, "invalid_field", body={"action": "approve"},
                what="unknown action")
    check_error(admin, "POST", ev, 400, "unknown_field", body={"action": "accept", "x": 1},
                what="unknown member")
    check_error(admin, "POST", ev, 400, "invalid_json", body="[1]",
                headers={"Content-Type": "application/json"}, what="not an object")
    check_error(admin, "POST", "/v1/incidents/99999999/events", 404, "not_found",
                body={"action": "accept"}, what="no such incident")
    st, js, _, raw = an.call("POST", ev, body={"action": "accept", "note": "受理",
                                                "at": "2099-01-01T00:00:00Z"})
    expect(st == 400 and is_error(js, "invalid_field"), "a step in the future -> 400 (%d)" % st)
    st, js, _, raw = an.call("POST", ev, body={"action": "accept", "note": "受理"})
    p = js["properties"] if st == 200 else {}
    expect(st == 200 and p["status"] == "accepted" and p["events"][-1]["event"] == "accept" and
           p["events"][-1]["note"] == "受理" and p["events"][-1]["actor"].startswith("key:"),
           "an analyst accepts in scope: 200 with the new status and history (%d %s)" % (st, raw[:200]))
    check_error(hs, "POST", ev, 400, "invalid_field", body={"action": "assign", "officer": "NOBODY"},
                what="assign to an officer not in the roster")
    st, js, _, raw = hs.call("POST", ev, body={"action": "assign", "officer": oid})
    expect(st == 200 and js["properties"]["status"] == "assigned",
           "a handset assigns in scope (%d %s)" % (st, raw[:200]))
    for a, want in (("handle", "handled"), ("reject", "assigned"), ("handle", "handled"),
                    ("verify", "verified")):
        st, js, _, raw = hs.call("POST", ev, body={"action": a})
        expect(st == 200 and js["properties"]["status"] == want, "%s -> %s (%d)" % (a, want, st))
    check_error(hs, "POST", ev, 400, "invalid_field", body={"action": "close", "satisfaction": 7},
                what="satisfaction 7")
    st, js, _, raw = an.call("POST", ev, body={"action": "close", "satisfaction": 5})
    expect(st == 200 and js["properties"]["status"] == "closed" and
           [e["event"] for e in js["properties"]["events"]] ==
           ["report", "accept", "assign", "handle", "reject", "handle", "verify", "close"],
           "closed, with the whole history in order")
    p = js["properties"] if st == 200 else {}
    expect(p.get("colour") == "closed" and p.get("assignee") == oid and p.get("satisfaction") == 5 and
           p.get("closed_at") and p.get("closed_on_time") is True,
           "the closed one shows colour, assignee, satisfaction, closed on time (%s)" %
           {k: p.get(k) for k in ("colour", "assignee", "satisfaction", "closed_on_time")})
    seen, after = [], 0
    while True:
        st, lst, _, _ = admin.get("/v1/incidents?colour=closed&limit=1&after=%d" % after)
        seen += [f["id"] for f in lst["features"]]
        if st != 200 or lst["next_after"] is None:
            break
        after = lst["next_after"]
    expect(seen == [iid], "colour=closed pages to exactly the closed one (%s)" % seen)
    check_error(an, "POST", ev, 409, "conflict", body={"action": "accept"}, what="accept a closed one")
    # Out of scope: another town's incident (reported by the admin key).
    st, js, _, _ = admin.call("POST", "/v1/incidents", body={"lon": p_out[0], "lat": p_out[1]})
    oid_out = js["id"]
    for c, who in ((hs, "handset"), (an, "analyst")):
        check_error(c, "POST", "/v1/incidents/%d/events" % oid_out, 403, "forbidden",
                    body={"action": "accept"}, what="a %s acts outside its scope" % who)
    con = sqlite3.connect("file:%s?mode=ro" % S["ws"], uri=True)
    row = con.execute("SELECT status, (SELECT count(*) FROM incident_events WHERE incident_id = ?)"
                      " FROM incidents WHERE id = ?", (oid_out, oid_out)).fetchone()
    n_ev = con.execute("SELECT count(*) FROM incident_events WHERE incident_id = ?", (iid,)).fetchone()[0]
    con.close()
    expect(row == ("reported", 1), "refused steps out of scope change nothing")
    expect(n_ev == 8, "every accepted step is one row of incident_events (%d)" % n_ev)

    # OpenAPI: a valid OpenAPI 3 document naming every path the server answers.
    st, doc, r, _ = admin.get("/v1/openapi.json")
    expect(st == 200 and doc["openapi"].startswith("3.") and doc == json.load(open(S["openapi"])),
           "/v1/openapi.json is the repository's document")
    try:  # a validator when this Python has one (Debian: python3-openapi-spec-validator)
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate:
        validate(doc)
        ok("the document validates as OpenAPI %s" % doc["openapi"])
    for path, ops in doc["paths"].items():
        url = path.replace("{id}", "1").replace("{code}", S["points"]["in_scope_grid"])
        for m in ops:
            st, js, _, _ = admin.call(m.upper(), url, body=good if m == "post" else None)
            expect(st != 404 or "{" in path and is_error(js, "not_found") and
                   js["message"].startswith("no "),
                   "documented %s %s is served (%d)" % (m.upper(), path, st))
    print("PASS api (%d checks)" % CHECKS)


# ---- burst, verify ---------------------------------------------------------

def burst(port, key, n, threads, out):
    lock = threading.Lock()
    f = open(out, "a")
    counter = iter(range(n))

    def run(t):
        c = Client(port, key)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            ext = "B-%d-%d" % (os.getpid(), i)
            try:
                st, js, _, _ = c.call("POST", "/v1/incidents",
                                      body={"lon": float(sys.argv[7]), "lat": float(sys.argv[8]),
                                            "ext_id": ext, "category": "burst"})
            except Exception:
                return  # the server died: stop
            if st == 201:
                with lock:
                    f.write("%s %d\n" % (ext, js["id"]))
                    f.flush()

    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    f.close()


def verify(ws, out, minimum=0):
    acks = [l.split() for l in open(out) if l.strip()]
    con = sqlite3.connect("file:%s?mode=ro" % ws, uri=True)
    rows = dict(con.execute("SELECT id, ext_id FROM incidents WHERE category = 'burst'"))
    lost = [(e, i) for e, i in acks if rows.get(int(i)) != e]
    if len(acks) < minimum:
        fail("only %d reports acknowledged (wanted at least %d)" % (len(acks), minimum))
    if lost:
        fail("%d acknowledged reports lost, e.g. %s" % (len(lost), lost[:3]))
    print("ok - %d acknowledged reports all stored (%d rows)" % (len(acks), len(rows)))


# ---- slow clients ------------------------------------------------------------

def slowpost(port, key, go):
    body = json.dumps({"lon": float(sys.argv[5]), "lat": float(sys.argv[6]),
                       "ext_id": "SLOW-1", "category": "burst"}).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" %
               (key, len(body))).encode() + body[:10])
    print("sent-half", flush=True)
    while not os.path.exists(go):
        time.sleep(0.05)
    s.sendall(body[10:])
    data = b""
    s.settimeout(20)
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.split(b"\r\n")[0].decode(errors="replace"), flush=True)


def slowloris(port, seconds):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # never finished
    t0 = time.time()
    s.settimeout(seconds + 10)
    try:
        data = s.recv(100)
    except socket.timeout:
        fail("an unfinished request was not cut within %g s" % (seconds + 10))
    waited = time.time() - t0
    expect(data == b"" or data.startswith(b"HTTP/1.1 4"),
           "an unfinished header is cut after %.1f s" % waited)
    # A query of thousands of tiny parameters overflows libmicrohttpd's
    # per-connection pool before our handler runs: cut, not a crash or leak.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /v1/locate?" + b"a&" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(seconds + 10)
    t0 = time.time()
    data = s.recv(1000)
    expect(data == b"" or data.startswith(b"HTTP/1.1 4"),
           "a query of 6000 parameters is refused or cut after %.1f s" % (time.time() - t0))
    # A body that stops half way: cut too.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"lon\":")
    s.settimeout(seconds + 10)
    t0 = time.time()
    data = s.recv(1000)
    expect(data == b"" or b" 40" in data.split(b"\r\n")[0],
           "an unfinished body is cut after %.1f s" % (time.time() - t0))


def status(port, key, path):
    print(Client(port, key).get(path)[0])


def main():
    cmd = sys.argv[1]
    if cmd == "api":
        api(int(sys.argv[2]), sys.argv[3])
    elif cmd == "burst":
        burst(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif cmd == "verify":
        verify(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    elif cmd == "slowpost":
        slowpost(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif cmd == "status":
        status(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif cmd == "slowloris":
        slowloris(int(sys.argv[2]), float(sys.argv[3]))
    else:
        fail("unknown subcommand " + cmd)


if __name__ == "__main__":
    main()
