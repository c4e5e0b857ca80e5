/* validate.c -- is the unit layer a clean coverage with sound codes?
 *
 * All geometry checks run in the workspace's metric CRS so areas are in m²;
 * each finding carries a WGS84 point so an analyst can jump to it.
 *  - validity: GEOS isValidDetail on every current unit;
 *  - gaps: for every unit that has children, the parent minus the union of
 *    its children; children poking out of the parent are reported apart.
 *    The union is a coverage union (fast: shared edges just cancel) checked
 *    by area: if the children's areas add up to more than their union, they
 *    overlap somewhere, and the plain (robust) union is used instead;
 *  - overlaps: units of one level (exclusive grids excepted: they overlap by
 *    design) measured by intersection area against their STRtree
 *    neighbours. Only suspects are tested pairwise: children of a parent
 *    whose area sum exceeds their union, units outside their parent, and
 *    units without a parent. A clean county thus never pays for the
 *    thousands of neighbour intersections; an overlap between units of two
 *    different parents always pokes out of one of the parents, so it is
 *    never missed;
 *  - codes: duplicates among current units; numeric codes (GB/T 30428.1
 *    practice) must extend the parent's code and have the level's length.
 * Units with invalid geometry are left out of the overlap and gap checks:
 *  their area is meaningless until repaired, and one bad ring must not bury
 *  the report in follow-on findings. */
#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KIND_NAMES[WG_ISSUE_KIND_COUNT] = {
    "invalid_geometry", "overlap",     "gap",         "outside_parent", "duplicate_code",
    "code_prefix",      "code_format", "size_outlier", "orphan"};

const char *wg_issue_kind_name(wg_issue_kind kind) {
    return (unsigned)kind < WG_ISSUE_KIND_COUNT ? KIND_NAMES[kind] : "unknown";
}

typedef struct vstate {
    wg_ws *ws;
    wg_ctx *ctx;
    GEOSContextHandle_t h;
    wg_unitset units;
    GEOSGeometry **metric; /* per unit, metric CRS; NULL if invalid */
    wg_issue_list *list;
    size_t cap;
    double min_area, outlier;
    int level_present[WG_LEVEL_COUNT];
    unsigned char *suspect; /* per unit: test for overlaps pairwise */
    size_t *by_parent;      /* unit indexes sorted by (level, parent code) */
    size_t *kids;           /* scratch: one parent's children */
    wg_status rc;
} vstate;

