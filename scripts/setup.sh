#!/usr/bin/env bash
# Installs what smelter needs on Debian 12 and is missing: build tools and libraries (apt),
# and with --test the test-only tools (kcat and time from apt, for tests and bench/; DuckDB for Node from npm, in tests/node).
# Safe to run again: it only installs what is not there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

debs=(build-essential cmake pkg-config git
      librdkafka-dev libjansson-dev libyaml-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
      libbrotli-dev
      libprotobuf-c-dev protobuf-c-compiler libavro-dev libmicrohttpd-dev)
if [ "$want_test" = 1 ]; then
    debs+=(libcunit1-dev kcat time clang libclang-rt-14-dev)
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || debs+=(nodejs npm)
fi

missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$want_test" = 1 ] && [ -f tests/node/package.json ]; then
    if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
        echo "setup: npm install (test-only tools) in tests/node" >&2
        (cd tests/node && npm install --no-audit --no-fund --loglevel=error >/dev/null)
        touch tests/node/node_modules
    fi
fi
