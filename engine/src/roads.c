/* roads.c -- building the road graph: reading roads, profiles, storage.
 *
 * Reading. OpenStreetMap comes through GDAL's OSM driver (layer `lines`:
 * `highway`, `name`, and the other tags in `other_tags`, an hstore string
 * from which oneway, junction, maxspeed and the access tags are parsed);
 * any other OGR source is a layer of lines with optional class, name,
 * oneway and speed fields, reprojected to WGS84 through PROJ.
 *
 * Noding. Ways are not split at junctions in either kind of source, so a
 * line is cut at every vertex it shares with another line (or with itself),
 * besides its ends. That is OSM's own topology (ways meet at shared nodes;
 * a bridge over a road shares none) and, for a layer of lines, joins lines
 * whose ends coincide and T-junctions that have a vertex. "Coincide" means
 * equal after rounding to 1e-7 degree, OSM's own precision (about 1 cm).
 * Edge ends are then set to their node's exact coordinates.
 *
 * Lengths are geodesic on the WGS84 ellipsoid (PROJ's geod_inverse), as
 * SpatiaLite's ST_Length(geom, 1): independent of any projection, so the
 * workspace's metric CRS does not matter (Monaco imports into a workspace
 * of a Chinese county as correctly as into its own).
 *
 * Storage. The edges become the table road_edges (the truth; SQL can read
 * it) and, through graph.c, the binary WS.graph. Everything is computed in
 * memory first; then the graph is written under a temporary name, the
 * table replaced in one transaction, and the file renamed into place: a
 * failure anywhere leaves the previous network whole. A stamp shared by
 * the file and wg_meta tells a stale file from the current one.
 *
 * Profiles are a small INI-like text (see profiles.default); the text used
 * is kept in wg_meta so the graph can be rebuilt from the table alone. */
#include "graph.h"
#include "ogrio.h"
#include "workspace.h"

#include <cpl_string.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <geodesic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The built-in profiles; fixtures/profiles.default is the same text (a CLI
 * test checks it), for people to copy and edit. */
static const char DEFAULT_PROFILES[] =
    "# wangge road profiles: the built-in default (`wangge roads --print-profiles`).\n"
    "# Edit a copy and apply it with `wangge roads WS --profiles FILE` (no need to\n"
    "# import the roads again: the graph is rebuilt from the workspace).\n"
    "#\n"
    "# One [section] per profile, at most 8. Speeds are km/h.\n"
    "#   mode        car | bike | foot: the OSM access tags the profile obeys\n"
    "#               car: motorcar > motor_vehicle > vehicle > access\n"
    "#               bike: bicycle > vehicle > access;  foot: foot > access\n"
    "#   oneway      yes: keep to one-way roads (OSM oneway=yes|-1, roundabouts,\n"
    "#               motorways; the --oneway-field of a line layer); no: ignore them\n"
    "#   road_speed  what a road's own speed (OSM maxspeed, --speed-field) does:\n"
    "#               replace the class speed | cap it | ignore it\n"
    "#   max         the profile's top speed (0: none)\n"
    "#   offroad     walking speed between a point and the road it snaps to\n"
    "#   default     speed on roads whose class is not listed (0: not usable)\n"
    "#   permitted   speed on a road of an unusable class that explicitly allows\n"
    "#               this mode (e.g. a footway with bicycle=yes); 0: still unusable\n"
    "#   CLASS = S   speed on roads of class CLASS (OSM highway=CLASS, or the value\n"
    "#               of --class-field); 0: not usable\n"
    "# OSM ways whose highway is proposed, construction, abandoned, disused,\n"
    "# razed, platform, bus_stop, rest_area, services, elevator, corridor,\n"
    "# raceway, bus_guideway, escape or no are not roads and are never imported.\n"
    "# The synthetic county's classes (arterial, rural, street, track) are listed\n"
    "# beside OSM's.\n"
    "\n"
    "[car]\n"
    "mode = car\n"
    "oneway = yes\n"
    "road_speed = replace\n"
    "max = 120\n"
    "offroad = 5\n"
    "default = 30\n"
    "permitted = 20\n"
    "motorway = 100\n"
    "motorway_link = 60\n"
    "trunk = 80\n"
    "trunk_link = 50\n"
    "primary = 60\n"
    "primary_link = 40\n"
    "secondary = 50\n"
    "secondary_link = 40\n"
    "tertiary = 40\n"
    "tertiary_link = 30\n"
    "unclassified = 30\n"
    "residential = 25\n"
    "living_street = 10\n"
    "service = 15\n"
    "road = 25\n"
    "track = 15\n"
    "pedestrian = 0\n"
    "footway = 0\n"
    "path = 0\n"
    "cycleway = 0\n"
    "steps = 0\n"
    "bridleway = 0\n"
    "via_ferrata = 0\n"
    "arterial = 60\n"
    "rural = 50\n"
    "street = 40\n"
    "\n"
    "[ebike]\n"
    "mode = bike\n"
    "oneway = yes\n"
    "road_speed = cap\n"
    "max = 25\n"
    "offroad = 5\n"
    "default = 15\n"
    "permitted = 12\n"
    "motorway = 0\n"
    "motorway_link = 0\n"
    "trunk = 20\n"
    "trunk_link = 20\n"
    "primary = 20\n"
    "primary_link = 20\n"
    "secondary = 20\n"
    "secondary_link = 20\n"
    "tertiary = 20\n"
    "tertiary_link = 20\n"
    "unclassified = 18\n"
    "residential = 18\n"
    "living_street = 10\n"
    "service = 15\n"
    "road = 18\n"
    "track = 12\n"
    "cycleway = 20\n"
    "path = 12\n"
    "pedestrian = 0\n"
    "footway = 0\n"
    "steps = 0\n"
    "bridleway = 0\n"
    "via_ferrata = 0\n"
    "arterial = 20\n"
    "rural = 20\n"
    "street = 18\n"
    "\n"
    "[walk]\n"
    "mode = foot\n"
    "oneway = no\n"
    "road_speed = ignore\n"
    "max = 6\n"
    "offroad = 5\n"
    "default = 5\n"
    "permitted = 5\n"
    "motorway = 0\n"
    "motorway_link = 0\n"
    "steps = 3\n"
    "via_ferrata = 1\n";

