#!/usr/bin/env sh
# Installs MDN HTTP Observatory 1.4.8 (algorithm 4) offline, for rampart's golden
# compatibility test (test/audit/observatory.golden.test.ts). Idempotent.
#
# --ignore-scripts: its postinstall downloads Chromium's HSTS preload list and
# IANA's TLD list from the Internet; we create those two data files ourselves:
# an empty preload map (so no host is "preloaded", as in rampart's default) and a
# small TLD list (only the API server reads it; the CLI scan never does).
# --engine-strict=false: a few of its dependencies declare node >= 22; the scan
# path runs on Node 20.
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/@mdn/mdn-http-observatory/package.json ] ||
   ! grep -q '"version": "1.4.8"' node_modules/@mdn/mdn-http-observatory/package.json; then
  npm ci --ignore-scripts --engine-strict=false --no-audit --no-fund
fi
conf=node_modules/@mdn/mdn-http-observatory/conf
[ -f "$conf/hsts-preload.json" ] || echo '{}' > "$conf/hsts-preload.json"
[ -f "$conf/tld-list.json" ] || echo '["com","net","org","test"]' > "$conf/tld-list.json"
echo "MDN HTTP Observatory $(node -p "require('./node_modules/@mdn/mdn-http-observatory/package.json').version") ready:"
echo "  NODE_EXTRA_CA_CERTS=ca.pem node $(pwd)/node_modules/@mdn/mdn-http-observatory/src/scan.js HOST[:PORT]"
