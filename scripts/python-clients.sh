#!/usr/bin/env bash
# Real Python clients against this server: the official Python MCP SDK (PyPI `mcp`, pinned) runs
# scripts/python-client.py against a sandbox server (temp dirs, port 0) over HTTP (2026-07-28 and legacy) and stdio.
# Exits non-zero when any check fails.
#
# The SDK goes into a venv at .cache/pyvenv (gitignored), installed on first run only. Needs python3 with
# venv/ensurepip (Debian: apt-get install python3-venv). Where pypi.org does not resolve and pip finds the packages in
# a configured extra index, pip's 5 retries per package make that install take ~4 min; PIP_RETRIES=1 makes it ~15 s.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sandbox-server.sh

MCP_PY_VERSION=2.3.0
VENV=.cache/pyvenv
PY="$VENV/bin/python"

installed=""
[ -x "$PY" ] && installed=$("$PY" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null || true)
if [ "$installed" != "$MCP_PY_VERSION" ]; then
  if [ ! -x "$PY" ]; then
    python3 -c 'import venv, ensurepip' 2>/dev/null || {
      echo "python-clients: python3 cannot create a venv (Debian: apt-get install python3-venv)" >&2; exit 1; }
    echo "python-clients: creating $VENV" >&2
    python3 -m venv "$VENV"
  fi
  echo "python-clients: pip install mcp==$MCP_PY_VERSION into $VENV (was: ${installed:-none})" >&2
  started=$SECONDS
  "$PY" -m pip install --quiet --disable-pip-version-check "mcp==$MCP_PY_VERSION" >&2
  echo "python-clients: installed in $((SECONDS - started))s" >&2
fi

npm run --silent build

work=$(mktemp -d)
trap 'stop_sandbox_server; rm -rf "$work"' EXIT
start_sandbox_server "$work" || { echo "python-clients: server did not start" >&2; exit 1; }
echo "python-clients: server at $url (mcp $MCP_PY_VERSION, $("$PY" --version))"

rc=0
# A hard stop on top of the script's own per-step and total timeouts.
timeout 300 "$PY" scripts/python-client.py "$url" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "python-clients: FAILED (exit $rc); server log:" >&2
  tail -n 50 "$work/server.log" >&2
  exit 1
fi
echo "python-clients: passed"