const char *wg_roads_default_profiles(void) { return DEFAULT_PROFILES; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- interned strings ----------------------------------------------------- */

typedef struct strtab {
    char **v;
    uint32_t n, cap;
    uint32_t *slot; /* open addressing: id + 1, 0 empty */
    uint32_t nslot;
} strtab;

static uint64_t fnv(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void strtab_free(strtab *t) {
    for (uint32_t i = 0; i < t->n; i++) free(t->v[i]);
    free(t->v);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* The id of s (added if new); WG_NONE when out of memory. */
static uint32_t intern(strtab *t, const char *s) {
    if ((uint64_t)(t->n + 1) * 2 > t->nslot) {
        uint32_t ns = t->nslot ? t->nslot * 2 : 1024;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl) return WG_NONE;
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t h = (uint32_t)fnv(t->v[i]) & (ns - 1);
            while (sl[h]) h = (h + 1) & (ns - 1);
            sl[h] = i + 1;
        }
        free(t->slot);
        t->slot = sl;
        t->nslot = ns;
    }
    uint32_t h = (uint32_t)fnv(s) & (t->nslot - 1);
    while (t->slot[h]) {
        if (!strcmp(t->v[t->slot[h] - 1], s)) return t->slot[h] - 1;
        h = (h + 1) & (t->nslot - 1);
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        char **v = realloc(t->v, cap * sizeof *v);
        if (!v) return WG_NONE;
        t->v = v;
        t->cap = cap;
    }
    char *c = strdup(s);
    if (!c) return WG_NONE;
    t->v[t->n] = c;
    t->slot[h] = t->n + 1;
    return t->n++;
}

/* ---- profiles ------------------------------------------------------------- */

typedef struct cspeed {
    char *cls;
    double kmh;
} cspeed;

typedef struct profile {
    wg_gpmeta pm;
    cspeed *cs;
    size_t ncs;
    int has_mode;
} profile;

typedef struct profiles {
    int n;
    profile p[WG_MAXP];
    char *text;
} profiles;

static void profiles_free(profiles *ps) {
    for (int i = 0; i < ps->n; i++) {
        for (size_t k = 0; k < ps->p[i].ncs; k++) free(ps->p[i].cs[k].cls);
        free(ps->p[i].cs);
    }
    free(ps->text);
    memset(ps, 0, sizeof *ps);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int parse_kmh(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(x) || x < 0 || x > 1000) return 0;
    *out = x;
    return 1;
}

static int parse_bool(const char *v, int *out) {
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1")) return *out = 1, 1;
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0")) return *out = 0, 1;
    return 0;
}

/* Parses profile text; `where` names it in messages. Takes `text`. */
static wg_status profiles_parse(wg_ctx *ctx, char *text, const char *where, profiles *ps) {
    memset(ps, 0, sizeof *ps);
    ps->text = text;
    char *copy = strdup(text), *line, *save = NULL;
    wg_status rc = WG_OK;
    int lineno = 0;
    profile *cur = NULL;
    if (!copy) {
        profiles_free(ps); /* the text is ours from here on */
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
#define PERR(...)                                                                          \
    do {                                                                                   \
        char m_[200];                                                                      \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                              \
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s:%d: %s", where, lineno, m_);                   \
        goto done;                                                                         \
    } while (0)
    /* strtok_r would merge empty lines and so miscount; split by hand */
    for (line = copy; line; line = save) {
        save = strchr(line, '\n');
        if (save) *save++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1]) PERR("a section header is [name]");
            *close = '\0';
            char *name = trim(s + 1);
            size_t len = strlen(name);
            if (!len || len > 31) PERR("a profile name has 1 to 31 characters");
            for (const char *c = name; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
                    PERR("profile name '%s': use letters, digits, _ and -", name);
            for (int i = 0; i < ps->n; i++)
                if (!strcmp(ps->p[i].pm.name, name)) PERR("profile [%s] appears twice", name);
            if (ps->n == WG_MAXP) PERR("at most %d profiles", WG_MAXP);
            cur = &ps->p[ps->n++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->pm.name, sizeof cur->pm.name, "%s", name);
            cur->pm.oneway = -1;
            cur->pm.road_speed = -1;
            cur->pm.offroad_kmh = 5;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) PERR("expected KEY = VALUE or [profile]");
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!cur) PERR("'%s' before any [profile]", key);
        if (!*key || !*val) PERR("expected KEY = VALUE");
        wg_gpmeta *pm = &cur->pm;
        if (!strcmp(key, "mode")) {
            if (!strcmp(val, "car")) pm->mode = WG_MODE_CAR;
            else if (!strcmp(val, "bike")) pm->mode = WG_MODE_BIKE;
            else if (!strcmp(val, "foot")) pm->mode = WG_MODE_FOOT;
            else PERR("mode '%s': use car, bike or foot", val);
            cur->has_mode = 1;
        } else if (!strcmp(key, "oneway")) {
            int b;
            if (!parse_bool(val, &b)) PERR("oneway '%s': use yes or no", val);
            pm->oneway = b;
        } else if (!strcmp(key, "road_speed")) {
            if (!strcmp(val, "replace")) pm->road_speed = WG_RS_REPLACE;
            else if (!strcmp(val, "cap")) pm->road_speed = WG_RS_CAP;
            else if (!strcmp(val, "ignore")) pm->road_speed = WG_RS_IGNORE;
            else PERR("road_speed '%s': use replace, cap or ignore", val);
        } else {
            double kmh;
            if (!parse_kmh(val, &kmh)) PERR("%s = '%s': expected a speed in km/h (0 to 1000)", key, val);
            if (!strcmp(key, "max")) pm->max_kmh = kmh;
            else if (!strcmp(key, "offroad")) {
                if (kmh <= 0) PERR("offroad must be above 0 km/h");
                pm->offroad_kmh = kmh;
            } else if (!strcmp(key, "default")) pm->default_kmh = kmh;
            else if (!strcmp(key, "permitted")) pm->permitted_kmh = kmh;
            else {
                for (size_t k = 0; k < cur->ncs; k++)
                    if (!strcmp(cur->cs[k].cls, key)) PERR("class '%s' twice in [%s]", key, pm->name);
                cspeed *cs = realloc(cur->cs, (cur->ncs + 1) * sizeof *cs);
                if (!cs) {
                    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                    goto done;
                }
                cur->cs = cs;
                cs[cur->ncs].cls = strdup(key);
                cs[cur->ncs].kmh = kmh;
                if (!cs[cur->ncs++].cls) {
                    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
                    goto done;
                }
            }
        }
    }
    lineno = 0;
    if (!ps->n) PERR("no [profile] defined");
    for (int i = 0; i < ps->n; i++) {
        profile *p = &ps->p[i];
        if (!p->has_mode) {
            rc = wg_err(ctx, WG_ERR_FORMAT, "%s: profile [%s] has no mode (car, bike or foot)",
                        where, p->pm.name);
            goto done;
        }
        if (p->pm.oneway < 0) p->pm.oneway = p->pm.mode != WG_MODE_FOOT;
        if (p->pm.road_speed < 0)
            p->pm.road_speed = p->pm.mode == WG_MODE_CAR ? WG_RS_REPLACE
                               : p->pm.mode == WG_MODE_BIKE ? WG_RS_CAP : WG_RS_IGNORE;
    }
#undef PERR
done:
    free(copy);
    if (rc) profiles_free(ps);
    return rc;
}

wg_status wg_profiles_check(wg_ctx *ctx, const char *text, const char *where, int *n) {
    profiles ps;
    char *copy = strdup(text);
    if (!copy) return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    wg_status rc = profiles_parse(ctx, copy, where, &ps); /* takes copy */
    if (rc) return rc;
    *n = ps.n;
    profiles_free(&ps);
    return WG_OK;
}

