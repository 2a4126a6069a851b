#!/usr/bin/env bash
# Installs the peers of bench/screen into work/ (gitignored): datatrove with its URL filter's
# dependencies and two Aho-Corasick bindings (ahocorasick_rs, pyahocorasick) in work/venv, and
# ripgrep 15 from crates.io in work/rg (Debian's ripgrep 13 is about half as fast).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work
[ -x work/venv/bin/python ] || python3 -m venv work/venv
work/venv/bin/pip install -q --disable-pip-version-check datatrove ahocorasick_rs pyahocorasick regex tldextract fasteners orjson
cargo install ripgrep --locked --root work/rg -q
work/venv/bin/pip freeze | grep -iE '^(datatrove|ahocorasick|pyahocorasick|tldextract)' > work/versions.txt
work/rg/bin/rg --version | head -1 >> work/versions.txt
cat work/versions.txt