/* Appends an issue located at `where` (metric CRS; may be NULL). */
static void add_issue(vstate *s, wg_issue_kind kind, wg_severity sev, const wg_unit *u,
                      const char *other, double area, const GEOSGeometry *where,
                      const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void add_issue(vstate *s, wg_issue_kind kind, wg_severity sev, const wg_unit *u,
                      const char *other, double area, const GEOSGeometry *where,
                      const char *fmt, ...) {
    if (s->rc) return;
    wg_issue_list *l = s->list;
    if (l->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        wg_issue *nv = realloc(l->items, cap * sizeof *nv);
        if (!nv) {
            s->rc = wg_err(s->ctx, WG_ERR_NOMEM, "out of memory");
            return;
        }
        l->items = nv;
        s->cap = cap;
    }
    wg_issue *is = &l->items[l->count++];
    memset(is, 0, sizeof *is);
    is->kind = kind;
    is->severity = sev;
    is->level = u->level;
    is->code = strdup(u->code);
    is->other_code = other ? strdup(other) : NULL;
    is->area_m2 = area;
    is->lon = is->lat = NAN;
    GEOSGeometry *pt = where ? GEOSPointOnSurface_r(s->h, where) : NULL;
    GEOSGeometry *ll = pt ? wg_ws_from_metric(s->ws, pt) : NULL;
    if (ll) {
        GEOSGeomGetX_r(s->h, ll, &is->lon);
        GEOSGeomGetY_r(s->h, ll, &is->lat);
    }
    if (pt) GEOSGeom_destroy_r(s->h, pt);
    if (ll) GEOSGeom_destroy_r(s->h, ll);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    is->message = strdup(msg);
    if (sev == WG_SEV_ERROR) l->errors++;
    else l->warnings++;
}

static void check_validity(vstate *s) {
    for (size_t i = 0; i < s->units.n && !s->rc; i++) {
        wg_unit *u = &s->units.v[i];
        char *reason = NULL;
        GEOSGeometry *loc = NULL;
        if (GEOSisValidDetail_r(s->h, u->geom, 0, &reason, &loc) == 0) {
            GEOSGeometry *mloc = loc ? wg_ws_to_metric(s->ws, loc) : NULL;
            add_issue(s, WG_ISSUE_INVALID_GEOMETRY, WG_SEV_ERROR, u, NULL, 0, mloc,
                      "%s %s has an invalid geometry: %s (overlap and gap checks skip it; "
                      "`validate --repair` can fix it)", wg_level_name(u->level), u->code,
                      reason ? reason : "unknown reason");
            if (mloc) GEOSGeom_destroy_r(s->h, mloc);
            GEOSGeom_destroy_r(s->h, s->metric[i]);
            s->metric[i] = NULL;
        }
        if (reason) GEOSFree_r(s->h, reason);
        if (loc) GEOSGeom_destroy_r(s->h, loc);
    }
}

static int cmp_code(const void *a, const void *b) {
    const wg_unit *const *x = a, *const *y = b;
    int c = strcmp((*x)->code, (*y)->code);
    return c ? c : ((*x)->id > (*y)->id) - ((*x)->id < (*y)->id);
}

static void check_duplicates(vstate *s) {
    size_t n = s->units.n;
    wg_unit **by = malloc((n ? n : 1) * sizeof *by);
    if (!by) {
        s->rc = wg_err(s->ctx, WG_ERR_NOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) by[i] = &s->units.v[i];
    qsort(by, n, sizeof *by, cmp_code);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(by[i]->code, by[i - 1]->code) != 0) continue;
        size_t k = (size_t)(by[i] - s->units.v);
        add_issue(s, WG_ISSUE_DUPLICATE_CODE, WG_SEV_ERROR, by[i], by[i - 1]->code, 0,
                  s->metric[k], "code %s is used by two current units (%s \"%s\" and %s \"%s\")",
                  by[i]->code, wg_level_name(by[i - 1]->level),
                  by[i - 1]->name ? by[i - 1]->name : "", wg_level_name(by[i]->level),
                  by[i]->name ? by[i]->name : "");
    }
    free(by);
}

static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

/* Finds the current unit with `code` at `level` by binary search over the
 * (level, code)-sorted set; NULL if none. */
static wg_unit *find_unit(vstate *s, int level, const char *code) {
    size_t lo = 0, hi = s->units.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        wg_unit *u = &s->units.v[mid];
        int c = (int)u->level != level ? ((int)u->level < level ? -1 : 1) : strcmp(u->code, code);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->units.n && (int)s->units.v[lo].level == level && !strcmp(s->units.v[lo].code, code))
        return &s->units.v[lo];
    return NULL;
}

static void check_codes(vstate *s) {
    static const size_t expect_len[WG_LEVEL_COUNT] = {6, 9, 12, 15, 18, 20};
    for (size_t i = 0; i < s->units.n && !s->rc; i++) {
        wg_unit *u = &s->units.v[i];
        int pl = wg_level_parent(u->level);
        if (pl >= 0 && !u->parent) {
            if (s->level_present[pl]) /* nothing to attach to otherwise */
                add_issue(s, WG_ISSUE_ORPHAN, WG_SEV_WARNING, u, NULL, 0, s->metric[i],
                          "%s %s has no parent %s", wg_level_name(u->level), u->code,
                          wg_level_name((wg_level)pl));
        } else if (pl >= 0 && !find_unit(s, pl, u->parent)) {
            add_issue(s, WG_ISSUE_ORPHAN, WG_SEV_ERROR, u, u->parent, 0, s->metric[i],
                      "%s %s names parent %s, which is not a current %s",
                      wg_level_name(u->level), u->code, u->parent, wg_level_name((wg_level)pl));
        }
        /* Free-text and short codes (other countries' layers) are not checked. */
        if (!all_digits(u->code)) continue;
        if (u->parent && all_digits(u->parent) &&
            strncmp(u->code, u->parent, strlen(u->parent)) != 0)
            add_issue(s, WG_ISSUE_CODE_PREFIX, WG_SEV_ERROR, u, u->parent, 0, s->metric[i],
                      "%s code %s does not begin with its parent's code %s",
                      wg_level_name(u->level), u->code, u->parent);
        if (strlen(u->code) >= 6 && strlen(u->code) != expect_len[u->level])
            add_issue(s, WG_ISSUE_CODE_FORMAT, WG_SEV_WARNING, u, NULL, 0, s->metric[i],
                      "%s code %s has %zu digits; GB/T 30428.1 practice gives a %s %zu",
                      wg_level_name(u->level), u->code, strlen(u->code),
                      wg_level_name(u->level), expect_len[u->level]);
    }
}

