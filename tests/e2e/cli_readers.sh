# Hostile inputs for the readers: files that are not regular files, control characters in what
# a file says, values float32 cannot train on, memory that cannot be had, too many open files,
# and gen's memory.
source "$(dirname "$0")/lib.sh" "$@"

"$IVF" -q gen good.npy --rows 3000 --dim 16 --clusters 8
T=(--index-type ivf_flat --num-partitions 8)

# A FIFO as dataset, manifest, task, sample result or model.json: refused at once (timeout:
# before, open() waited for a writer forever).
mkfifo fifo.npy fifo.json fifo.h5
expect_error "fifo.npy is a FIFO (named pipe), not a regular file" \
  timeout 20 "$IVF" train fifo.npy --out m "${T[@]}"
expect_error "fifo.json is a FIFO" timeout 20 "$IVF" train fifo.json --out m "${T[@]}"
expect_error "fifo.h5 is a FIFO" timeout 20 "$IVF" train fifo.h5 --out m "${T[@]}"
echo '{"fragments": [{"id": 0, "path": "fifo.npy"}]}' > manifest.json
expect_error "fifo.npy is a FIFO" timeout 20 "$IVF" train manifest.json --out m "${T[@]}"
"$IVF" -q plan good.npy --workers 2 --out plan "${T[@]}"
mv plan/task-0001.json plan/task-0001.json.real && mkfifo plan/task-0001.json
expect_error "task-0001.json is a FIFO" timeout 20 "$IVF" sample plan/task-0001.json
rm plan/task-0001.json && mv plan/task-0001.json.real plan/task-0001.json
"$IVF" -q sample plan/task-0000.json && "$IVF" -q sample plan/task-0001.json
mv plan/task-0001.result real.result && mkfifo plan/task-0001.result
expect_error "task-0001.result is a FIFO" timeout 20 "$IVF" train --from-samples plan --out m
rm plan/task-0001.result
"$IVF" -q train good.npy --out model "${T[@]}"
mv model/model.json real-model.json && mkfifo model/model.json
expect_error "model.json is a FIFO" timeout 20 "$IVF" inspect model
rm model/model.json && mv real-model.json model/model.json
test ! -e m && pass "no model after FIFO errors" || fail "m was created"

# Control characters from a file never reach the terminal raw.
"$PY" - <<'PY'
header = b"{'descr': '<f4\x1b[31mFAKE', 'fortran_order': False, 'shape': (2, 2), }"
header += b" " * (118 - len(header)) + b"\n"
open("esc.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
                            + b"\0" * 16)
PY
err="$("$IVF" train esc.npy --out m "${T[@]}" 2>&1 >/dev/null || true)"
if grep -q $'\x1b' <<<"$err"; then fail "a raw ESC reached stderr: $err"
elif grep -qF '<f4\x1b[31mFAKE' <<<"$err"; then pass "ESC shown escaped: $err"
else fail "unexpected message: $err"; fi
echo '{"fragments": [{"id": 0, "path": "good.npy", "\u001b]0;owned\u0007": 1}]}' > ctl.json
err="$("$IVF" train ctl.json --out m "${T[@]}" 2>&1 >/dev/null || true)"
if grep -q $'\x1b\|\x07' <<<"$err"; then fail "a raw control character reached stderr: $err"
else pass "manifest key shown escaped: $err"; fi

# Values whose squared distances overflow float32: refused, no model written (before: exit 0,
# "ivf_objective": null, and inspect refused the model).
"$PY" -c 'import numpy as np; x = np.random.default_rng(1).normal(size=(500, 8)).astype(np.float32) * np.float32(1e20); np.save("huge.npy", x)'
expect_error "values too large to train on in float32" "$IVF" train huge.npy --out m "${T[@]}"
test ! -e m && pass "no model from huge values" || fail "a model was written from huge values"

# A sample larger than the memory the process may use is refused before it is allocated (the
# hidden hook stands for ulimit -v, which sanitizer builds cannot run under).
expect_error "needs 144.00 KiB of memory, more than the 97.66 KiB this process may use" \
  "$IVF" train good.npy --out m "${T[@]}" --test-memory-limit 100000
expect_error "of task 0 (" "$IVF" sample plan/task-0000.json --test-memory-limit 100000

# Past the open-file limit, a valid HDF5 file is not "not an HDF5 file".
mkdir h5dir
"$IVF" -q gen h5dir/a.h5 --rows 100 --dim 4
for i in $(seq 1 40); do cp h5dir/a.h5 "h5dir/f$i.h5"; done
# Not under the sanitizers: their runtime needs free descriptors of its own (UBSan's vptr check
# opens a pipe) and reports a false error when none is left; the release build runs the check.
# (grep reads all of nm's output: with -q it would exit early and pipefail would see SIGPIPE.)
if nm -D "$IVF" 2>/dev/null | grep __asan_init >/dev/null; then
  pass "open-file limit check skipped under the sanitizers"
else
  expect_error "Too many open files" bash -c "ulimit -n 24 && exec \"$IVF\" train h5dir --out m --index-type ivf_flat --num-partitions 2"
fi

# gen streams: its peak memory does not grow with its output (before: twice the output).
/usr/bin/time -f "%M" -o gen.rss "$IVF" -q gen big.npy --rows 300000 --dim 128
rss_kib=$(tail -1 gen.rss)
if [ "$rss_kib" -lt 120000 ]; then pass "gen of 147 MiB peaked at $((rss_kib / 1024)) MiB"
else fail "gen of 147 MiB peaked at $((rss_kib / 1024)) MiB"; fi
"$PY" - <<'PY' || fail "big.npy is not the mixture gen writes in one piece"
import numpy as np
x = np.load("big.npy", mmap_mode="r")
assert x.shape == (300000, 128) and np.isfinite(x[-5:]).all()
PY
rm -f big.npy
finish
