#!/usr/bin/env bash
# Formats the C++ sources with clang-format and the repository's .clang-format. Usage:
#   scripts/format.sh            rewrite every tracked .cc/.h file in place
#   scripts/format.sh --check    change nothing; list the files that differ, exit 1 if any do
# Only files tracked by git are touched (build trees and generated files are not).
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT="${CLANG_FORMAT:-clang-format}"
command -v "$CLANG_FORMAT" >/dev/null || {
  echo "no $CLANG_FORMAT (scripts/install-deps.sh installs it)" >&2
  exit 2
}
mode="${1:-fix}"
case "$mode" in
  fix | --check) ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

mapfile -t files < <(git ls-files '*.cc' '*.h')
if [ "$mode" = fix ]; then
  "$CLANG_FORMAT" -i --style=file "${files[@]}"
  exit 0
fi
differ=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --style=file "$f" | cmp -s - "$f" || differ+=("$f")
done
if ((${#differ[@]})); then
  printf '%s\n' "${differ[@]}"
  echo "${#differ[@]} of ${#files[@]} files differ from .clang-format (fix: scripts/format.sh)" >&2
  exit 1
fi
echo "all ${#files[@]} files match .clang-format"