static wg_status read_text_file(wg_ctx *ctx, const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return wg_err(ctx, WG_ERR_IO, "cannot read profile file %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    wg_status rc = WG_OK;
    for (;;) {
        if (!s) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
            break;
        }
        size_t got = fread(s + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            if (cap >= (1u << 20)) {
                rc = wg_err(ctx, WG_ERR_FORMAT, "%s: a profile file is at most 1 MB", path);
                break;
            }
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    }
    if (!rc && ferror(f)) rc = wg_err(ctx, WG_ERR_IO, "cannot read %s", path);
    fclose(f);
    if (!rc && (memchr(s, '\0', n) || !wg_utf8_valid(s, n)))
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: a profile file is UTF-8 text", path);
    if (rc) {
        free(s);
        return rc;
    }
    s[n] = '\0';
    *out = s;
    return WG_OK;
}

/* The profiles to use: `path`, else the workspace's stored ones, else the
 * defaults. */
static wg_status profiles_load(wg_ws *ws, const char *path, profiles *ps) {
    char *text = NULL;
    wg_status rc;
    if (path) {
        if ((rc = read_text_file(ws->ctx, path, &text))) return rc;
        return profiles_parse(ws->ctx, text, path, ps);
    }
    if ((rc = wg_ws_meta_get(ws, "roads_profiles", &text))) return rc;
    if (text) return profiles_parse(ws->ctx, text, "the workspace's stored profiles", ps);
    if (!(text = strdup(DEFAULT_PROFILES))) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    return profiles_parse(ws->ctx, text, "the built-in profiles", ps);
}

/* ---- the network in memory ------------------------------------------------ */

typedef struct rnet {
    uint32_t nnodes, nedges, npts;
    size_t ecap, pcap;
    double *node_ll;
    uint32_t *edge_uv, *edge_shp, *edge_name, *edge_cls;
    double *pt, *cum, *len;
    int8_t *oneway;
    uint8_t *acc;
    float *speed;
    int64_t *fid;
    strtab names, classes;
} rnet;

static void rnet_free(rnet *n) {
    free(n->node_ll), free(n->edge_uv), free(n->edge_shp), free(n->edge_name), free(n->edge_cls);
    free(n->pt), free(n->cum), free(n->len), free(n->oneway), free(n->acc), free(n->speed);
    free(n->fid);
    strtab_free(&n->names);
    strtab_free(&n->classes);
    memset(n, 0, sizeof *n);
}

#define GROW(ptr, cap, need)                                                          \
    (((need) > (cap)) ? grow((void **)&(ptr), sizeof *(ptr), &(cap), (need)) : 0)

static int grow(void **p, size_t el, size_t *cap, size_t need) {
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * el);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Grows every per-edge array to hold `need` edges. */
static int edges_reserve(rnet *n, size_t need) {
    if (need <= n->ecap) return 0;
    size_t c = n->ecap ? n->ecap : 1024;
    while (c < need) c *= 2;
    void *a;
#define RE(f, k)                                          \
    if (!(a = realloc(n->f, c * (k) * sizeof *n->f))) return -1; \
    n->f = a;
    RE(edge_uv, 2) RE(edge_shp, 1) RE(edge_name, 1) RE(edge_cls, 1) RE(len, 1)
    RE(oneway, 1) RE(acc, 1) RE(speed, 1) RE(fid, 1)
#undef RE
    if (!(a = realloc(n->edge_shp, (c + 1) * sizeof *n->edge_shp))) return -1;
    n->edge_shp = a;
    n->ecap = c;
    return 0;
}

/* Geodesic lengths of every segment: cum per point, len per edge. */
static wg_status measure(wg_ctx *ctx, rnet *n) {
    struct geod_geodesic geo;
    geod_init(&geo, 6378137, 1 / 298.257223563);
    free(n->cum);
    n->cum = malloc(((size_t)n->npts + 1) * sizeof *n->cum);
    if (!n->cum) return wg_err(ctx, WG_ERR_NOMEM, "out of memory measuring roads");
    for (uint32_t e = 0; e < n->nedges; e++) {
        double c = 0;
        uint32_t k0 = n->edge_shp[e], k1 = n->edge_shp[e + 1];
        n->cum[k0] = 0;
        for (uint32_t k = k0 + 1; k < k1; k++) {
            const double *a = n->pt + 2 * (k - 1), *b = a + 2;
            double s12 = 0;
            if (a[0] != b[0] || a[1] != b[1]) geod_inverse(&geo, a[1], a[0], b[1], b[0], &s12, NULL, NULL);
            c += s12;
            n->cum[k] = c;
        }
        n->len[e] = c;
    }
    return WG_OK;
}

/* ---- OSM tags ------------------------------------------------------------- */

typedef struct tags {
    const char *k[32], *v[32];
    int n;
    char buf[4096];
} tags;

/* Parses GDAL's other_tags: "key"=>"value","key"=>"value" (\" and \\
 * escaped). Stops quietly at anything malformed. */
static void tags_parse(const char *s, tags *t) {
    t->n = 0;
    char *o = t->buf, *end = t->buf + sizeof t->buf - 1;
    while (s && *s && t->n < 32) {
        const char *kv[2];
        for (int part = 0; part < 2; part++) {
            if (*s != '"') return;
            s++;
            kv[part] = o;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1]) s++;
                if (o >= end) return;
                *o++ = *s++;
            }
            if (*s != '"' || o >= end) return;
            s++;
            *o++ = '\0';
            if (part == 0) {
                if (s[0] != '=' || s[1] != '>') return;
                s += 2;
            }
        }
        t->k[t->n] = kv[0], t->v[t->n] = kv[1], t->n++;
        if (*s == ',') s++;
        while (*s == ' ') s++;
    }
}

static const char *tag(const tags *t, const char *k) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->k[i], k)) return t->v[i];
    return NULL;
}

/* A speed tag or field: "50", "30 mph", "walk"; 0 if unusable. */
static double parse_speed(const char *s) {
    if (!s) return 0;
    while (*s == ' ') s++;
    if (!strncasecmp(s, "walk", 4)) return 5;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v <= 0 || v > 500) return 0;
    while (*end == ' ') end++;
    if (!strncasecmp(end, "mph", 3)) v *= 1.609344;
    else if (*end && *end != ';' && strncasecmp(end, "km", 2)) return 0;
    return v;
}

/* 1 yes, 0 no, -1 unknown: an OSM access value. */
static int access_value(const char *v) {
    static const char *const yes[] = {"yes", "designated", "permissive", "destination",
                                      "customers", "delivery", "official", "use_sidepath", NULL};
    static const char *const no[] = {"no", "private", "agricultural", "forestry", "dismount",
                                     "military", NULL};
    if (!v) return -1;
    for (int i = 0; yes[i]; i++)
        if (!strcmp(v, yes[i])) return 1;
    for (int i = 0; no[i]; i++)
        if (!strcmp(v, no[i])) return 0;
    return -1;
}

static unsigned osm_access(const tags *t) {
    static const char *const chain[3][5] = {{"motorcar", "motor_vehicle", "vehicle", "access", NULL},
                                            {"bicycle", "vehicle", "access", NULL},
                                            {"foot", "access", NULL}};
    unsigned acc = 0;
    for (int mode = 0; mode < 3; mode++)
        for (int i = 0; chain[mode][i]; i++) {
            int a = access_value(tag(t, chain[mode][i]));
            if (a < 0) continue;
            acc |= a ? WG_ACC_YES(mode) : WG_ACC_NO(mode);
            break;
        }
    const char *mr = tag(t, "motorroad");
    if (mr && !strcmp(mr, "yes"))
        for (int mode = WG_MODE_BIKE; mode <= WG_MODE_FOOT; mode++)
            if (!(acc & WG_ACC_YES(mode))) acc |= WG_ACC_NO(mode);
    const char *ob = tag(t, "oneway:bicycle"), *cw = tag(t, "cycleway");
    if ((ob && !strcmp(ob, "no")) || (cw && !strncmp(cw, "opposite", 8))) acc |= WG_ACC_BIKE_TWOWAY;
    return acc;
}

static int oneway_value(const char *v) {
    if (!v) return 0;
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1")) return 1;
    if (!strcmp(v, "-1") || !strcasecmp(v, "reverse")) return -1;
    return 0;
}

static int osm_oneway(const tags *t, const char *highway) {
    const char *ow = tag(t, "oneway");
    if (ow) return oneway_value(ow);
    const char *j = tag(t, "junction");
    if (j && (!strcmp(j, "roundabout") || !strcmp(j, "circular"))) return 1;
    return highway && !strcmp(highway, "motorway");
}

static int osm_not_road(const char *hw) {
    static const char *const skip[] = {"proposed", "construction", "abandoned", "disused", "razed",
                                       "platform", "bus_stop", "rest_area", "services", "elevator",
                                       "corridor", "raceway", "bus_guideway", "escape", "no", NULL};
    for (int i = 0; skip[i]; i++)
        if (!strcmp(hw, skip[i])) return 1;
    return 0;
}

/* The access bits as text for road_edges.access ("car=no,bike=yes"). */
static void access_text(unsigned acc, char *out, size_t size) {
    static const char *const mode[3] = {"car", "bike", "foot"};
    out[0] = '\0';
    for (int m = 0; m < 3; m++) {
        const char *v = acc & WG_ACC_YES(m) ? "yes" : acc & WG_ACC_NO(m) ? "no" : NULL;
        if (!v) continue;
        size_t l = strlen(out);
        snprintf(out + l, size - l, "%s%s=%s", l ? "," : "", mode[m], v);
    }
    if (acc & WG_ACC_BIKE_TWOWAY) {
        size_t l = strlen(out);
        snprintf(out + l, size - l, "%sbike_oneway=no", l ? "," : "");
    }
}

static unsigned access_parse(const char *s) {
    static const char *const mode[3] = {"car", "bike", "foot"};
    unsigned acc = 0;
    if (!s) return 0;
    if (strstr(s, "bike_oneway=no")) acc |= WG_ACC_BIKE_TWOWAY;
    for (int m = 0; m < 3; m++) {
        char k[16];
        for (int yes = 0; yes < 2; yes++) {
            snprintf(k, sizeof k, "%s=%s", mode[m], yes ? "yes" : "no");
            const char *p = strstr(s, k);
            if (p && (p == s || p[-1] == ',') && (p[strlen(k)] == ',' || !p[strlen(k)]))
                acc |= yes ? WG_ACC_YES(m) : WG_ACC_NO(m);
        }
    }
    return acc;
}

/* ---- reading lines -------------------------------------------------------- */

typedef struct rline {
    size_t p0;
    uint32_t np, cls, name;
    int8_t oneway;
    uint8_t acc, bad;
    float speed;
    int64_t fid;
} rline;

typedef struct lines {
    double *pt;
    size_t npt, ptcap;
    rline *v;
    size_t n, cap;
} lines;

static void lines_free(lines *L) {
    free(L->pt);
    free(L->v);
    memset(L, 0, sizeof *L);
}