/* ---- overlaps ------------------------------------------------------------ */

typedef struct hits {
    size_t *v, n, cap;
} hits;

static void collect(void *item, void *user) {
    hits *q = user;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 32;
        size_t *nv = realloc(q->v, cap * sizeof *nv);
        if (!nv) return;
        q->v = nv;
        q->cap = cap;
    }
    q->v[q->n++] = (size_t)(uintptr_t)item;
}

static void check_overlaps(vstate *s, wg_level level) {
    GEOSSTRtree *tree = GEOSSTRtree_create_r(s->h, 10);
    hits q = {NULL, 0, 0};
    for (size_t i = 0; i < s->units.n; i++)
        if (s->units.v[i].level == level && s->metric[i])
            GEOSSTRtree_insert_r(s->h, tree, s->metric[i], (void *)(uintptr_t)i);
    for (size_t i = 0; i < s->units.n && !s->rc; i++) {
        if (s->units.v[i].level != level || !s->metric[i] || !s->suspect[i]) continue;
        q.n = 0;
        GEOSSTRtree_query_r(s->h, tree, s->metric[i], collect, &q);
        const GEOSPreparedGeometry *prep = NULL;
        for (size_t k = 0; k < q.n; k++) {
            size_t j = q.v[k];
            if (j == i || (s->suspect[j] && j < i)) continue; /* each pair once */
            if (!prep) prep = GEOSPrepare_r(s->h, s->metric[i]);
            if (!prep || GEOSPreparedIntersects_r(s->h, prep, s->metric[j]) != 1) continue;
            GEOSGeometry *x = GEOSIntersection_r(s->h, s->metric[i], s->metric[j]);
            double a = 0;
            if (x) GEOSArea_r(s->h, x, &a);
            size_t lo = i < j ? i : j, hi = i < j ? j : i; /* name the pair in code order */
            if (a > s->min_area)
                add_issue(s, WG_ISSUE_OVERLAP, WG_SEV_ERROR, &s->units.v[lo], s->units.v[hi].code,
                          a, x, "%s %s and %s overlap by %.1f m2", wg_level_name(level),
                          s->units.v[lo].code, s->units.v[hi].code, a);
            if (x) GEOSGeom_destroy_r(s->h, x);
        }
        if (prep) GEOSPreparedGeom_destroy_r(s->h, prep);
        wg_progress(s->ctx, "overlaps", i + 1, s->units.n);
    }
    free(q.v);
    GEOSSTRtree_destroy_r(s->h, tree);
}

/* ---- gaps and children outside their parent ------------------------------ */

/* Reports each polygon of `g` larger than the threshold as a gap of `p`. */
static void report_gaps(vstate *s, const wg_unit *p, const GEOSGeometry *g) {
    int n = GEOSGetNumGeometries_r(s->h, g);
    for (int k = 0; k < n; k++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(s->h, g, k);
        double a = 0;
        GEOSArea_r(s->h, part, &a);
        if (a > s->min_area)
            add_issue(s, WG_ISSUE_GAP, WG_SEV_ERROR, p, NULL, a, part,
                      "%.1f m2 of %s %s is covered by none of its %ss", a,
                      wg_level_name(p->level), p->code,
                      wg_level_name((wg_level)(p->level + 1)));
    }
}

