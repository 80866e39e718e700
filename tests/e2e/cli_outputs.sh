# Outputs (issue 14): --overwrite replaces only what ivftrain wrote and never an input; outputs are
# checked before the first read; odd but legal paths work; a signal at a write leaves no staging
# file, and the next run removes those of a killed one; concurrent gen runs to one path.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen data.npy --rows 3000 --dim 16 --clusters 8
"$IVF" -q gen ddir --rows 3000 --dim 16 --clusters 8 --fragments 3
T=(--index-type ivf_flat --num-partitions 8 --max-iters 5)
sum() { find "$@" -type f -print0 | sort -z | xargs -0 md5sum | md5sum; }
data_sum=$(sum data.npy ddir)

# --overwrite never turns an input into an output, nor empties a dataset directory.
expect_error "is the input" "$IVF" train data.npy --out data.npy --overwrite "${T[@]}"
expect_error "is the input" "$IVF" train ddir --out ddir --overwrite "${T[@]}"
expect_error "is the input" "$IVF" train ddir --out ddir/ --overwrite "${T[@]}"
expect_error "inside the input" "$IVF" train ddir --out ddir/model "${T[@]}"
expect_error "inside the input" "$IVF" train ddir --out ddir/part-00001.npy --overwrite "${T[@]}"
expect_error "contains the input" "$IVF" train ddir/part-00000.npy --out ddir --overwrite "${T[@]}"
ln -s data.npy link.npy
expect_error "is the input" "$IVF" train link.npy --out data.npy --overwrite "${T[@]}"
expect_error "is the input" "$IVF" plan data.npy --workers 2 --out data.npy --overwrite "${T[@]}"
[ "$(sum data.npy ddir)" = "$data_sum" ] && pass "the datasets are untouched" \
  || fail "a dataset changed"

# --overwrite replaces a model or plan ivftrain wrote, and refuses anything else, naming it.
mkdir important && echo mine > important/notes.txt
expect_error "important holds no plan.json" "$IVF" plan data.npy --workers 2 --out important \
  --overwrite "${T[@]}"
expect_error "important holds no model.json" "$IVF" train data.npy --out important --overwrite "${T[@]}"
"$IVF" -q train data.npy --out model "${T[@]}"
echo mine > model/notes.txt
expect_error "model holds notes.txt, which ivftrain did not write" "$IVF" train data.npy \
  --out model --overwrite "${T[@]}"
rm model/notes.txt
"$IVF" -q train data.npy --out model --overwrite "${T[@]}" --seed 3 \
  && pass "--overwrite replaced a model" || fail "--overwrite refused a model"
[ -f important/notes.txt ] && pass "important/notes.txt kept" || fail "notes.txt deleted"

# sample --out replaces only a sample result: not the dataset it reads, not its task, not a file
# of the user's.
"$IVF" -q plan data.npy --workers 2 --out plan "${T[@]}"
expect_error "is the input" "$IVF" sample plan/task-0000.json --out data.npy
expect_error "is not a sample result" "$IVF" sample plan/task-0000.json --out important/notes.txt
expect_error "is not a sample result" "$IVF" sample plan/task-0000.json --out plan/plan.json
expect_error "is the input" "$IVF" sample plan/task-0000.json --out plan/task-0000.json
[ "$(sum data.npy ddir)" = "$data_sum" ] && pass "sample left the dataset alone" \
  || fail "sample changed the dataset"
"$IVF" -q sample plan/task-0000.json --out r.result && "$IVF" -q sample plan/task-0000.json \
  --out r.result && pass "a result replaces a result" || fail "a result was not replaced"

# The output is checked before the first read: here the dataset does not even exist.
expect_error "model already exists" "$IVF" train missing.npy --out model "${T[@]}"
expect_error "directory no-dir does not exist" "$IVF" train missing.npy --out no-dir/m "${T[@]}"
expect_error "plan already exists" "$IVF" plan missing.npy --workers 2 --out plan "${T[@]}"
expect_error "model already exists" "$IVF" train --from-samples missing-plan --out model
expect_error "no-dir does not exist" "$IVF" sample plan/task-0001.json --out no-dir/r.result
expect_error "data.npy already exists" "$IVF" gen data.npy --rows 10 --dim 2
expect_error "no-dir does not exist" "$IVF" gen no-dir/g.npy --rows 10 --dim 2

# A trailing slash is the directory; an empty path is refused up front; a name near NAME_MAX
# is written despite the staging suffix.
"$IVF" -q train data.npy --out slash/ "${T[@]}" && [ -f slash/model.json ] \
  && pass "--out slash/ wrote slash" || fail "--out slash/ failed"