typedef struct fields {
    int cls, name, oneway, speed, other;
} fields;

static wg_status find_field(wg_ctx *ctx, OGRFeatureDefnH d, const char *want, const char *dflt,
                            const char *what, const char *src, int *out) {
    *out = -1;
    const char *name = want ? want : dflt;
    if (!name) return WG_OK;
    *out = OGR_FD_GetFieldIndex(d, name);
    if (*out >= 0 || !want) return WG_OK;
    char list[512] = "";
    for (int i = 0; i < OGR_FD_GetFieldCount(d); i++) {
        const char *fn = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, i));
        if (strlen(list) + strlen(fn) + 3 >= sizeof list) break;
        if (*list) strcat(list, ", ");
        strcat(list, fn);
    }
    return wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no %s field '%s' (fields: %s)", src, what, want,
                  *list ? list : "none");
}

/* A field's text, trimmed, in UTF-8 (GBK bytes are recoded), into buf. */
static const char *text_of(OGRFeatureH f, int idx, char *buf, size_t size) {
    buf[0] = '\0';
    if (idx < 0 || !OGR_F_IsFieldSetAndNotNull(f, idx)) return buf;
    const char *s = OGR_F_GetFieldAsString(f, idx);
    while (*s == ' ') s++;
    snprintf(buf, size, "%s", s);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ') buf[--n] = '\0';
    if (!wg_utf8_valid(buf, n)) {
        char *u = CPLRecode(buf, "CP936", CPL_ENC_UTF8);
        if (u && wg_utf8_valid(u, strlen(u))) snprintf(buf, size, "%s", u);
        else buf[0] = '\0';
        CPLFree(u);
    }
    return buf;
}

static int add_part(lines *L, OGRGeometryH part, rline *proto) {
    int np = OGR_G_GetPointCount(part);
    if (np < 2) return 1;
    if (GROW(L->pt, L->ptcap, 2 * (L->npt + (size_t)np)) || GROW(L->v, L->cap, L->n + 1)) return -1;
    double *xy = L->pt + 2 * L->npt;
    OGR_G_GetPoints(part, xy, 2 * sizeof(double), xy + 1, 2 * sizeof(double), NULL, 0);
    rline *ln = &L->v[L->n++];
    *ln = *proto;
    ln->p0 = L->npt;
    ln->np = (uint32_t)np;
    L->npt += (size_t)np;
    for (int k = 0; k < 2 * np; k++)
        if (!isfinite(xy[k]) || fabs(xy[k]) > 1e15) ln->bad = 1;
    return 0;
}

typedef struct reader {
    wg_ctx *ctx;
    const char *src;
    const wg_roads_opts *o;
    lines *L;
    rnet *net;
    wg_roads_report *rep;
    PJ *pj; /* to WGS84, NULL for OSM */
} reader;

static wg_status read_source(reader *R) {
    wg_ctx *ctx = R->ctx;
    const wg_roads_opts *o = R->o;
    wg_status rc = WG_OK;
    wg_gdal_init();
    wg_gdal_quiet_push();
    GDALDatasetH ds = GDALOpenEx(R->src, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRFeatureH f = NULL;
    char *wkt = NULL;
    if (!ds) {
        rc = wg_err(ctx, WG_ERR_GDAL, "cannot open %s as a vector source%s%s", R->src,
                    *wg_gdal_msg() ? ": " : "", wg_gdal_msg());
        goto done;
    }
    int osm = !strcmp(GDALGetDriverShortName(GDALGetDatasetDriver(ds)), "OSM");
    snprintf(R->rep->source, sizeof R->rep->source, "%s", osm ? "osm" : "ogr");
    const char *lname = o->layer ? o->layer : osm ? "lines" : NULL;
    OGRLayerH layer = lname ? GDALDatasetGetLayerByName(ds, lname) : GDALDatasetGetLayer(ds, 0);
    if (!layer) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "%s: no layer %s", R->src, lname ? lname : "at all");
        goto done;
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    fields fi;
    if (osm) {
        fi.cls = OGR_FD_GetFieldIndex(defn, "highway");
        fi.name = OGR_FD_GetFieldIndex(defn, "name");
        fi.other = OGR_FD_GetFieldIndex(defn, "other_tags");
        fi.oneway = fi.speed = -1;
        if (fi.cls < 0) {
            rc = wg_err(ctx, WG_ERR_FORMAT, "%s: the OSM layer %s has no highway field", R->src,
                        lname);
            goto done;
        }
        OGR_L_SetAttributeFilter(layer, "highway IS NOT NULL");
    } else {
        fi.other = -1;
        if ((rc = find_field(ctx, defn, o->class_field, "class", "class", R->src, &fi.cls)) ||
            (rc = find_field(ctx, defn, o->name_field, "name", "name", R->src, &fi.name)) ||
            (rc = find_field(ctx, defn, o->oneway_field, "oneway", "oneway", R->src, &fi.oneway)) ||
            (rc = find_field(ctx, defn, o->speed_field, "speed", "speed", R->src, &fi.speed)))
            goto done;
        if (!o->s_srs) {
            OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
            if (!srs || OSRExportToWkt(srs, &wkt) != OGRERR_NONE || !wkt || !*wkt) {
                rc = wg_err(ctx, WG_ERR_PROJ, "%s: the layer has no coordinate system (a Shapefile "
                            "without .prj?); give it with --s-srs, e.g. --s-srs EPSG:4549", R->src);
                goto done;
            }
        }
        R->pj = wg_proj_transform(ctx, o->s_srs ? o->s_srs : wkt, "EPSG:4326");
        if (!R->pj) {
            wg_err_append(ctx, " (source %s)", R->src);
            rc = WG_ERR_PROJ;
            goto done;
        }
    }
    char cls[256], name[512], buf[4096];
    tags t;
    OGR_L_ResetReading(layer);
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        R->rep->features++;
        if (R->rep->features % 20000 == 0 && wg_progress(ctx, "roads", (uint64_t)R->rep->features, 0)) {
            rc = wg_err(ctx, WG_ERR_INTERRUPTED, "road import interrupted");
            goto done;
        }
        rline proto;
        memset(&proto, 0, sizeof proto);
        proto.fid = OGR_F_GetFID(f);
        text_of(f, fi.cls, cls, sizeof cls);
        if (osm) {
            if (!*cls || osm_not_road(cls)) {
                R->rep->not_roads++;
                OGR_F_Destroy(f);
                continue;
            }
            tags_parse(fi.other >= 0 && OGR_F_IsFieldSetAndNotNull(f, fi.other)
                           ? OGR_F_GetFieldAsString(f, fi.other) : NULL, &t);
            const char *area = tag(&t, "area");
            if (area && !strcmp(area, "yes")) {
                R->rep->not_roads++;
                OGR_F_Destroy(f);
                continue;
            }
            proto.oneway = (int8_t)osm_oneway(&t, cls);
            proto.speed = (float)parse_speed(tag(&t, "maxspeed"));
            proto.acc = (uint8_t)osm_access(&t);
        } else {
            proto.oneway = (int8_t)oneway_value(fi.oneway >= 0 ? text_of(f, fi.oneway, buf, sizeof buf) : NULL);
            if (fi.speed >= 0 && OGR_F_IsFieldSetAndNotNull(f, fi.speed)) {
                OGRFieldType ft = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, fi.speed));
                double v = ft == OFTInteger || ft == OFTInteger64 || ft == OFTReal
                               ? OGR_F_GetFieldAsDouble(f, fi.speed)
                               : parse_speed(OGR_F_GetFieldAsString(f, fi.speed));
                proto.speed = isfinite(v) && v > 0 && v <= 500 ? (float)v : 0;
            }
        }
        if ((proto.cls = intern(&R->net->classes, cls)) == WG_NONE ||
            (proto.name = intern(&R->net->names, text_of(f, fi.name, name, sizeof name))) == WG_NONE) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading roads");
            goto done;
        }
        OGRGeometryH g = OGR_F_GetGeometryRef(f), lin = NULL;
        OGRwkbGeometryType gt = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
        if (gt == wkbCircularString || gt == wkbCompoundCurve || gt == wkbMultiCurve) {
            lin = OGR_G_GetLinearGeometry(g, 0, NULL);
            g = lin;
            gt = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
        }
        int added = 0, bad = 0;
        if (g && gt == wkbLineString) {
            int r = add_part(R->L, g, &proto);
            if (r < 0) bad = -1;
            added = r == 0;
        } else if (g && gt == wkbMultiLineString) {
            for (int i = 0; i < OGR_G_GetGeometryCount(g) && bad >= 0; i++) {
                int r = add_part(R->L, OGR_G_GetGeometryRef(g, i), &proto);
                if (r < 0) bad = -1;
                added += r == 0;
            }
        }
        if (lin) OGR_G_DestroyGeometry(lin);
        OGR_F_Destroy(f);
        f = NULL;
        if (bad < 0) {
            rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading roads");
            goto done;
        }
        if (!added) R->rep->bad_geometry++;
    }
