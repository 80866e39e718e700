#!/usr/bin/env bash
# Builds the Python module and installs `import ivftrain` for Debian's /usr/bin/python3, offline.
# Usage: scripts/install-python.sh [--user]
#   default: into /usr/local/lib/python3.X/dist-packages (the place Debian keeps for packages
#            installed by hand; needs root);
#   --user:  into ~/.local/lib/python3.X/site-packages.
# Uninstall: remove the ivftrain directory printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
site=$("$python" -c "import sysconfig; print(sysconfig.get_path('platlib'))")
if [[ "${1:-}" == "--user" ]]; then
  site=$("$python" -c "import site; print(site.getusersitepackages())")
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [--user]" >&2
  exit 2
fi
cmake --preset release -DIVFTRAIN_PYTHON=ON -DPYTHON_EXECUTABLE="$python" \
  -DIVFTRAIN_PYTHON_SITE="$site" >/dev/null
cmake --build --preset release -j "$(nproc)" --target _ivftrain
cmake --install build/release --component python
cd /
"$python" -c "import ivftrain, os; print('installed', os.path.dirname(ivftrain.__file__))"