/* The union of the children: a coverage union when the children's areas add
 * up to it (they do not overlap), else the robust union, marking the
 * children as suspects for the pairwise overlap test. */
static GEOSGeometry *children_union(vstate *s, const size_t *kids, size_t nk) {
    GEOSGeometry **parts = malloc(nk * sizeof *parts);
    if (!parts) return NULL;
    size_t np = 0;
    double sum = 0;
    for (size_t k = 0; k < nk; k++) {
        double a = 0;
        GEOSArea_r(s->h, s->metric[kids[k]], &a);
        sum += a;
        parts[np++] = GEOSGeom_clone_r(s->h, s->metric[kids[k]]);
    }
    GEOSGeometry *coll = GEOSGeom_createCollection_r(s->h, GEOS_GEOMETRYCOLLECTION, parts,
                                                     (unsigned)np);
    free(parts);
    if (!coll) return NULL;
    GEOSGeometry *u = GEOSCoverageUnion_r(s->h, coll);
    double ua = 0;
    if (u && GEOSArea_r(s->h, u, &ua) == 1 && fabs(sum - ua) <= s->min_area &&
        GEOSisValid_r(s->h, u) == 1) {
        GEOSGeom_destroy_r(s->h, coll);
        return u;
    }
    if (u) GEOSGeom_destroy_r(s->h, u);
    for (size_t k = 0; k < nk; k++) s->suspect[kids[k]] = 1;
    u = GEOSUnaryUnion_r(s->h, coll);
    GEOSGeom_destroy_r(s->h, coll);
    return u;
}

/* A normalised copy of `g`, for exact comparison (NULL on failure). */
static GEOSGeometry *normalized(GEOSContextHandle_t h, const GEOSGeometry *g) {
    GEOSGeometry *c = GEOSGeom_clone_r(h, g);
    if (c && GEOSNormalize_r(h, c) != 0) {
        GEOSGeom_destroy_r(h, c);
        c = NULL;
    }
    return c;
}

static void check_parent(vstate *s, size_t pi, const size_t *kids, size_t nk, int gap_check) {
    const wg_unit *p = &s->units.v[pi];
    GEOSGeometry *u = gap_check && nk ? children_union(s, kids, nk) : NULL;
    if (gap_check && nk && !u) {
        s->rc = wg_err(s->ctx, WG_ERR_GEOS, "union of the children of %s failed: %s", p->code,
                       wg_geos_msg(s->ctx));
        return;
    }
    /* The common case, a clean partition: the children's union is the very
     * parent, vertex for vertex. Then nothing sticks out and nothing is
     * missing, and the expensive overlays are not needed. */
    if (u) {
        GEOSGeometry *a = normalized(s->h, u), *b = normalized(s->h, s->metric[pi]);
        int same = a && b && GEOSEqualsExact_r(s->h, a, b, 0.0) == 1;
        if (a) GEOSGeom_destroy_r(s->h, a);
        if (b) GEOSGeom_destroy_r(s->h, b);
        if (same) {
            GEOSGeom_destroy_r(s->h, u);
            return;
        }
    }
    const GEOSPreparedGeometry *prep = GEOSPrepare_r(s->h, s->metric[pi]);
    int all_inside = 1;
    for (size_t k = 0; k < nk && prep; k++) {
        size_t c = kids[k];
        if (GEOSPreparedCovers_r(s->h, prep, s->metric[c]) == 1) continue;
        all_inside = 0;
        GEOSGeometry *out = GEOSDifference_r(s->h, s->metric[c], s->metric[pi]);
        double a = 0;
        if (out) GEOSArea_r(s->h, out, &a);
        if (a > s->min_area) {
            s->suspect[c] = 1;
            add_issue(s, WG_ISSUE_OUTSIDE_PARENT, WG_SEV_ERROR, &s->units.v[c], p->code, a, out,
                      "%.1f m2 of %s %s lies outside its parent %s %s", a,
                      wg_level_name(s->units.v[c].level), s->units.v[c].code,
                      wg_level_name(p->level), p->code);
        }
        if (out) GEOSGeom_destroy_r(s->h, out);
    }
    if (prep) GEOSPreparedGeom_destroy_r(s->h, prep);
    if (!u) return;
    /* With every child inside, the uncovered area is the difference of the
     * areas: below the threshold there is no gap to report. */
    double pa = 0, ua = 0;
    GEOSArea_r(s->h, s->metric[pi], &pa);
    GEOSArea_r(s->h, u, &ua);
    if (!(all_inside && pa - ua <= s->min_area)) {
        GEOSGeometry *gap = GEOSDifference_r(s->h, s->metric[pi], u);
        if (gap) report_gaps(s, p, gap);
        else s->rc = wg_err(s->ctx, WG_ERR_GEOS, "gap check of %s failed: %s", p->code,
                            wg_geos_msg(s->ctx));
        if (gap) GEOSGeom_destroy_r(s->h, gap);
    }
    GEOSGeom_destroy_r(s->h, u);
}