expect_error "output path is empty" "$IVF" train data.npy --out "" "${T[@]}"
expect_error "output path is empty" "$IVF" plan data.npy --workers 2 --out "" "${T[@]}"
expect_error "output path is empty" "$IVF" sample plan/task-0000.json --out ""
long=$(printf 'm%.0s' $(seq 250))
"$IVF" -q train data.npy --out "$long" "${T[@]}" && [ -f "$long/model.json" ] \
  && pass "a 250-byte name is written" || fail "a 250-byte name failed"
"$IVF" -q train data.npy --out "$long" --overwrite "${T[@]}" \
  && pass "and replaced" || fail "a 250-byte name could not be replaced"

# A signal at a write: the run removes its own staging files and ends by the signal (143, 130).
staging() { ls -A | grep -E "^\.($1)" || true; }
rc=0; "$IVF" -q train data.npy --out sig "${T[@]}" --test-signal-at-write-call 2 || rc=$?
[ "$rc" -eq 143 ] && pass "SIGTERM at a write: status 143" || fail "SIGTERM gave status $rc"
[ -z "$(staging sig)" ] && [ ! -e sig ] && pass "no staging left by SIGTERM" \
  || fail "SIGTERM left: $(ls -A)"
rc=0; "$IVF" -q train data.npy --out model --overwrite "${T[@]}" --test-signal-at-write-call 1 \
  --test-signal 2 || rc=$?
[ "$rc" -eq 130 ] && pass "SIGINT at a write: status 130" || fail "SIGINT gave status $rc"
[ -z "$(staging model)" ] && [ -f model/model.json ] && pass "SIGINT kept the old model, no staging" \
  || fail "SIGINT left: $(ls -A)"
rc=0; "$IVF" -q sample plan/task-0001.json --test-signal-at-write-call 1 || rc=$?
[ "$rc" -eq 143 ] && [ -z "$(ls -A plan | grep '^\.')" ] && [ ! -e plan/task-0001.result ] \
  && pass "SIGTERM while writing a result left nothing" || fail "sample ($rc) left: $(ls -A plan)"
rc=0; "$IVF" -q gen g --rows 3000 --dim 4 --fragments 6 --test-signal-at-write-call 3 || rc=$?
[ "$rc" -eq 143 ] && [ -z "$(staging g)" ] && [ ! -e g ] \
  && pass "SIGTERM during gen left nothing" || fail "gen ($rc) left: $(ls -A)"

# A run killed outright (SIGKILL cannot be caught) leaves its staging; the next run for the
# same output removes it (its process is dead).
rc=0; "$IVF" -q train data.npy --out killed "${T[@]}" --test-signal-at-write-call 2 \
  --test-signal 9 || rc=$?
[ "$rc" -eq 137 ] && [ -n "$(staging killed)" ] && pass "SIGKILL left a staging directory" \
  || fail "SIGKILL ($rc): $(ls -A)"
"$IVF" -q train data.npy --out killed "${T[@]}"
[ -z "$(staging killed)" ] && [ -f killed/model.json ] \
  && pass "the next run removed the dead run's staging" || fail "stale staging stays: $(ls -A)"

# Two gen runs to one directory: the first stops itself in its staging directory (SIGSTOP at its
# third write), the second writes the whole directory, then the first goes on and is told the
# path exists; the directory holds the second's complete output, and no staging is left.
"$IVF" -q gen g2 --rows 16000 --dim 4 --fragments 16 --test-signal-at-write-call 3 \
  --test-signal 19 2>first.err &
first=$!
for _ in $(seq 100); do
  [ "$(ps -o stat= -p "$first" | cut -c1)" = "T" ] && break
  sleep 0.1
done
"$IVF" -q gen g2 --rows 16000 --dim 4 --fragments 16 --seed 7 \
  && pass "the second gen wrote g2" || fail "the second gen failed"
kill -CONT "$first"
rc=0; wait "$first" || rc=$?
[ "$rc" -ne 0 ] && grep -q "g2 already exists" first.err && pass "the first gen was told: $(cat first.err)" \
  || fail "first gen: rc $rc, $(cat first.err)"
[ "$(ls g2 | wc -l)" -eq 16 ] && [ -z "$(staging g2)" ] && pass "g2 complete, no staging" \
  || fail "g2 holds $(ls g2 | wc -l) files; $(ls -A)"
finish