done:
    if (f) OGR_F_Destroy(f);
    CPLFree(wkt);
    if (ds) GDALClose(ds);
    wg_gdal_quiet_pop();
    return rc;
}

/* Reprojects every point to WGS84 and marks lines with unusable points. */
static void to_wgs84(reader *R) {
    lines *L = R->L;
    if (R->pj) {
        for (size_t k = 0; k < L->npt; k += 1u << 16) {
            size_t m = L->npt - k < (1u << 16) ? L->npt - k : (1u << 16);
            proj_trans_generic(R->pj, PJ_FWD, L->pt + 2 * k, 2 * sizeof(double), m,
                               L->pt + 2 * k + 1, 2 * sizeof(double), m, NULL, 0, 0, NULL, 0, 0);
        }
    }
    for (size_t i = 0; i < L->n; i++) {
        rline *ln = &L->v[i];
        for (uint32_t k = 0; k < ln->np && !ln->bad; k++) {
            double x = L->pt[2 * (ln->p0 + k)], y = L->pt[2 * (ln->p0 + k) + 1];
            if (!(x >= -180 && x <= 180 && y >= -90 && y <= 90)) ln->bad = 1;
        }
    }
}

/* ---- noding --------------------------------------------------------------- */

typedef struct vkey {
    int64_t x, y;
    uint32_t count, node;
} vkey;

typedef struct vmap {
    vkey *v;
    size_t cap, n;
} vmap;

static size_t vmap_slot(vmap *m, int64_t x, int64_t y) {
    uint64_t h = ((uint64_t)x * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)y * 0xC2B2AE3D27D4EB4FULL);
    h ^= h >> 29;
    size_t i = (size_t)h & (m->cap - 1);
    while (m->v[i].count && (m->v[i].x != x || m->v[i].y != y)) i = (i + 1) & (m->cap - 1);
    return i;
}

static void quant(const double *p, int64_t *x, int64_t *y) {
    *x = llround(p[0] * 1e7);
    *y = llround(p[1] * 1e7);
}

/* Cuts lines at shared vertices into the network's edges and nodes. */
static wg_status node_lines(wg_ctx *ctx, lines *L, rnet *net, wg_roads_report *rep) {
    vmap m = {0};
    wg_status rc = WG_OK;
    size_t need = 16;
    while (need < 2 * L->npt + 16) need *= 2;
    m.cap = need;
    m.v = calloc(m.cap, sizeof *m.v);
    if (!m.v) return wg_err(ctx, WG_ERR_NOMEM, "out of memory noding roads");
    /* drop repeated points, then count each vertex's uses (ends count twice) */
    for (size_t i = 0; i < L->n; i++) {
        rline *ln = &L->v[i];
        if (ln->bad) continue;
        double *p = L->pt + 2 * ln->p0;
        uint32_t w = 1;
        int64_t px, py, qx, qy;
        quant(p, &px, &py);
        for (uint32_t k = 1; k < ln->np; k++) {
            quant(p + 2 * k, &qx, &qy);
            if (qx == px && qy == py) continue;
            p[2 * w] = p[2 * k], p[2 * w + 1] = p[2 * k + 1];
            w++;
            px = qx, py = qy;
        }
        ln->np = w;
        if (w < 2) {
            ln->bad = 1;
            continue;
        }
        for (uint32_t k = 0; k < w; k++) {
            quant(p + 2 * k, &qx, &qy);
            size_t s = vmap_slot(&m, qx, qy);
            if (!m.v[s].count) m.v[s].x = qx, m.v[s].y = qy, m.v[s].node = WG_NONE, m.n++;
            m.v[s].count += (k == 0 || k == w - 1) ? 2 : 1;
        }
    }
    for (size_t i = 0; i < L->n; i++) rep->bad_geometry += L->v[i].bad;
    size_t nodecap = 0;
    for (size_t i = 0; i < L->n; i++) {
        rline *ln = &L->v[i];
        if (ln->bad) continue;
        const double *p = L->pt + 2 * ln->p0;
        uint32_t start = 0, u = WG_NONE;
        for (uint32_t k = 0; k < ln->np; k++) {
            int64_t qx, qy;
            quant(p + 2 * k, &qx, &qy);
            vkey *vk = &m.v[vmap_slot(&m, qx, qy)];
            if (vk->count < 2 && k + 1 < ln->np) continue;
            if (vk->node == WG_NONE) {
                if (net->nnodes == UINT32_MAX - 1 || GROW(net->node_ll, nodecap, 2 * ((size_t)net->nnodes + 1)))
                    goto nomem;
                vk->node = net->nnodes++;
                net->node_ll[2 * vk->node] = p[2 * k];
                net->node_ll[2 * vk->node + 1] = p[2 * k + 1];
            }
            if (k > 0) { /* an edge from the previous node to this one */
                uint32_t np = k - start + 1, e = net->nedges;
                if (e == UINT32_MAX / 2 || edges_reserve(net, (size_t)e + 1) ||
                    GROW(net->pt, net->pcap, 2 * ((size_t)net->npts + np)))
                    goto nomem;
                net->edge_shp[e] = net->npts;
                memcpy(net->pt + 2 * (size_t)net->npts, p + 2 * start, 2 * np * sizeof(double));
                /* ends exactly on their nodes */
                memcpy(net->pt + 2 * (size_t)net->npts, net->node_ll + 2 * u, 2 * sizeof(double));
                memcpy(net->pt + 2 * ((size_t)net->npts + np - 1), net->node_ll + 2 * vk->node,
                       2 * sizeof(double));
                net->npts += np;
                net->edge_shp[e + 1] = net->npts;
                net->edge_uv[2 * e] = u, net->edge_uv[2 * e + 1] = vk->node;
                net->edge_cls[e] = ln->cls, net->edge_name[e] = ln->name;
                net->oneway[e] = ln->oneway, net->acc[e] = ln->acc, net->speed[e] = ln->speed;
                net->fid[e] = ln->fid;
                net->nedges++;
            }
            u = vk->node;
            start = k;
        }
    }
    free(m.v);
    return WG_OK;
nomem:
    free(m.v);
    return rc ? rc : wg_err(ctx, WG_ERR_NOMEM, "out of memory noding roads");
}

typedef struct esort {
    uint32_t u, v, e;
} esort;

static int esort_cmp(const void *a, const void *b) {
    const esort *p = a, *q = b;
    if (p->u != q->u) return p->u < q->u ? -1 : 1;
    if (p->v != q->v) return p->v < q->v ? -1 : 1;
    return p->e < q->e ? -1 : p->e > q->e;
}

