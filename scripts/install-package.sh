#!/usr/bin/env bash
# Installs a system tool the tests or benches need: install-package.sh COMMAND [PACKAGE]
# (redis-server for the test suite, promtool from prometheus for the alert rules, wrk for the benches).
set -euo pipefail
command_name="$1"
package="${2:-$1}"
if command -v "$command_name" >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
elif command -v brew >/dev/null 2>&1; then
  brew install "$package"
else
  echo "install-package: no apt-get or brew; install $package yourself" >&2
  exit 1
fi