static const vstate *sort_state; /* qsort has no user pointer in C11 */

static int cmp_by_parent(const void *a, const void *b) {
    const wg_unit *x = &sort_state->units.v[*(const size_t *)a];
    const wg_unit *y = &sort_state->units.v[*(const size_t *)b];
    if (x->level != y->level) return (int)x->level - (int)y->level;
    if (!x->parent || !y->parent) return !x->parent - !y->parent;
    return strcmp(x->parent, y->parent);
}

/* For every parent, its children of each level below: found by binary
 * search in the units sorted by (level, parent). Exclusive grids are not a
 * partition: they are only checked for lying inside their parent. Units
 * whose parent is missing are suspects for the overlap test. */
static void check_gaps(vstate *s) {
    size_t n = s->units.n;
    s->by_parent = malloc((n ? n : 1) * sizeof *s->by_parent);
    if (!s->by_parent) {
        s->rc = wg_err(s->ctx, WG_ERR_NOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) s->by_parent[i] = i;
    sort_state = s;
    qsort(s->by_parent, n, sizeof *s->by_parent, cmp_by_parent);
    for (size_t i = 0; i < n; i++) {
        const wg_unit *u = &s->units.v[i];
        int pl = wg_level_parent(u->level);
        if (pl >= 0 && (!u->parent || !find_unit(s, pl, u->parent))) s->suspect[i] = 1;
    }
    for (size_t pi = 0; pi < n && !s->rc; pi++) {
        const wg_unit *p = &s->units.v[pi];
        if (!s->metric[pi]) continue;
        for (int cl = p->level + 1; cl < WG_LEVEL_COUNT; cl++) {
            if (wg_level_parent((wg_level)cl) != (int)p->level) continue;
            size_t lo = 0, hi = n; /* first unit of level cl with parent >= p->code */
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                const wg_unit *m = &s->units.v[s->by_parent[mid]];
                int c = (int)m->level != cl ? ((int)m->level < cl ? -1 : 1)
                        : !m->parent        ? -1
                                            : strcmp(m->parent, p->code);
                if (c < 0) lo = mid + 1;
                else hi = mid;
            }
            size_t nk = 0, all = 0;
            int gap_check = cl != WG_LEVEL_EXCLUSIVE;
            for (size_t k = lo; k < n; k++) {
                size_t c = s->by_parent[k];
                const wg_unit *u = &s->units.v[c];
                if ((int)u->level != cl || !u->parent || strcmp(u->parent, p->code)) break;
                all++;
                if (s->metric[c]) s->kids[nk++] = c;
                else gap_check = 0; /* an invalid child: its area means nothing */
            }
            /* Without the union's area check (an invalid child), the others
             * are tested for overlaps pairwise. */
            if (!gap_check && cl != WG_LEVEL_EXCLUSIVE)
                for (size_t k = 0; k < nk; k++) s->suspect[s->kids[k]] = 1;
            if (all) check_parent(s, pi, s->kids, nk, gap_check);
        }
        wg_progress(s->ctx, "gaps", pi + 1, n);
    }
}

/* ---- sizes ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median area of the valid units of `level` under `parent` (any parent
 * if NULL); NAN if fewer than five (a median of a handful says nothing). */