/* Renumbers nodes along a Hilbert curve and sorts edges by their source. */
static wg_status layout(wg_ctx *ctx, rnet *n) {
    uint32_t *perm = NULL, *inv = NULL;
    esort *es = NULL;
    rnet o = *n; /* the old arrays */
    rnet t;
    memset(&t, 0, sizeof t);
    wg_status rc = wg_graph_hilbert_order(ctx, n->node_ll, n->nnodes, &perm);
    if (rc) return rc;
    inv = malloc(((size_t)n->nnodes + 1) * sizeof *inv);
    es = malloc(((size_t)n->nedges + 1) * sizeof *es);
    t.node_ll = malloc(((size_t)n->nnodes + 1) * 2 * sizeof(double));
    t.pt = malloc(((size_t)n->npts + 1) * 2 * sizeof(double));
    if (!inv || !es || !t.node_ll || !t.pt || edges_reserve(&t, (size_t)n->nedges + 1)) goto nomem;
    for (uint32_t i = 0; i < n->nnodes; i++) {
        inv[perm[i]] = i;
        t.node_ll[2 * i] = o.node_ll[2 * perm[i]];
        t.node_ll[2 * i + 1] = o.node_ll[2 * perm[i] + 1];
    }
    for (uint32_t e = 0; e < n->nedges; e++)
        es[e] = (esort){inv[o.edge_uv[2 * e]], inv[o.edge_uv[2 * e + 1]], e};
    qsort(es, n->nedges, sizeof *es, esort_cmp);
    uint32_t np = 0;
    for (uint32_t i = 0; i < n->nedges; i++) {
        uint32_t e = es[i].e, k0 = o.edge_shp[e], k1 = o.edge_shp[e + 1];
        t.edge_uv[2 * i] = es[i].u, t.edge_uv[2 * i + 1] = es[i].v;
        t.edge_shp[i] = np;
        memcpy(t.pt + 2 * (size_t)np, o.pt + 2 * (size_t)k0, 2 * (size_t)(k1 - k0) * sizeof(double));
        np += k1 - k0;
        t.edge_cls[i] = o.edge_cls[e], t.edge_name[i] = o.edge_name[e];
        t.oneway[i] = o.oneway[e], t.acc[i] = o.acc[e], t.speed[i] = o.speed[e];
        t.fid[i] = o.fid[e];
    }
    t.edge_shp[n->nedges] = np;
    t.nnodes = n->nnodes, t.nedges = n->nedges, t.npts = np;
    t.names = n->names, t.classes = n->classes;
    t.pcap = (size_t)n->npts + 1;
    memset(&n->names, 0, sizeof n->names);
    memset(&n->classes, 0, sizeof n->classes);
    rnet_free(n);
    *n = t;
    free(perm), free(inv), free(es);
    return WG_OK;
nomem:
    free(perm), free(inv), free(es);
    free(t.node_ll), free(t.pt), free(t.edge_uv), free(t.edge_shp), free(t.edge_name);
    free(t.edge_cls), free(t.len), free(t.oneway), free(t.acc), free(t.speed), free(t.fid);
    return wg_err(ctx, WG_ERR_NOMEM, "out of memory ordering roads");
}

/* ---- profiles applied ------------------------------------------------------ */

/* The arc times of every edge for one profile (2 per edge, WG_W_INF =
 * not usable). See graph.h for the formula. */
static wg_status edge_times(wg_ctx *ctx, const rnet *n, const profile *pr, uint32_t **out) {
    const wg_gpmeta *pm = &pr->pm;
    uint32_t *ew = malloc(((size_t)n->nedges + 1) * 2 * sizeof *ew);
    double *cs = malloc(((size_t)n->classes.n + 1) * sizeof *cs);
    if (!ew || !cs) {
        free(ew), free(cs);
        return wg_err(ctx, WG_ERR_NOMEM, "out of memory");
    }
    for (uint32_t c = 0; c < n->classes.n; c++) {
        cs[c] = pm->default_kmh;
        for (size_t k = 0; k < pr->ncs; k++)
            if (!strcmp(pr->cs[k].cls, n->classes.v[c])) cs[c] = pr->cs[k].kmh;
    }
    for (uint32_t e = 0; e < n->nedges; e++) {
        unsigned acc = n->acc[e];
        double s = cs[n->edge_cls[e]], own = n->speed[e];
        if (acc & WG_ACC_NO(pm->mode)) s = 0;
        else if (s <= 0 && (acc & WG_ACC_YES(pm->mode))) s = pm->permitted_kmh;
        if (s > 0 && own > 0) {
            if (pm->road_speed == WG_RS_REPLACE) s = own;
            else if (pm->road_speed == WG_RS_CAP && own < s) s = own;
        }
        if (pm->max_kmh > 0 && s > pm->max_kmh) s = pm->max_kmh;
        uint32_t w = WG_W_INF;
        if (s > 0) {
            double t = llround(n->len[e] * 3600.0 / s);
            w = t >= (double)(WG_W_INF - 1) ? WG_W_INF - 1 : (uint32_t)t;
        }
        int ow = pm->oneway ? n->oneway[e] : 0;
        if (pm->mode == WG_MODE_BIKE && (acc & WG_ACC_BIKE_TWOWAY)) ow = 0;
        ew[2 * e] = ow < 0 ? WG_W_INF : w;
        ew[2 * e + 1] = ow > 0 ? WG_W_INF : w;
    }
    free(cs);
    *out = ew;
    return WG_OK;
}

static uint64_t new_stamp(void) {
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s) s = 0;
        close(fd);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s ^= (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    return s ? s : 1;
}

/* Builds the image of a network under a set of profiles. */
static wg_status build_image(wg_ctx *ctx, const rnet *n, const profiles *ps, uint64_t stamp,
                             int with_ch, wg_gimage *img, wg_roads_report *rep) {
    uint32_t *ew[WG_MAXP] = {0};
    const char **names = NULL, **classes = NULL;
    wg_status rc = WG_OK;
    wg_graph_src s;
    memset(&s, 0, sizeof s);
    names = malloc(((size_t)n->names.n + 1) * sizeof *names);
    classes = malloc(((size_t)n->classes.n + 1) * sizeof *classes);
    if (!names || !classes) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < n->names.n; i++) names[i] = n->names.v[i];
    for (uint32_t i = 0; i < n->classes.n; i++) classes[i] = n->classes.v[i];
    s.nnodes = n->nnodes, s.nedges = n->nedges, s.npts = n->npts;
    s.node_ll = n->node_ll, s.edge_uv = n->edge_uv, s.edge_shp = n->edge_shp;
    s.pt = n->pt, s.cum = n->cum, s.len = n->len;
    s.edge_name = n->edge_name, s.edge_cls = n->edge_cls;
    s.names = names, s.nnames = n->names.n, s.classes = classes, s.nclasses = n->classes.n;
    s.nprofiles = ps->n;
    s.with_ch = with_ch;
    for (int p = 0; p < ps->n; p++) {
        s.pm[p] = ps->p[p].pm;
        if ((rc = edge_times(ctx, n, &ps->p[p], &ew[p]))) goto done;
        s.ew[p] = ew[p];
    }
    rc = wg_graph_build(ctx, &s, stamp, img, rep);
done:
    for (int p = 0; p < WG_MAXP; p++) free(ew[p]);
    free(names);
    free(classes);
    return rc;
}

/* ---- the workspace table --------------------------------------------------- */

static const char *const TABLE_SQL =
    "CREATE TABLE IF NOT EXISTS road_edges(\n"
    "  id INTEGER PRIMARY KEY,        -- edge + 1\n"
    "  source INTEGER NOT NULL,       -- node + 1 (the geometry starts here)\n"
    "  target INTEGER NOT NULL,\n"
    "  class TEXT, name TEXT,\n"
    "  oneway INTEGER NOT NULL DEFAULT 0 CHECK(oneway IN (-1, 0, 1)),\n"
    "  speed_kmh REAL,                -- the road's own speed (maxspeed), NULL if none\n"
    "  access TEXT,                   -- e.g. 'car=no,foot=yes,bike_oneway=no'\n"
    "  length_m REAL NOT NULL,        -- geodesic, WGS84\n"
    "  src_fid INTEGER)";

static wg_status ensure_table(wg_ws *ws) {
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_exec(ws, TABLE_SQL);
    if (rc || (rc = wg_ws_prepare(ws, "SELECT COUNT(*) FROM geometry_columns WHERE "
                                  "f_table_name = 'road_edges'", &st)))
        return rc;
    int have = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (have) return WG_OK;
    if ((rc = wg_ws_prepare(ws, "SELECT AddGeometryColumn('road_edges', 'geom', 4326, "
                            "'LINESTRING', 'XY')", &st)))
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1)
        rc = wg_err(ws->ctx, WG_ERR_SQLITE, "workspace: cannot add the geometry of road_edges");
    sqlite3_finalize(st);
    return rc;
}

/* SpatiaLite's BLOB of an XY LINESTRING, SRID 4326 (its documented
 * format: start, byte order, SRID, MBR, MBR end, class, points, end).
 * Built here because 1M GeomFromWKB() calls would dominate the import. */
