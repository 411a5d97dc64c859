#!/usr/bin/env bash
# The host reboots. Simulated here: every QEMU, every VCH's endpoint, libvirtd and virtlogd
# die at once; what a reboot wipes goes (/run/vic, /run/libvirt, the machine cgroup
# partitions, libvirt's bridges, libvirt's and the VCHs' iptables chains). Then the host
# starts as a booting host without systemd would: virtlogd, libvirtd, `vic-machine restart
# --all` (docs/hosts.md). Every VCH on the machine answers again; containers are where docker
# leaves them after a reboot: `--restart always` ones running, others exited, --rm ones gone,
# volumes with their data; a published port serves again once its container starts.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 1 --memory 8g
# The pool's limits as the host's cgroups hold them: "<cpu quota> <memory limit>"
pool_limits() {
  local d=/sys/fs/cgroup/cpu/machine/$E2E_NAME.partition m=/sys/fs/cgroup/memory/machine/$E2E_NAME.partition
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    echo "$(cut -d' ' -f1 "/sys/fs/cgroup/machine/$E2E_NAME.partition/cpu.max") $(cat "/sys/fs/cgroup/machine/$E2E_NAME.partition/memory.max")"
  else
    echo "$(cat "$d/cpu.cfs_quota_us") $(cat "$m/memory.limit_in_bytes")"
  fi
}
expect_eq "100000 8589934592" "$(pool_limits)" "the resource pool has the VCH's limits"

serve() { echo "mkdir -p /www && echo $1 > /www/index.html && httpd -f -p 80 -h /www"; }
port_open() { curl -s -m 3 -o /dev/null "http://$1/"; }
web_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

capture docker volume create kept
expect_rc 0 "docker volume create"
capture docker run --rm -v kept:/data "$BUSYBOX" sh -c 'echo written-before > /data/f'
expect_rc 0 "a file written to a volume"
capture docker run --name done-before "$BUSYBOX" sh -c 'echo before; exit 3'
expect_rc 3 "a container that ended before the reboot"
capture docker create --name never-started "$BUSYBOX" true
expect_rc 0 "docker create"
capture docker run -d --name web -p "$web_port:80" "$BUSYBOX" sh -c "$(serve hello-reboot)"
expect_rc 0 "docker run -p $web_port:80"
# (sync: a host that loses power loses what a guest had not written out, as any VM's would)
capture docker run -d --name comes-back --restart always "$BUSYBOX" sh -c 'date +%s%N >> /runs; sync; exec sleep 600'
expect_rc 0 "docker run --restart always"
capture docker run -d --rm --name removed "$BUSYBOX" sleep 600
expect_rc 0 "docker run --rm -d"
wait_until -i 0.2 60 "web answers on 127.0.0.1:$web_port" port_open "127.0.0.1:$web_port"

# Every VCH on the machine goes down with the host; each must come back.
mapfile -t vchs < <("$VIC_MACHINE" ls | awk 'NR > 1 && $2 == "running" { print $1 }')
expect_contains " ${vchs[*]} " " $E2E_NAME " "vic-machine ls lists this VCH as running"
bridges=$(for n in $(virsh net-list --name); do virsh net-info "$n" | awk '/^Bridge:/ { print $2 }'; done)

log "the host goes down: QEMU, endpoints, vicadmins, libvirtd and virtlogd killed; /run, cgroups, bridges, chains wiped"
pkill -9 -f 'bin/vic-endpoint|/vic-endpoint ' || true
pkill -9 -f 'bin/vic-admin|/vic-admin ' || true
pkill -9 -x libvirtd || true
pkill -9 -x virtlogd || true
pkill -9 -f '^/usr/bin/qemu-system' || true
pkill -9 -f 'dnsmasq --conf-file=/var/lib/libvirt/dnsmasq/' || true
pkill -9 -f '^qemu-storage-daemon|/qemu-storage-daemon ' || true
wait_until 30 "no QEMU is left" sh -c '! pgrep -f "^/usr/bin/qemu-system" > /dev/null'
rm -rf /run/vic /run/libvirt
# (a killed QEMU leaves its cgroups once it is reaped)
remove_machine_cgroups() {
  for h in /sys/fs/cgroup/*/machine /sys/fs/cgroup/machine; do
    if [ -d "$h" ]; then find "$h" -depth -type d -exec rmdir {} + 2> /dev/null || true; fi
  done
  ! ls -d /sys/fs/cgroup/*/machine /sys/fs/cgroup/machine 2> /dev/null
}
wait_until 30 "no machine cgroup partition is left" remove_machine_cgroups
for br in $bridges; do ip link del "$br" 2> /dev/null || true; done
for table in nat filter mangle; do
  iptables-save -t "$table" | grep -v -e 'LIBVIRT_' -e '-j VIC-' -e ':VIC-' -e '-A VIC-' | iptables-restore -T "$table"
done
capture docker ps
expect_ne_zero "$rc" "the VCH is down"

log "the host boots"
virtlogd -d
"$VIC_ROOT/ci/start-libvirtd"
capture "$VIC_MACHINE" restart --all
expect_rc 0 "vic-machine restart --all"
capture "$VIC_MACHINE" ls
for v in "${vchs[@]}"; do
  if grep -qE "^$v +running" <<< "$out"; then pass "VCH $v is running again"; else fail "VCH $v is not running: $out"; fi
done

expect_eq "100000 8589934592" "$(pool_limits 2>&1)" "the resource pool is back with the VCH's limits"
admin_url=$("$VIC_MACHINE" inspect --name "$E2E_NAME" | sed -n "s/^The VCH's admin page (vicadmin): //p")
capture curl -sS -m 20 --cacert "$DOCKER_CERT_PATH/ca.pem" --cert "$DOCKER_CERT_PATH/cert.pem" --key "$DOCKER_CERT_PATH/key.pem" "${admin_url}api/status"
expect_contains "$out" '"healthy": true' "vicadmin is back too, every check green (${admin_url})"
capture docker ps -a --format '{{.Names}}|{{.Status}}'
expect_match "$out" "done-before\|Exited \(3\)" "a container that ended before keeps its exit code"
expect_match "$out" "never-started\|Created" "a created container is still created"
expect_match "$out" "web\|Exited \(137\)" "a running container without a policy is exited (killed)"
expect_not_contains "$out" "removed" "an --rm container that was running is removed"
wait_until 90 "comes-back (--restart always) runs again" \
  output_is "running 1" docker inspect -f '{{.State.Status}} {{.RestartCount}}' comes-back
wait_until 30 "comes-back's second run has written to the disk its first run wrote to" \
  output_is 2 docker exec comes-back sh -c 'wc -l < /runs'
capture docker logs done-before
expect_eq before "$out" "output from before the reboot"

capture docker run --rm -v kept:/data "$BUSYBOX" cat /data/f
expect_eq written-before "$out" "the volume kept its data"
capture docker start web
expect_rc 0 "docker start web"
wait_until -i 0.2 60 "web answers on 127.0.0.1:$web_port again" port_open "127.0.0.1:$web_port"
expect_eq hello-reboot "$(curl -s -m 5 "http://127.0.0.1:$web_port/")" "the published port serves again"
capture docker run --rm "$BUSYBOX" echo after-reboot
expect_eq after-reboot "$out" "a new container runs"
capture docker rm -f web comes-back
expect_rc 0 "docker rm -f"