static double median_area(vstate *s, double *buf, int level, const char *parent) {
    size_t n = 0;
    for (size_t i = 0; i < s->units.n; i++) {
        const wg_unit *u = &s->units.v[i];
        if ((int)u->level != level || !s->metric[i]) continue;
        if (parent && (!u->parent || strcmp(u->parent, parent))) continue;
        buf[n++] = u->area_m2;
    }
    if (n < 5) return NAN;
    qsort(buf, n, sizeof *buf, cmp_double);
    return buf[n / 2];
}

/* The unit's grandparent (its parent's parent), or -1. */
static long grandparent(vstate *s, const wg_unit *u) {
    int pl = wg_level_parent(u->level);
    const wg_unit *pu = pl >= 0 && u->parent ? find_unit(s, pl, u->parent) : NULL;
    int gl = pu ? wg_level_parent(pu->level) : -1;
    const wg_unit *g = gl >= 0 && pu->parent ? find_unit(s, gl, pu->parent) : NULL;
    return g ? (long)(g - s->units.v) : -1;
}

/* The median area of the valid units of u's level that share its
 * grandparent (a grid's cousins: the grids of its town); NAN if fewer
 * than five. Memoised per (level, grandparent) in memo[level * n + gp]. */
static double cousin_median(vstate *s, double *buf, double *memo, const long *gp, size_t i) {
    const wg_unit *u = &s->units.v[i];
    if (gp[i] < 0) return NAN;
    double *m = &memo[(size_t)u->level * s->units.n + (size_t)gp[i]];
    if (!isinf(*m)) return *m;
    size_t n = 0;
    for (size_t j = 0; j < s->units.n; j++)
        if (s->units.v[j].level == u->level && gp[j] == gp[i] && s->metric[j])
            buf[n++] = s->units.v[j].area_m2;
    if (n < 5) return *m = NAN;
    qsort(buf, n, sizeof *buf, cmp_double);
    return *m = buf[n / 2];
}

/* Urban grids are a tenth the size of rural ones by design, so a unit is
 * compared with its siblings (same parent) when it has five or more, else
 * with its cousins (same grandparent: the grids of its town), and with its
 * whole level only when neither says anything. */
static void check_sizes(vstate *s) {
    size_t n = s->units.n ? s->units.n : 1;
    double *buf = malloc(n * sizeof *buf);
    double *memo = malloc(n * WG_LEVEL_COUNT * sizeof *memo);
    long *gp = malloc(n * sizeof *gp);
    if (!buf || !memo || !gp) {
        free(buf);
        free(memo);
        free(gp);
        return;
    }
    for (size_t k = 0; k < n * WG_LEVEL_COUNT; k++) memo[k] = INFINITY; /* not computed */
    for (size_t i = 0; i < s->units.n; i++) gp[i] = grandparent(s, &s->units.v[i]);
    double level_med[WG_LEVEL_COUNT];
    for (int lv = 0; lv < WG_LEVEL_COUNT; lv++) level_med[lv] = median_area(s, buf, lv, NULL);
    const char *last_parent = NULL;
    int last_level = -1;
    double sib_med = NAN;
    for (size_t i = 0; i < s->units.n && !s->rc; i++) {
        const wg_unit *u = &s->units.v[i];
        if (u->level < WG_LEVEL_VILLAGE || !s->metric[i]) continue;
        if ((int)u->level != last_level || !u->parent || !last_parent ||
            strcmp(u->parent, last_parent)) {
            sib_med = u->parent ? median_area(s, buf, u->level, u->parent) : NAN;
            last_parent = u->parent;
            last_level = u->level;
        }
        double med = sib_med;
        const char *of = "siblings";
        if (isnan(med)) med = cousin_median(s, buf, memo, gp, i), of = "cousins (same grandparent)";
        if (isnan(med)) med = level_med[u->level], of = "level";
        if (isnan(med)) continue;
        if (u->area_m2 > med * s->outlier || u->area_m2 < med / s->outlier)
            add_issue(s, WG_ISSUE_SIZE_OUTLIER, WG_SEV_WARNING, u, NULL, u->area_m2, s->metric[i],
                      "%s %s covers %.0f m2; the median of its %s is %.0f m2",
                      wg_level_name(u->level), u->code, u->area_m2, of, med);
    }
    free(buf);
    free(memo);
    free(gp);
}

