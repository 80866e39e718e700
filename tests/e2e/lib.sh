# Helpers for the end-to-end tests. Each test: `source lib.sh "$@"`; $IVF is the binary.
set -euo pipefail
IVF="$(realpath "$1")"
PY=/usr/bin/python3
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ivftrain-e2e-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
FAILURES=0

fail() { echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

# expect_error "words the message must hold" command...: the command must exit non-zero and
# print the words on stderr.
expect_error() {
  local words="$1"; shift
  local err rc=0
  err="$("$@" 2>&1 >/dev/null)" || rc=$?
  if [ "$rc" -eq 0 ]; then fail "expected an error from: $*"; return; fi
  if ! grep -qF -- "$words" <<<"$err"; then
    fail "error of '$*' lacks '$words': $err"; return
  fi
  pass "refused ($rc): $(head -c 160 <<<"$err" | tr '\n' ' ')"
}

# same_model A B: .npy files byte-identical, model.json identical apart from "timings".
same_model() {
  local a="$1" b="$2" f
  for f in "$a"/*.npy; do
    if ! cmp -s "$f" "$b/$(basename "$f")"; then fail "$f differs from $b"; return; fi
  done
  if ! "$PY" - "$a/model.json" "$b/model.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for m in (a, b): m.pop("timings", None)
sys.exit(0 if a == b else 1)
PY
  then fail "model.json of $a and $b differ beyond timings"; return; fi
  pass "$b is byte-identical to $a"
}

# make_plan NAME WORKERS FLAGS...: a plan of $DATA (default: data) whose tasks are all sampled.
make_plan() {
  local plan="$1" workers="$2" t; shift 2
  "$IVF" -q plan "${DATA:-data}" --workers "$workers" --out "$plan" "$@"
  for t in "$plan"/task-*.json; do "$IVF" -q sample "$t"; done
}

# drive PLAN WORKERS MODEL [LOG]: the driver loop of the README (advance; on exit 3 every
# worker's round, in parallel; again); returns advance's last exit code. With LOG, advance's
# lines are appended to it; without, advance runs quiet, through ${ADVANCE[@]} when set.
drive() {
  local plan="$1" workers="$2" model="$3" log="${4:-}" rc w
  while :; do
    rc=0
    if [ -n "$log" ]; then
      "$IVF" advance "$plan" --out "$model" >>"$log" 2>&1 || rc=$?
    else
      "${ADVANCE[@]:-$IVF}" -q advance "$plan" --out "$model" || rc=$?
    fi
    [ "$rc" -eq 0 ] && return 0
    [ "$rc" -eq 3 ] || return "$rc"
    for w in $(seq 0 $((workers - 1))); do "$IVF" -q round "$plan" --worker "$w" --threads 1 & done
    wait
  done
}

# hier_data DIR: 40,000 rows of 8 dims in 7 uneven .npy fragments, a quarter of them one repeated
# row. With 4,096 partitions (64 groups, a cap of 1,875 rows) that row's group is over the cap,
# so hierarchical k-means' capping moves rows.
hier_data() {
  "$PY" - "$1" <<'PY'
import numpy as np, os, sys
rng = np.random.default_rng(5)
n, d = 40000, 8
centres = rng.normal(0, 4, (50, d))
x = (centres[rng.integers(0, 50, n)] + rng.normal(0, 1, (n, d))).astype(np.float32)
x[rng.random(n) < 0.25] = x[0]
os.makedirs(sys.argv[1])
at = 0
for i, m in enumerate([9000, 1, 7000, 12000, 400, 6000, 5599]):
    np.save(f"{sys.argv[1]}/part-{i}.npy", x[at:at + m])
    at += m
PY
}

finish() {
  if [ "$FAILURES" -ne 0 ]; then echo "$FAILURES check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
