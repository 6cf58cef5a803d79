#!/usr/bin/env bash
# Prepare everything ocppemu's tests need, on a fresh Debian machine or an already prepared one.
#
#   scripts/setup.sh            # venv at ./.venv (or $OCPPEMU_VENV), Python deps, Debian chromium, npm harness
#
# Idempotent: each step is skipped when its result is already there and its inputs did not change
# (set OCPPEMU_SETUP_FORCE=1 to redo them). Runs as root without sudo, or as a user with sudo for apt-get.
# Never downloads a browser build: the browser tests use Debian's /usr/bin/chromium via npm playwright-core.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OCPPEMU_VENV:-$ROOT/.venv}"
FORCE="${OCPPEMU_SETUP_FORCE:-0}"
CHROMIUM=/usr/bin/chromium
HARNESS="$ROOT/tests/browser"
# Packages of the notebook workbench, installed directly until pyproject.toml declares them as the extra `ui`.
UI_PACKAGES=(jupyterlab ipywidgets voila plotly anywidget nbmake)

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export DEBIAN_FRONTEND=noninteractive

say() { printf 'setup: %s\n' "$*"; }

# Hash of the files a step depends on; the step re-runs when it changes.
fingerprint() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Python virtualenv --------------------------------------------------------------------------------------------
PYTHON="${OCPPEMU_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

py_stamp="$VENV/.ocppemu-setup"
py_want="$(fingerprint "$ROOT/pyproject.toml" "$ROOT/scripts/setup.sh")"
if [ "$FORCE" = 1 ] || [ "$(cat "$py_stamp" 2>/dev/null)" != "$py_want" ]; then
  if grep -Eq '^[[:space:]]*ui[[:space:]]*=' "$ROOT/pyproject.toml"; then
    # ray: the cluster tests (tests/cluster/) run a local Ray cluster; without it they are skipped
    say "installing ocppemu (editable) with extras dev,ui,load,ray into $VENV"
    "$VENV/bin/python" -m pip install -q -e "$ROOT[dev,ui,load,ray]"
  else
    say "installing ocppemu (editable) with extra dev, plus ${UI_PACKAGES[*]} (no extra 'ui' yet) into $VENV"
    "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]" "${UI_PACKAGES[@]}"
  fi
  echo "$py_want" > "$py_stamp"
else
  say "python packages up to date in $VENV"
fi

# --- Debian chromium ----------------------------------------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  say "installing Debian chromium (apt-get)"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
else
  say "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
fi

# --- npm browser driver (playwright-core only; it never downloads a browser) --------------------------------------
npm_stamp="$HARNESS/node_modules/.ocppemu-setup"
npm_want="$(fingerprint "$HARNESS/package.json" "$HARNESS/package-lock.json")"
if [ "$FORCE" = 1 ] || [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
  say "installing the browser driver's npm packages in tests/browser"
  if [ -f "$HARNESS/package-lock.json" ]; then
    (cd "$HARNESS" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$HARNESS" && npm install --no-audit --no-fund --loglevel=error)
  fi
  echo "$npm_want" > "$npm_stamp"
else
  say "npm packages up to date in tests/browser"
fi

say "done in ${SECONDS}s"