static int cmp_issue(const void *a, const void *b) {
    const wg_issue *x = a, *y = b;
    if (x->kind != y->kind) return (int)x->kind - (int)y->kind;
    return strcmp(x->code, y->code);
}

wg_status wg_validate(wg_ws *ws, const wg_validate_opts *opts, wg_issue_list **out) {
    vstate s;
    memset(&s, 0, sizeof s);
    s.ws = ws;
    s.ctx = ws->ctx;
    s.h = ws->ctx->geos;
    s.min_area = opts && opts->min_area_m2 > 0 ? opts->min_area_m2 : 1.0;
    s.outlier = opts && opts->outlier_factor > 1 ? opts->outlier_factor : 10.0;
    s.list = calloc(1, sizeof *s.list);
    if (!s.list) return wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
    if ((s.rc = wg_units_load(ws, WG_LEVELS_ALL, NULL, &s.units))) goto done;
    if (s.units.n && !ws->metric_epsg) {
        s.rc = wg_err(ws->ctx, WG_ERR_INVALID_ARG, "the workspace has no metric CRS");
        goto done;
    }
    s.metric = calloc(s.units.n + 1, sizeof *s.metric);
    s.suspect = calloc(s.units.n + 1, 1);
    s.kids = malloc((s.units.n + 1) * sizeof *s.kids);
    if (!s.metric || !s.suspect || !s.kids) {
        s.rc = wg_err(ws->ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < s.units.n; i++)
        if (!(s.metric[i] = wg_ws_to_metric(ws, s.units.v[i].geom))) {
            s.rc = WG_ERR_PROJ;
            goto done;
        }
    for (size_t i = 0; i < s.units.n; i++) s.level_present[s.units.v[i].level] = 1;
    check_validity(&s);
    check_duplicates(&s);
    check_codes(&s);
    if (!s.rc) check_gaps(&s); /* also marks the overlap suspects */
    for (int lv = 0; lv < WG_LEVEL_EXCLUSIVE && !s.rc; lv++) check_overlaps(&s, (wg_level)lv);
    if (!s.rc) check_sizes(&s);
    if (!s.rc && s.list->count) qsort(s.list->items, s.list->count, sizeof *s.list->items, cmp_issue);
done:
    for (size_t i = 0; s.metric && i < s.units.n; i++)
        if (s.metric[i]) GEOSGeom_destroy_r(s.h, s.metric[i]);
    free(s.metric);
    free(s.suspect);
    free(s.kids);
    free(s.by_parent);
    wg_units_free(ws->ctx, &s.units);
    if (s.rc) {
        wg_issue_list_free(s.list);
        return s.rc;
    }
    *out = s.list;
    return WG_OK;
}

void wg_issue_list_free(wg_issue_list *list) {
    if (!list) return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].code);
        free(list->items[i].other_code);
        free(list->items[i].message);
    }
    free(list->items);
    free(list);
}

/* ---- repair --------------------------------------------------------------- */

/* The polygonal parts of `g` as a new multipolygon (NULL if none). */
static GEOSGeometry *polygonal_parts(GEOSContextHandle_t h, const GEOSGeometry *g) {
    int n = GEOSGetNumGeometries_r(h, g);
    GEOSGeometry **polys = malloc(((size_t)n * 4 + 1) * sizeof *polys);
    unsigned np = 0;
    for (int i = 0; polys && i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
        int t = GEOSGeomTypeId_r(h, part);
        if (t == GEOS_POLYGON) {
            polys[np++] = GEOSGeom_clone_r(h, part);
        } else if (t == GEOS_MULTIPOLYGON) {
            for (int k = 0; k < GEOSGetNumGeometries_r(h, part); k++) {
                GEOSGeometry **nv = realloc(polys, ((size_t)np + 2 + (size_t)n * 4) * sizeof *nv);
                if (!nv) break;
                polys = nv;
                polys[np++] = GEOSGeom_clone_r(h, GEOSGetGeometryN_r(h, part, k));
            }
        }
    }
    GEOSGeometry *out = np ? GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, polys, np) : NULL;
    free(polys);
    return out;
}

