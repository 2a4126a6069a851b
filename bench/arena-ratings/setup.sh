#!/usr/bin/env bash
# Installs the peers of bench/arena-ratings into bench/arena-ratings/work/venv (gitignored):
#   fschat   FastChat, for fastchat.serve.monitor.elo_analysis (compute_elo_mle_with_tie,
#            get_bootstrap_result). Installed with --no-deps: its declared dependencies are the
#            chat server's (fastapi, uvicorn, tiktoken, ...), none of which elo_analysis imports.
#            What the module imports at load time, followed through fastchat.model.model_registry,
#            fastchat.serve.monitor.basic_stats, .clean_battle_data, fastchat.utils and
#            fastchat.constants, is exactly: numpy, pandas, plotly, tqdm, pytz, requests; and
#            compute_elo_mle_with_tie imports scikit-learn. Those are installed for real. One
#            detour: the package fastchat.model's __init__.py imports model_adapter (torch,
#            transformers, psutil); peers.py registers fastchat.model as a bare package pointing
#            at the installed folder, so model_registry.py loads and __init__.py does not run.
#            The module itself is imported unmodified; no code is copied or stubbed.
#   evalica  the latest on PyPI unless EVALICA_VERSION is set (Rust core, wheel for abi3).
# The versions end up in work/versions.env. Idempotent: rerun to reinstall.
# Pins can be overridden from the environment: FSCHAT_VERSION (0.2.36), EVALICA_VERSION,
# NUMPY_VERSION, PANDAS_VERSION, SKLEARN_VERSION (empty = newest the resolver picks).
# Needs python3 (>= 3.9) with venv and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")"
work=$PWD/work
mkdir -p "$work"

FSCHAT_VERSION=${FSCHAT_VERSION:-0.2.36}
EVALICA_VERSION=${EVALICA_VERSION:-}
spec() { if [ -n "$2" ]; then echo "$1==$2"; else echo "$1"; fi; }

[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
pip=("$work/venv/bin/pip" --disable-pip-version-check --quiet)

echo "== fschat $FSCHAT_VERSION (no deps) into work/venv"
"${pip[@]}" install --no-deps "fschat==$FSCHAT_VERSION"
echo "== elo_analysis' imports, evalica ${EVALICA_VERSION:-(latest)}"
"${pip[@]}" install \
    "$(spec numpy "${NUMPY_VERSION:-}")" \
    "$(spec pandas "${PANDAS_VERSION:-}")" \
    "$(spec scikit-learn "${SKLEARN_VERSION:-}")" \
    plotly tqdm pytz requests \
    "$(spec evalica "$EVALICA_VERSION")"

echo "== check: the unmodified elo_analysis module imports, evalica's Rust core loads"
"$work/venv/bin/python" peers.py --check

echo "== versions"
"$work/venv/bin/python" - > "$work/versions.env" <<'PY'
import importlib.metadata as m, platform
pkgs = [("FSCHAT_V", "fschat"), ("EVALICA_V", "evalica"), ("NUMPY_V", "numpy"),
        ("PANDAS_V", "pandas"), ("SKLEARN_V", "scikit-learn"), ("SCIPY_V", "scipy"),
        ("PLOTLY_V", "plotly")]
print(f"PYTHON_V={platform.python_version()}")
for var, name in pkgs:
    print(f"{var}={m.version(name)}")
PY
cat "$work/versions.env"