static size_t line_blob(const double *p, uint32_t np, uint8_t *out) {
    double mbr[4] = {p[0], p[1], p[0], p[1]};
    for (uint32_t k = 1; k < np; k++) {
        mbr[0] = fmin(mbr[0], p[2 * k]), mbr[1] = fmin(mbr[1], p[2 * k + 1]);
        mbr[2] = fmax(mbr[2], p[2 * k]), mbr[3] = fmax(mbr[3], p[2 * k + 1]);
    }
    int32_t srid = 4326, cls = 2, n = (int32_t)np;
    uint8_t *o = out;
    *o++ = 0x00;
    *o++ = 0x01;
    memcpy(o, &srid, 4), o += 4;
    memcpy(o, mbr, 32), o += 32;
    *o++ = 0x7C;
    memcpy(o, &cls, 4), o += 4;
    memcpy(o, &n, 4), o += 4;
    memcpy(o, p, 16 * (size_t)np), o += 16 * (size_t)np;
    *o++ = 0xFE;
    return (size_t)(o - out);
}

static wg_status write_rows(wg_ws *ws, const rnet *n);

/* The rows go in with SpatiaLite's per-row triggers suspended (see
 * wg_ws_bulk_begin): every blob written here is a valid LINESTRING in 4326
 * by construction, and a million trigger runs cost more than the import. */
static wg_status write_table(wg_ws *ws, const rnet *n) {
    wg_bulk b;
    memset(&b, 0, sizeof b);
    wg_status rc;
    if ((rc = ensure_table(ws)) || (rc = wg_ws_bulk_begin(ws, "road_edges", &b)) ||
        (rc = wg_ws_exec(ws, "DELETE FROM road_edges")) || (rc = write_rows(ws, n)))
        goto done;
    rc = wg_ws_bulk_end(ws, &b);
done:
    wg_bulk_free(&b);
    return rc; /* on failure the caller rolls back, triggers included */
}

static wg_status write_rows(wg_ws *ws, const rnet *n) {
    sqlite3_stmt *st = NULL;
    uint8_t *blob = NULL;
    size_t bcap = 0;
    wg_status rc;
    if ((rc = wg_ws_prepare(ws, "INSERT INTO road_edges(id, source, target, class, name, oneway, "
                            "speed_kmh, access, length_m, src_fid, geom) "
                            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st)))
        return rc;
    char acc[96];
    for (uint32_t e = 0; e < n->nedges; e++) {
        uint32_t k0 = n->edge_shp[e], np = n->edge_shp[e + 1] - k0;
        if (GROW(blob, bcap, 48 + 16 * (size_t)np)) {
            rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
            break;
        }
        size_t bl = line_blob(n->pt + 2 * (size_t)k0, np, blob);
        const char *cls = n->classes.v[n->edge_cls[e]], *name = n->names.v[n->edge_name[e]];
        access_text(n->acc[e], acc, sizeof acc);
        sqlite3_bind_int64(st, 1, (int64_t)e + 1);
        sqlite3_bind_int64(st, 2, (int64_t)n->edge_uv[2 * e] + 1);
        sqlite3_bind_int64(st, 3, (int64_t)n->edge_uv[2 * e + 1] + 1);
        if (*cls) sqlite3_bind_text(st, 4, cls, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4);
        if (*name) sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 5);
        sqlite3_bind_int(st, 6, n->oneway[e]);
        if (n->speed[e] > 0) sqlite3_bind_double(st, 7, n->speed[e]);
        else sqlite3_bind_null(st, 7);
        if (*acc) sqlite3_bind_text(st, 8, acc, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(st, 8);
        sqlite3_bind_double(st, 9, n->len[e]);
        if (n->fid[e] >= 0) sqlite3_bind_int64(st, 10, n->fid[e]);
        else sqlite3_bind_null(st, 10);
        sqlite3_bind_blob(st, 11, blob, (int)bl, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = wg_ws_sqlerr(ws, "writing road_edges");
            break;
        }
        sqlite3_reset(st);
        if ((e & 0xFFFF) == 0xFFFF && wg_progress(ws->ctx, "storing", e + 1, n->nedges)) {
            rc = wg_err(ws->ctx, WG_ERR_INTERRUPTED, "road import interrupted");
            break;
        }
    }
    sqlite3_finalize(st);
    free(blob);
    return rc;
}

/* Parses a SpatiaLite LINESTRING blob (XY, XYZ, XYM or XYZM, either byte
 * order) into lon/lat pairs appended to n->pt. Returns points, 0 if bad. */
static uint32_t blob_points(const uint8_t *b, size_t len, rnet *n) {
    if (len < 48 || b[0] != 0x00 || (b[1] != 0 && b[1] != 1) || b[38] != 0x7C || b[len - 1] != 0xFE)
        return 0;
    int le = b[1] == 1;
#define RD32(at) (le ? (uint32_t)b[at] | (uint32_t)b[at + 1] << 8 | (uint32_t)b[at + 2] << 16 | (uint32_t)b[at + 3] << 24 \
                     : (uint32_t)b[at + 3] | (uint32_t)b[at + 2] << 8 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at] << 24)
    uint32_t cls = RD32(39), np = RD32(43), dims;
    switch (cls) {
    case 2: dims = 2; break;
    case 1002: case 2002: dims = 3; break;
    case 3002: dims = 4; break;
    default: return 0;
    }
    if (np < 2 || np > (1u << 26) || 48 + (size_t)np * dims * 8 != len) return 0;
    if (GROW(n->pt, n->pcap, 2 * ((size_t)n->npts + np))) return 0;
    for (uint32_t k = 0; k < np; k++)
        for (int c = 0; c < 2; c++) {
            uint8_t d[8];
            const uint8_t *src = b + 47 + ((size_t)k * dims + (size_t)c) * 8;
            for (int i = 0; i < 8; i++) d[i] = le ? src[i] : src[7 - i];
            double v;
            memcpy(&v, d, 8);
            if (!isfinite(v)) return 0;
            n->pt[2 * ((size_t)n->npts + k) + (size_t)c] = v;
        }
#undef RD32
    return np;
}

/* Reads road_edges back into a network. */
static wg_status read_table(wg_ws *ws, rnet *n) {
    wg_ctx *ctx = ws->ctx;
    sqlite3_stmt *st = NULL;
    wg_status rc = wg_ws_prepare(ws, "SELECT id, source, target, class, name, oneway, speed_kmh, "
                                 "access, geom FROM road_edges ORDER BY id", &st);
    if (rc) return wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace has no road network; build one "
                          "with `wangge roads WS ROADS`");
    size_t nodecap = 0;
    int r;
    if (intern(&n->names, "") == WG_NONE || intern(&n->classes, "") == WG_NONE) goto nomem;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t e = n->nedges;
        int64_t id = sqlite3_column_int64(st, 0), su = sqlite3_column_int64(st, 1),
                sv = sqlite3_column_int64(st, 2);
        if (id != (int64_t)e + 1 || su < 1 || sv < 1 || su > (1 << 30) || sv > (1 << 30)) {
            rc = wg_err(ctx, WG_ERR_FORMAT, "road_edges row id %lld: ids must run 1, 2, ... and "
                        "nodes be positive; rebuild with `wangge roads WS ROADS`", (long long)id);
            goto done;
        }
        if (edges_reserve(n, (size_t)e + 1)) goto nomem;
        const uint8_t *b = sqlite3_column_blob(st, 8);
        uint32_t np = b ? blob_points(b, (size_t)sqlite3_column_bytes(st, 8), n) : 0;
        if (!np) {
            rc = wg_err(ctx, WG_ERR_FORMAT, "road_edges row id %lld: the geometry is not a "
                        "LINESTRING of finite coordinates", (long long)id);
            goto done;
        }
        uint32_t u = (uint32_t)su - 1, v = (uint32_t)sv - 1, hi = u > v ? u : v;
        if (hi >= n->nnodes) {
            size_t old = n->nnodes;
            if (GROW(n->node_ll, nodecap, 2 * ((size_t)hi + 1))) goto nomem;
            for (size_t i = old; i <= hi; i++) n->node_ll[2 * i] = NAN, n->node_ll[2 * i + 1] = NAN;
            n->nnodes = hi + 1;
        }
        const double *p = n->pt + 2 * (size_t)n->npts;
        if (isnan(n->node_ll[2 * u])) memcpy(n->node_ll + 2 * u, p, 2 * sizeof(double));
        if (isnan(n->node_ll[2 * v])) memcpy(n->node_ll + 2 * v, p + 2 * (np - 1), 2 * sizeof(double));
        n->edge_shp[e] = n->npts;
        n->npts += np;
        n->edge_shp[e + 1] = n->npts;
        n->edge_uv[2 * e] = u, n->edge_uv[2 * e + 1] = v;
        const char *cls = (const char *)sqlite3_column_text(st, 3);
        const char *name = (const char *)sqlite3_column_text(st, 4);
        if ((n->edge_cls[e] = intern(&n->classes, cls ? cls : "")) == WG_NONE ||
            (n->edge_name[e] = intern(&n->names, name ? name : "")) == WG_NONE)
            goto nomem;
        int ow = sqlite3_column_int(st, 5);
        n->oneway[e] = (int8_t)(ow > 0 ? 1 : ow < 0 ? -1 : 0);
        double sp = sqlite3_column_double(st, 6);
        n->speed[e] = isfinite(sp) && sp > 0 && sp <= 500 ? (float)sp : 0;
        n->acc[e] = (uint8_t)access_parse((const char *)sqlite3_column_text(st, 7));
        n->fid[e] = -1;
        n->nedges++;
    }
    if (r != SQLITE_DONE) {
        rc = wg_ws_sqlerr(ws, "reading road_edges");
        goto done;
    }
    if (!n->nedges) {
        rc = wg_err(ctx, WG_ERR_NOT_FOUND, "the workspace's road network is empty");
        goto done;
    }
    for (uint32_t i = 0; i < n->nnodes; i++) /* ids nobody uses */
        if (isnan(n->node_ll[2 * i])) n->node_ll[2 * i] = n->node_ll[2 * i + 1] = 0;
    if (edges_reserve(n, (size_t)n->nedges + 1)) goto nomem;
    rc = measure(ctx, n);
    goto done;
