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

finish() {
  if [ "$FAILURES" -ne 0 ]; then echo "$FAILURES check(s) failed" >&2; exit 1; fi
  echo "all checks passed"
}
