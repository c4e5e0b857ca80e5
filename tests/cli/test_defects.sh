#!/usr/bin/env bash
# test_defects.sh -- the validator finds exactly the faults the generator
# injected: one overlap, one gap, one invalid geometry and one duplicate
# code, on the units the generator names, and nothing else that is an error.
# Then `validate --repair` mends the invalid grid and only it.
#
# usage: test_defects.sh [SEED...]   (default: seeds 1 to 5)
# The generator fails, by design, when the four faults do not all fit in a
# `tiny` county; such a seed is skipped (at least three must fit).
source "$(dirname "$0")/lib.sh"

# check_findings VALIDATE.json SUMMARY.json [repaired|after-repair] -- compares the
# validator's error findings with the generator's list of defects.
#   overlap   generator: [A, B]            validator: overlap of A and B
#   gap       generator: [grid, village]   validator: gap in that village
#   invalid   generator: [A]               validator: invalid_geometry of A
#   dupcode   generator: [code, old code]  validator: duplicate_code of code
# Areas (overlap, gap) agree within 1%. With "repaired", the invalid grid
# must be listed as repaired and no longer among the errors; with
# "after-repair", only no longer among the errors.
check_findings() {
    py 'import json, sys
v, gen = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
mode = sys.argv[3] if len(sys.argv) > 3 else ""
repaired = mode in ("repaired", "after-repair")
kinds = {"overlap": "overlap", "gap": "gap", "invalid": "invalid_geometry",
         "dupcode": "duplicate_code"}
errors = [i for i in v["issues"] if i["severity"] == "error"]
want = [d for d in gen["defects"] if not (repaired and d["kind"] == "invalid")]
problems = []
def show(i):
    return "%s %s %s/%s %s" % (i["kind"], i["level"], i["code"], i.get("other_code"), i.get("area_m2"))
if v["errors"] != len(errors):
    problems.append("\"errors\": %d but %d error issues" % (v["errors"], len(errors)))
unmatched = list(errors)
for d in want:
    kind, codes = kinds[d["kind"]], d["codes"]
    def match(i):
        if i["kind"] != kind:
            return False
        if kind == "overlap":
            ok = {i["code"], i.get("other_code")} == set(codes)
        elif kind == "gap":
            ok = i["level"] == "village" and i["code"] == codes[-1]
        else:
            ok = i["code"] == codes[0]
        if ok and d.get("area_m2", 0) > 0:
            ok = abs(i.get("area_m2", 0) - d["area_m2"]) <= 0.01 * d["area_m2"]
        return ok
    hits = [i for i in unmatched if match(i)]
    if len(hits) != 1:
        problems.append("generator defect %s %s: %d matching findings" % (d["kind"], codes, len(hits)))
    else:
        unmatched.remove(hits[0])
for i in unmatched:
    problems.append("error finding not injected by the generator: " + show(i))
if mode == "repaired":
    inv = [d["codes"][0] for d in gen["defects"] if d["kind"] == "invalid"]
    fixed = [i["code"] for i in v.get("repaired", [])]
    if sorted(fixed) != sorted(inv):
        problems.append("repaired %s, expected %s" % (fixed, inv))
if problems:
    print("validator vs generator:\n  " + "\n  ".join(problems), file=sys.stderr)
    print("generator defects: %s" % json.dumps(gen["defects"], ensure_ascii=False), file=sys.stderr)
    print("validator errors:\n  " + "\n  ".join(show(i) for i in errors), file=sys.stderr)
    sys.exit(1)' "$@"
}

DEFECTS=overlap,gap,invalid,dupcode
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5)
used=0
for seed in "${seeds[@]}"; do
    gen="$WG_TMP/gen-$seed"
    mkdir -p "$gen"
    if ! "$WG_GENCOUNTY" --scale tiny --seed "$seed" -o "$gen" --defects $DEFECTS \
        >"$gen/summary.json" 2>"$gen/gen.log"; then
        grep -q "could not place" "$gen/gen.log" ||
            { cat "$gen/gen.log" >&2; fail "wg_gencounty failed for seed $seed"; }
        echo "# seed $seed: the four faults do not fit in this tiny county; skipped"
        continue
    fi
    used=$((used + 1))
    py 'import json, sys
d = json.load(open(sys.argv[1]))["defects"]
assert sorted(x["kind"] for x in d) == ["dupcode", "gap", "invalid", "overlap"], d' "$gen/summary.json"
    ok "seed $seed: the generator reports one defect of each kind"

    ws="$WG_TMP/defects-$seed.sqlite"
    expect_exit 0 "$WANGGE" init "$ws"
    expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/admin.shp" --level-field level --parent-field parent
    expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/grids.shp" --level grid --parent-field parent
    expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/micro.shp" --level micro --parent-field parent
    expect_exit 0 "$WANGGE" import-grids "$ws" "$gen/exclusive.shp" --level exclusive \
        --parent-field parent --kind-field kind

    # Errors found: exit status 1, and the report lists exactly the defects.
    expect_exit 1 "$WANGGE" validate "$ws" --json
    cp "$OUT" "$WG_TMP/validate-$seed.json"
    check_findings "$WG_TMP/validate-$seed.json" "$gen/summary.json"
    ok "seed $seed: exactly one overlap, gap, invalid_geometry and duplicate_code, on the generator's units"
    expect_contains "$ERR" "4 errors"

    # --repair mends the invalid grid; the other three remain.
    expect_exit 1 "$WANGGE" validate "$ws" --repair --json
    cp "$OUT" "$WG_TMP/repair-$seed.json"
    check_findings "$WG_TMP/repair-$seed.json" "$gen/summary.json" repaired
    ok "seed $seed: --repair fixed the invalid grid only; overlap, gap, duplicate_code remain"
    expect_exit 1 "$WANGGE" validate "$ws" --json
    check_findings "$OUT" "$gen/summary.json" after-repair
    ok "seed $seed: the repair was saved in the workspace"
done
[ "$used" -ge $(( ${#seeds[@]} < 3 ? ${#seeds[@]} : 3 )) ] ||
    fail "the generator placed the faults for only $used of seeds ${seeds[*]}"
ok "$used seed(s) checked"

pass
