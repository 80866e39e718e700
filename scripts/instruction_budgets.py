#!/usr/bin/env python3
"""Instructions per row of the assignment kernels, counted by callgrind at every SIMD level the
CPU supports as valgrind presents it (valgrind 3.19 has no AVX-512: avx2, sse4, ssse3, scalar),
against the budgets in bench/instruction_budgets.json. A count, not a time: it does not flake,
and a change that makes the compiler spill vectors to the stack or fall back to scalar code
multiplies it.

    scripts/instruction_budgets.py BUILD_DIR            # check (exit 1 on a budget exceeded)
    scripts/instruction_budgets.py BUILD_DIR --update   # budgets = counts x 1.05
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# The kernel entry points (kernels.h), each counted with everything it calls.
KERNELS = {
    "direct": "ivftrain::kernels::direct_argmin*",
    "direct_two_min": "ivftrain::kernels::direct_two_min*",
    "argmin": "ivftrain::kernels::tile_argmin*",
    "two_min": "ivftrain::kernels::tile_two_min*",
    "top_t": "ivftrain::kernels::tile_top_t*",
}
ROWS = 2048
BUDGETS = os.path.join(os.path.dirname(__file__), "..", "bench", "instruction_budgets.json")
MARGIN = 1.05


def run(cmd, env=None):
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def per_row(tool, level, kernel):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, IVFTRAIN_SIMD=level)
        run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             f"--toggle-collect={KERNELS[kernel]}", tool, "run", kernel, str(ROWS)], env)
        with open(out) as f:
            text = f.read()
    m = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.M)
    if not m:
        sys.exit(f"instruction_budgets: no instruction count in callgrind's output for {kernel}")
    return int(m.group(1)) / ROWS


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("--update", action="store_true", help="rewrite the budgets from the counts")
    args = ap.parse_args()
    tool = os.path.join(args.build_dir, "bench", "kernel_tool")
    levels = run(["valgrind", "-q", tool, "levels"]).split()
    budgets = {}
    if os.path.exists(BUDGETS):
        with open(BUDGETS) as f:
            budgets = json.load(f)
    counts, failed = {}, False
    print(f"{'level':<8}{'kernel':<15}{'instructions/row':>18}{'budget':>10}")
    for level in levels:
        counts[level] = {}
        for kernel in KERNELS:
            n = per_row(tool, level, kernel)
            counts[level][kernel] = n
            budget = budgets.get("budgets", {}).get(level, {}).get(kernel)
            verdict = "no budget" if budget is None else ("ok" if n <= budget else "OVER")
            failed |= verdict == "OVER"
            print(f"{level:<8}{kernel:<15}{n:>18.1f}{budget if budget else '-':>10}  {verdict}")
    if args.update:
        budgets = {"note": f"instructions per row, callgrind, {ROWS} rows; budget = count x "
                           f"{MARGIN} (scripts/instruction_budgets.py --update)",
                   "budgets": {lv: {k: round(v * MARGIN) for k, v in c.items()}
                               for lv, c in counts.items()}}
        with open(BUDGETS, "w") as f:
            json.dump(budgets, f, indent=2)
            f.write("\n")
        print(f"budgets written to {os.path.normpath(BUDGETS)}")
        return 0
    if failed:
        print("instruction_budgets: a kernel exceeds its budget (see OVER above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
