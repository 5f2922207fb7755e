#!/usr/bin/env bash
# Install the local storage servers the test suite starts into .tools/ (git-ignored). Idempotent: a tool
# already installed at the wanted version is left alone, so re-running costs a second.
#
#   .tools/azurite     npm package azurite (Azure Blob emulator), run with node
#   .tools/localstack  a virtual environment with LocalStack (S3 that checks presigned signatures);
#                      it pins its own boto3, so it cannot share the project's .venv
#
#   chromium           Debian's chromium (the browser tests drive it headless), installed with apt-get when
#                      it is missing and we are root; otherwise those tests are skipped and say why
#
# fake-gcs-server and moto come with the project's test dependencies (.venv), nothing to do here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
PYTHON="${PYTHON:-python3}"

AZURITE_VERSION="3.37.0"
# 4.14+ needs Python 3.13; without the three pins LocalStack's S3 service does not load.
LOCALSTACK_REQUIREMENTS=("localstack-core[runtime]==4.13.1" "cbor2<6" "pyopenssl<26" "service_identity")

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' not found on PATH; $2" >&2; exit 1; }
}

install_azurite() {
    local dir="$TOOLS/azurite"
    local manifest="$dir/node_modules/azurite/package.json"
    need node "Azurite runs on Node.js (20 or newer)"
    need npm "it installs Azurite"
    if [[ -f "$manifest" ]] && [[ "$(node -p 'require(process.argv[1]).version' "$manifest")" == "$AZURITE_VERSION" ]]; then
        echo "azurite $AZURITE_VERSION: already installed"
        return
    fi
    echo "azurite $AZURITE_VERSION: installing into .tools/azurite (about 30 s)"
    mkdir -p "$dir"
    # --loglevel=error: azurite 3.37 declares node>=22 but runs on node 20; the EBADENGINE warnings are noise.
    npm install --prefix "$dir" --no-audit --no-fund --no-update-notifier --save-exact --loglevel=error \
        "azurite@$AZURITE_VERSION"
}

if [[ "${1:-}" == "azurite" ]]; then  # `scripts/install_tools.sh azurite`: Azurite alone, for scripts/demo
    mkdir -p "$TOOLS"
    install_azurite
    exit 0
fi

install_localstack() {
    local venv="$TOOLS/localstack"
    local stamp="$venv/.byos-requirements"
    local wanted
    wanted="$(printf '%s\n' "${LOCALSTACK_REQUIREMENTS[@]}")"
    if [[ -x "$venv/bin/python" && -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$wanted" ]]; then
        echo "localstack: already installed ($(head -n 1 "$stamp"))"
        return
    fi
    need "$PYTHON" "LocalStack needs Python 3.11 or 3.12 for its virtual environment"
    echo "localstack: installing into .tools/localstack (about 2 minutes)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${LOCALSTACK_REQUIREMENTS[@]}"
    printf '%s\n' "$wanted" >"$stamp"  # written last: an interrupted install is redone next time
}

install_chromium() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            echo "chromium: already installed ($name)"
            return
        fi
    done
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "chromium: not installed and cannot install it here (needs root and apt-get); browser tests will skip"
        return
    fi
    echo "chromium: installing Debian's chromium with apt-get (about 1 minute)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
        echo "chromium: apt-get could not install it; browser tests will skip" >&2
    fi
}

mkdir -p "$TOOLS"
install_azurite
install_localstack
install_chromium
