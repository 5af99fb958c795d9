#!/usr/bin/env bash
# Make sure the system libraries WeasyPrint needs (Pango, HarfBuzz subsetting) are present.
# Installs them with apt-get when we can (root, Debian/Ubuntu); otherwise prints the exact command.
# With "browser" as argument, also Chromium, and Node.js with npm (for axe-core), for the
# preview's browser tests.
set -euo pipefail

packages=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libpango-1.0.so.0' || packages+=(libpango-1.0-0)
have_lib 'libpangoft2-1.0.so.0' || packages+=(libpangoft2-1.0-0)
have_lib 'libharfbuzz-subset.so.0' || packages+=(libharfbuzz-subset0)
if [[ "${1:-}" == "browser" ]]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || packages+=(poppler-utils)
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

[[ ${#packages[@]} -eq 0 ]] && exit 0

command="apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
else
  echo "Missing system packages: ${packages[*]}. Install them with:" >&2
  echo "    sudo sh -c '$command'" >&2
  exit 1
fi
