#!/usr/bin/env bash
# Shippers the tests run as our own processes, kept under $VIGIL_HOME/tools (never installed system-wide, never
# committed): syslog-ng unpacked from Debian's packages (syslog-ng-core conflicts with rsyslog as an installed
# package, but runs from any folder), and Filebeat built from the Go module proxy (elastic/beats, pinned).
# Usage: shipper-tools.sh [syslog-ng|filebeat]...  (both when none is named). Prints the path of each tool.
set -euo pipefail
home="$(realpath -m "${VIGIL_HOME:-.vigil}")/tools"
SYSLOG_NG_VERSION=3.38.1
FILEBEAT_VERSION=v7.17.29

syslog_ng() {
  local root="$home/syslog-ng-$SYSLOG_NG_VERSION"
  if [ ! -x "$root/usr/sbin/syslog-ng" ]; then
    local debs
    debs="$(mktemp -d)"
    # The daemon, its HTTP module and SCL (elasticsearch-http), and the libraries Debian 12 does not ship by default.
    (cd "$debs" && apt-get download -q syslog-ng-core syslog-ng-mod-http syslog-ng-scl libivykis0 libnet1 libpcre3 \
      libwrap0 >/dev/null 2>&1) || { echo "shipper-tools: apt-get download of syslog-ng failed" >&2; exit 1; }
    mkdir -p "$root.partial"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root.partial"; done
    rm -rf "$debs" "$root" && mv "$root.partial" "$root"
  fi
  echo "$root/usr/sbin/syslog-ng"
}

filebeat() {
  local dir="$home/filebeat-$FILEBEAT_VERSION"
  if [ ! -x "$dir/filebeat" ]; then
    command -v go >/dev/null 2>&1 || { echo "shipper-tools: Go is not installed" >&2; exit 1; }
    # beats declares replace directives, so `go install module@version` refuses it: fetch the module (checked
    # against the Go checksum database), then build filebeat inside a writable copy.
    local src
    src="$(go mod download -json "github.com/elastic/beats/v7@$FILEBEAT_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [ -n "$src" ] || { echo "shipper-tools: go mod download of beats $FILEBEAT_VERSION failed" >&2; exit 1; }
    mkdir -p "$dir" && rm -rf "$dir/src" && cp -r "$src" "$dir/src" && chmod -R u+w "$dir/src"
    # Go >= 1.23 refuses the go:linkname uses of beats' 2022-era dependencies unless the check is off.
    (cd "$dir/src" && GOFLAGS=-mod=mod GOTOOLCHAIN=local timeout 1500 \
      go build -ldflags=-checklinkname=0 -o "$dir/filebeat" ./filebeat) \
      || { echo "shipper-tools: go build of filebeat $FILEBEAT_VERSION failed" >&2; exit 1; }
    rm -rf "$dir/src"
  fi
  echo "$dir/filebeat"
}

for tool in "${@:-syslog-ng filebeat}"; do
  for name in $tool; do
    case "$name" in
      syslog-ng) syslog_ng ;;
      filebeat) filebeat ;;
      *) echo "shipper-tools: unknown tool $name" >&2; exit 2 ;;
    esac
  done
done
