#!/usr/bin/env bash
# Throughput through a published port, next to the same server reached directly, in one run:
# a busybox httpd in a containerVM with -p 8080:80, measured with
#   - many small requests (ab: requests per second, 4 concurrent), and
#   - one 100 MB download (curl: MB/s),
# reached (1) directly at the containerVM's bridge address, (2) through the published port on
# 127.0.0.1 and (3) on the host's own address (iptables DNAT), and (4) through a userspace
# proxy (socat, one process per connection as docker-proxy would be) for the design choice.
# Usage: bench/ports.sh [requests]   (as root, after ci/setup; default 2000 requests)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
requests=${1:-2000}
bench_start bench-ports
bench_cleanup_hook='[ -z "${proxy_pid:-}" ] || kill "$proxy_pid" 2> /dev/null || true'
bench_vch
docker pull -q "$image" > /dev/null
docker run -d --name web -p 8080:80 --memory 1g "$image" sh -c \
  'mkdir -p /www && echo small > /www/small.txt && dd if=/dev/urandom of=/www/big bs=1M count=100 2>/dev/null && touch /www/ready && httpd -f -p 80 -h /www' > /dev/null
direct=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' web)
for _ in $(seq 300); do curl -sf -o /dev/null "http://$direct/ready" && break; sleep 0.5; done
host_ip=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$host_ip" ] || host_ip=$(hostname -I | awk '{print $1}')
if command -v socat > /dev/null; then
  socat TCP-LISTEN:8090,fork,reuseaddr "TCP:$direct:80" & proxy_pid=$!
  sleep 0.3
fi

rps() { ab -q -k -n "$requests" -c 4 "http://$1/small.txt" 2> /dev/null | awk '/Requests per second/ {printf "%.0f", $4}'; }
mbps() {  # the median of three 100 MB downloads
  for _ in 1 2 3; do curl -s -o /dev/null -w '%{speed_download}\n' "http://$1/big"; done |
    sort -n | sed -n 2p | awk '{printf "%.1f", $1 / 1e6}'
}

printf '%-40s %14s %12s\n' "path to the containerVM's httpd" "small req/s" "100 MB MB/s"
row() { printf '%-40s %14s %12s\n' "$1" "$(rps "$2")" "$(mbps "$2")"; }
row "direct: $direct:80 (baseline)" "$direct"
row "published: 127.0.0.1:8080 (DNAT)" "127.0.0.1:8080"
row "published: $host_ip:8080 (DNAT)" "$host_ip:8080"
if [ -n "${proxy_pid:-}" ]; then row "userspace proxy: socat 127.0.0.1:8090" "127.0.0.1:8090"
else printf '%-40s %14s %12s\n' "userspace proxy (socat not installed)" "-" "-"; fi
row "direct again (the run's noise)" "$direct"