wg_status wg_grids_repair(wg_ws *ws, wg_issue_list **changes) {
    wg_ctx *ctx = ws->ctx;
    GEOSContextHandle_t h = ctx->geos;
    vstate s;
    memset(&s, 0, sizeof s);
    s.ws = ws;
    s.ctx = ctx;
    s.h = h;
    sqlite3_stmt *upd = NULL;
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(h);
    GEOSMakeValidParams *mp = GEOSMakeValidParams_create_r(h);
    GEOSMakeValidParams_setMethod_r(h, mp, GEOS_MAKE_VALID_STRUCTURE);
    GEOSMakeValidParams_setKeepCollapsed_r(h, mp, 0);
    int in_tx = 0;
    if (ws->readonly) {
        s.rc = wg_err(ctx, WG_ERR_INVALID_ARG, "the workspace is open read-only");
        goto done;
    }
    if (!(s.list = calloc(1, sizeof *s.list))) {
        s.rc = wg_err(ctx, WG_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((s.rc = wg_units_load(ws, WG_LEVELS_ALL, NULL, &s.units)) ||
        (s.rc = wg_ws_prepare(ws, "UPDATE units SET geom = GeomFromWKB(?, 4326), area_m2 = ? "
                                  "WHERE id = ?", &upd)) ||
        (s.rc = wg_ws_begin(ws)))
        goto done;
    in_tx = 1;
    for (size_t i = 0; i < s.units.n && !s.rc; i++) {
        wg_unit *u = &s.units.v[i];
        if (GEOSisValid_r(h, u->geom) == 1) continue;
        GEOSGeometry *fixed = GEOSMakeValidWithParams_r(h, u->geom, mp);
        GEOSGeometry *poly = fixed ? polygonal_parts(h, fixed) : NULL;
        GEOSGeometry *m = poly ? wg_ws_to_metric(ws, poly) : NULL;
        GEOSGeometry *m_old = wg_ws_to_metric(ws, u->geom);
        double a_new = 0, a_old = 0;
        if (m) GEOSArea_r(h, m, &a_new);
        if (m_old) GEOSArea_r(h, m_old, &a_old);
        size_t len = 0;
        unsigned char *wkb = poly ? GEOSWKBWriter_write_r(h, wr, poly, &len) : NULL;
        if (!wkb) {
            s.rc = wg_err(ctx, WG_ERR_GEOS, "cannot repair %s %s: MakeValid left no polygon",
                          wg_level_name(u->level), u->code);
        } else {
            sqlite3_reset(upd);
            sqlite3_bind_blob(upd, 1, wkb, (int)len, SQLITE_STATIC);
            sqlite3_bind_double(upd, 2, a_new);
            sqlite3_bind_int64(upd, 3, u->id);
            if (sqlite3_step(upd) != SQLITE_DONE) s.rc = wg_ws_sqlerr(ws, "storing a repair");
            add_issue(&s, WG_ISSUE_INVALID_GEOMETRY, WG_SEV_WARNING, u, NULL, a_new, m,
                      "repaired %s %s with MakeValid: %d polygon(s), area %.1f m2 -> %.1f m2",
                      wg_level_name(u->level), u->code, GEOSGetNumGeometries_r(h, poly), a_old,
                      a_new);
            GEOSFree_r(h, wkb);
        }
        if (fixed) GEOSGeom_destroy_r(h, fixed);
        if (poly) GEOSGeom_destroy_r(h, poly);
        if (m) GEOSGeom_destroy_r(h, m);
        if (m_old) GEOSGeom_destroy_r(h, m_old);
    }
    if (!s.rc && !(s.rc = wg_ws_commit(ws))) in_tx = 0;
done:
    if (in_tx) wg_ws_rollback(ws);
    sqlite3_finalize(upd);
    GEOSMakeValidParams_destroy_r(h, mp);
    GEOSWKBWriter_destroy_r(h, wr);
    wg_units_free(ctx, &s.units);
    if (s.rc) {
        wg_issue_list_free(s.list);
        return s.rc;
    }
    *changes = s.list;
    return WG_OK;
}
