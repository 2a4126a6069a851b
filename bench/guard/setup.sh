#!/usr/bin/env bash
# Installs the peer of bench/guard into work/ (gitignored): LiteLLM's proxy with ahocorasick_rs
# for its keyword guardrail, in work/venv. (litellm 1.106.0: the newest whose proxy extras the
# package index here has in full.)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work
[ -x work/venv/bin/python ] || python3 -m venv work/venv
work/venv/bin/pip install -q --disable-pip-version-check "litellm[proxy]==1.106.0" ahocorasick_rs
work/venv/bin/pip freeze | grep -iE '^(litellm|ahocorasick)' | tee work/versions.txt