nomem:
    rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory reading road_edges");
done:
    sqlite3_finalize(st);
    return rc;
}

/* ---- the public entry points ----------------------------------------------- */

static wg_status store(wg_ws *ws, const rnet *net, const profiles *ps, const wg_gimage *img,
                       uint64_t stamp, const char *src, wg_roads_report *rep) {
    wg_ctx *ctx = ws->ctx;
    char path[4200], tmp[4300], hex[32];
    wg_status rc = wg_graph_path(ws, path, sizeof path);
    if (rc || (rc = wg_graph_write_tmp(ctx, img, path, tmp, sizeof tmp))) return rc;
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)stamp);
    int in_tx = 0;
    if ((rc = wg_ws_begin(ws))) goto fail;
    in_tx = 1;
    if (net && (rc = write_table(ws, net))) goto fail;
    if ((rc = wg_ws_meta_set(ws, "roads_stamp", hex)) ||
        (rc = wg_ws_meta_set(ws, "roads_profiles", ps->text)))
        goto fail;
    if (src) {
        char now[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        sqlite3_stmt *st = NULL;
        if ((rc = wg_ws_meta_set(ws, "roads_source", src)) ||
            (rc = wg_ws_prepare(ws, "INSERT INTO imports(at, what, source, rows) "
                                "VALUES(?, 'roads', ?, ?)", &st)))
            goto fail;
        sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, src, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, rep->edges);
        int ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
        if (!ok) {
            rc = wg_ws_sqlerr(ws, "recording the import");
            goto fail;
        }
    }
    if ((rc = wg_ws_commit(ws))) goto fail;
    in_tx = 0;
    if (rename(tmp, path) != 0) {
        /* the workspace is right; the graph will be rebuilt in memory until fixed */
        rc = wg_err(ctx, WG_ERR_IO, "stored the roads but cannot move %s into place: %s", path,
                    strerror(errno));
        unlink(tmp);
        return rc;
    }
    rep->graph_bytes = (int64_t)img->len;
    return WG_OK;
fail:
    if (in_tx) wg_ws_rollback(ws);
    unlink(tmp);
    return rc;
}

static void report_totals(const rnet *n, wg_roads_report *rep) {
    rep->nodes = n->nnodes;
    rep->edges = n->nedges;
    double km = 0;
    for (uint32_t e = 0; e < n->nedges; e++) km += n->len[e];
    rep->length_km = km / 1000;
}

wg_status wg_roads_import(wg_ws *ws, const char *src, const wg_roads_opts *opts,
                          wg_roads_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_roads_opts o;
    wg_roads_report rep;
    profiles ps;
    rnet net;
    lines L;
    wg_gimage img;
    memset(&o, 0, sizeof o);
    memset(&rep, 0, sizeof rep);
    memset(&ps, 0, sizeof ps);
    memset(&net, 0, sizeof net);
    memset(&L, 0, sizeof L);
    memset(&img, 0, sizeof img);
    if (opts) o = *opts;
    if (!src || !*src) return wg_err(ctx, WG_ERR_INVALID_ARG, "no road source given");
    if (ws->readonly) return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    double t0 = now_s();
    reader R = {ctx, src, &o, &L, &net, &rep, NULL};
    wg_status rc;
    if ((rc = profiles_load(ws, o.profiles, &ps))) goto done;
    if (intern(&net.names, "") == WG_NONE || intern(&net.classes, "") == WG_NONE) {
        rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_source(&R))) goto done;
    to_wgs84(&R);
    if ((rc = node_lines(ctx, &L, &net, &rep))) goto done;
    lines_free(&L);
    if (!net.nedges) {
        rc = wg_err(ctx, WG_ERR_FORMAT, "%s: no usable road lines (%lld features: %lld not roads, "
                    "%lld with unusable geometry)", src, (long long)rep.features,
                    (long long)rep.not_roads, (long long)rep.bad_geometry);
        goto done;
    }
    if ((rc = layout(ctx, &net)) || (rc = measure(ctx, &net))) goto done;
    report_totals(&net, &rep);
    rep.read_seconds = now_s() - t0;
    double t1 = now_s();
    uint64_t stamp = new_stamp();
    if ((rc = build_image(ctx, &net, &ps, stamp, 1, &img, &rep))) goto done;
    rep.build_seconds = now_s() - t1;
    rc = store(ws, &net, &ps, &img, stamp, src, &rep);
done:
    if (R.pj) proj_destroy(R.pj);
    lines_free(&L);
    rnet_free(&net);
    profiles_free(&ps);
    free(img.buf);
    rep.seconds = now_s() - t0;
    if (!rc && report) *report = rep;
    return rc;
}

wg_status wg_roads_rebuild(wg_ws *ws, const char *profiles_path, wg_roads_report *report) {
    wg_ctx *ctx = ws->ctx;
    wg_roads_report rep;
    profiles ps;
    rnet net;
    wg_gimage img;
    memset(&rep, 0, sizeof rep);
    memset(&ps, 0, sizeof ps);
    memset(&net, 0, sizeof net);
    memset(&img, 0, sizeof img);
    if (ws->readonly) return wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
    double t0 = now_s();
    snprintf(rep.source, sizeof rep.source, "workspace");
    wg_status rc;
    if ((rc = profiles_load(ws, profiles_path, &ps)) || (rc = read_table(ws, &net))) goto done;
    rep.features = net.nedges;
    report_totals(&net, &rep);
    rep.read_seconds = now_s() - t0;
    double t1 = now_s();
    uint64_t stamp = new_stamp();
    if ((rc = build_image(ctx, &net, &ps, stamp, 1, &img, &rep))) goto done;
    rep.build_seconds = now_s() - t1;
    rc = store(ws, NULL, &ps, &img, stamp, NULL, &rep);
done:
    rnet_free(&net);
    profiles_free(&ps);
    free(img.buf);
    rep.seconds = now_s() - t0;
    if (!rc && report) *report = rep;
    return rc;
}

wg_status wg_roads_image_from_ws(wg_ws *ws, wg_gimage *img, uint64_t *stamp) {
    profiles ps;
    rnet net;
    char *hex = NULL;
    memset(&ps, 0, sizeof ps);
    memset(&net, 0, sizeof net);
    wg_status rc;
    if ((rc = wg_ws_meta_get(ws, "roads_stamp", &hex))) return rc;
    *stamp = hex ? strtoull(hex, NULL, 16) : 0;
    free(hex);
    if ((rc = profiles_load(ws, NULL, &ps)) || (rc = read_table(ws, &net))) goto done;
    rc = build_image(ws->ctx, &net, &ps, *stamp, 0, img, NULL);
done:
    rnet_free(&net);
    profiles_free(&ps);
    return rc;
}
