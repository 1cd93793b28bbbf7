#!/usr/bin/env bash
# Debian packages Vigil runs against locally. Installs them as root; otherwise says in one line what to install.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# Sentinel watches the Redis primary and promotes a replica when it dies (`vigil services up --sentinels 3`).
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
# The nginx template clears every client-sent X-Auth-* header with headers-more's wildcard.
[ -f /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so ] || need+=(libnginx-mod-http-headers-more-filter)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# The console's browser tests drive headless Chromium (Playwright with the system browser, never a download).
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# The shipper tests run rsyslog (imfile, omfwd, omelasticsearch) as their own process with their own config.
# syslog-ng is not installed: Debian's syslog-ng-core and rsyslog conflict (both provide system-log-daemon); the
# tests run it unpacked under $VIGIL_HOME/tools, with Filebeat built from the Go module proxy (shipper-tools.sh).
command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
[ -f /usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so ] || [ -f /usr/lib/rsyslog/omelasticsearch.so ] || need+=(rsyslog-elasticsearch)
[ -f /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ -f /usr/lib/rsyslog/lmnsd_gtls.so ] || need+=(rsyslog-gnutls)
# The transparency report's PDF is rendered by WeasyPrint (Pango) and its text checked with pdftotext.
[ -f /usr/lib/x86_64-linux-gnu/libpango-1.0.so.0 ] || need+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list 2>/dev/null | head -1)" ] || need+=(fonts-dejavu-core fontconfig)
shipper_tools() {
  # Best effort: a missing tool fails the shipper tests (which also run this), never the rest of the set-up.
  bash "$(dirname "$0")/shipper-tools.sh" syslog-ng filebeat >/dev/null || echo "vigil: shipper tools not ready" >&2
}
if [ ${#need[@]} -eq 0 ]; then shipper_tools; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "vigil: missing system packages; run: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
# The Debian packages start their own daemons on the default ports; Vigil runs its own on project ports.
for svc in redis-server redis-sentinel nginx rsyslog; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  service "$svc" stop >/dev/null 2>&1 || true
done
echo "vigil: installed ${need[*]}"
shipper_tools
