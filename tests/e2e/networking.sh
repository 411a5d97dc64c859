#!/usr/bin/env bash
# Networking through the docker CLI: published ports (fixed, random, conflicts, closed at stop,
# kept across an endpoint kill -9), user networks with names and aliases, isolation between
# networks, an address kept across restart, the bad-input errors, and a container network on
# an existing host bridge. Everything the VCH made is gone after vic-machine delete.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 2 --memory 8GiB
capture docker pull "$BUSYBOX"
host_ip=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$host_ip" ] || host_ip=$(hostname -I | awk '{print $1}')
serve() {  # name text -> a busybox httpd serving `text` on port 80
  echo "mkdir -p /www && echo $1 > /www/index.html && httpd -f -p 80 -h /www"
}
port_open() { curl -s -m 3 -o /dev/null "http://$1/"; }
# "beyond the host": a network namespace at 10.251.0.2 behind a veth pair, routed by the host
outside() {
  ip netns del vic-e2e-out 2> /dev/null || true
  ip link del vic-e2e-o 2> /dev/null || true
  [ "$1" = up ] || return 0
  ip netns add vic-e2e-out
  ip link add vic-e2e-o type veth peer name vic-e2e-i
  ip link set vic-e2e-i netns vic-e2e-out
  ip addr add 10.251.0.1/24 dev vic-e2e-o && ip link set vic-e2e-o up
  ip netns exec vic-e2e-out sh -c 'ip addr add 10.251.0.2/24 dev vic-e2e-i && ip link set vic-e2e-i up && ip link set lo up'
}
outside up

# ---- published ports ----
capture docker run -d --name web -p 8080:80 "$BUSYBOX" sh -c "$(serve hello-web)"
expect_rc 0 "docker run -p 8080:80"
wait_until -i 0.2 60 "web's httpd answers on 127.0.0.1:8080" port_open 127.0.0.1:8080
expect_eq hello-web "$(curl -s -m 5 http://127.0.0.1:8080/)" "the published port serves on 127.0.0.1"
expect_eq hello-web "$(curl -s -m 5 "http://$host_ip:8080/")" "and on the host's address $host_ip"
capture docker port web
expect_eq "80/tcp -> 0.0.0.0:8080" "$out" "docker port shows the mapping"
capture docker ps --format '{{.Ports}}' --filter name=web
expect_eq "0.0.0.0:8080->80/tcp" "$out" "docker ps shows the ports column"
web_ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' web)
expect_match "$web_ip" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "inspect shows the container's IPAddress"
expect_match "$(docker inspect -f '{{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}' web)" \
  '^[0-9.]+ 02:42:' "inspect shows Gateway and MacAddress"
expect_eq hello-web "$(curl -s -m 5 "http://$web_ip/")" "the container is reachable at its bridge address"

capture docker run -d --name web2 -p 8080:80 "$BUSYBOX" sleep 100
expect_rc 125 "a second container asking for 8080 fails"
expect_contains "$out" "Bind for 0.0.0.0:8080 failed: port is already allocated" "with docker's message"
capture docker inspect -f '{{.State.Status}}' web2
expect_eq created "$out" "and stays created"

capture docker run -d --name rnd -p 80 "$BUSYBOX" sh -c "$(serve random-port)"
rnd_port=$(docker port rnd 80/tcp | head -1 | sed 's/.*://')
expect_match "$rnd_port" '^[0-9]+$' "-p 80 gets a random host port ($rnd_port)"
wait_until -i 0.2 60 "rnd's httpd answers on 127.0.0.1:$rnd_port" port_open "127.0.0.1:$rnd_port"
expect_eq random-port "$(curl -s -m 5 "http://127.0.0.1:$rnd_port/")" "the random port serves"

capture docker run -d --name all -P --expose 81 "$BUSYBOX" sleep 300
expect_match "$(docker port all)" '^81/tcp -> 0\.0\.0\.0:[0-9]+$' "-P publishes the exposed ports"

# a container reaches another's published port through the host's address
capture docker run --rm "$BUSYBOX" wget -qO- "http://$host_ip:8080/"
expect_eq hello-web "$out" "a container reaches a published port via the host address"

# the endpoint dies: the port still serves; after its restart it still does, and stop closes it
kill -9 "$(cat "$VCH_DIR/endpoint.pid")"
expect_eq hello-web "$(curl -s -m 5 http://127.0.0.1:8080/)" "the port serves while the endpoint is down"
"$VIC_MACHINE" restart --name "$E2E_NAME" > /dev/null
expect_eq hello-web "$(curl -s -m 5 http://127.0.0.1:8080/)" "and after the endpoint restarts"
capture docker port web
expect_eq "80/tcp -> 0.0.0.0:8080" "$out" "the mapping is restored"
capture docker stop -t 1 web
port_open 127.0.0.1:8080 && fail "the port is closed after docker stop" || pass "the port is closed after docker stop"
capture docker start web
wait_until -i 0.2 60 "web's httpd answers on 127.0.0.1:8080 again" port_open 127.0.0.1:8080
expect_eq hello-web "$(curl -s -m 5 http://127.0.0.1:8080/)" "and open again after docker start"
virsh -q destroy "$E2E_NAME-$(docker inspect -f '{{.Id}}' web | cut -c1-12)" > /dev/null
port_closed() { ! port_open "$1"; }
wait_until -i 0.2 30 "127.0.0.1:8080 is closed after web's VM was destroyed" port_closed 127.0.0.1:8080
port_open 127.0.0.1:8080 && fail "a VM powered off behind our back loses its port" || pass "a VM powered off behind our back loses its port"
capture docker rm -f web web2 rnd all
expect_rc 0 "the published containers are removed"

# ---- user networks ----
capture docker network create mynet
expect_rc 0 "docker network create mynet"
capture docker network create --subnet 10.123.0.0/24 --gateway 10.123.0.254 --label team=a other
expect_rc 0 "docker network create with --subnet, --gateway and a label"
capture docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.team}}' other
expect_eq "10.123.0.0/24 10.123.0.254 a" "$out" "network inspect shows the subnet, gateway and labels"
capture docker network ls --format '{{.Name}}' --filter type=custom
expect_eq $'mynet\nother' "$(sort <<< "$out")" "network ls --filter type=custom"
capture docker network create mynet
expect_contains "$out" "network with name mynet already exists" "a duplicate name is refused"
capture docker network create --subnet 10.123.0.128/25 overlap
expect_contains "$out" "Pool overlaps with other one on this address space" "an overlapping subnet is refused"
capture docker network inspect nosuch
expect_contains "$out" "network nosuch not found" "an unknown network"
capture docker run --rm --network nosuch "$BUSYBOX" true
expect_contains "$out" "network nosuch not found" "run on an unknown network"
capture docker run --rm --network other --ip 10.124.0.5 "$BUSYBOX" true
expect_contains "$out" "It does not belong to any of this network's subnets" "an address outside the subnet"
capture docker run -d -p 80-90:80 "$BUSYBOX" true
expect_contains "$out" "port ranges are not supported" "port ranges are refused clearly"

capture docker run -d --name srv --network mynet --network-alias alpha "$BUSYBOX" sh -c "$(serve from-srv)"
expect_rc 0 "a server on mynet with an alias"
capture docker run --rm --network mynet "$BUSYBOX" sh -c 'ping -c1 -W5 srv > /dev/null && echo by-name'
expect_eq by-name "$out" "a peer on mynet reaches it by name"
capture docker run --rm --network mynet "$BUSYBOX" sh -c 'for i in 1 2 3 4 5; do wget -qO- http://alpha/ && break; sleep 1; done'
expect_eq from-srv "$out" "and by alias (wget)"
capture docker run --rm --network mynet --link srv:db "$BUSYBOX" sh -c 'grep -w db /etc/hosts | cut -f2'
expect_eq db "$out" "--link puts the alias in /etc/hosts"
capture docker run --rm --network mynet --hostname myhost "$BUSYBOX" sh -c 'grep -w myhost /etc/hosts | cut -f2'
expect_eq myhost "$out" "a container's /etc/hosts names itself"
srv_ip=$(docker inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}}' srv)
capture docker run --rm --network other "$BUSYBOX" sh -c "ping -c1 -W3 srv; ping -c1 -W3 $srv_ip"
expect_ne_zero "$rc" "a container on another network cannot reach it"
expect_contains "$out" "bad address 'srv'" "nor resolve its name"
capture docker run --rm --network other --ip 10.123.0.77 "$BUSYBOX" ip -4 -o addr show eth0
expect_contains "$out" "10.123.0.77/24" "--ip gives the container that address"
capture docker run --rm --network other "$BUSYBOX" ping -c1 -W5 "$host_ip"
expect_rc 0 "containers reach the host (outbound)"
capture docker run --rm --network other "$BUSYBOX" ping -c1 -W5 10.251.0.2
expect_rc 0 "and, through NAT, a machine beyond it"

capture docker rename srv server
capture docker run --rm --network mynet "$BUSYBOX" sh -c 'ping -c1 -W5 server > /dev/null && echo renamed; ping -c1 -W2 srv > /dev/null 2>&1 || echo old-gone'
expect_eq $'renamed\nold-gone' "$out" "a renamed running container is found by its new name only"
capture docker rename server srv

# the address survives docker restart
ip_before=$(docker inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}}' srv)
capture docker restart -t 1 srv
ip_after=$(docker inspect -f '{{.NetworkSettings.Networks.mynet.IPAddress}}' srv)
expect_eq "$ip_before" "$ip_after" "a container keeps its IP across docker restart"

# connect/disconnect a running container: the NIC is hot-plugged and tether configures it
capture docker network connect --alias beta other srv
expect_rc 0 "network connect a running container"
capture docker exec srv ip -4 -o addr show eth1
expect_match "$out" "inet 10\.123\.0\.[0-9]+/24" "the running container has an address on the new network"
capture docker run --rm --network other "$BUSYBOX" sh -c 'ping -c1 -W5 beta > /dev/null && echo by-alias'
expect_eq by-alias "$out" "peers on the new network find it by its alias there"
capture docker network disconnect other srv
expect_rc 0 "network disconnect a running container"
capture docker exec srv sh -c 'ls /sys/class/net'
expect_contains "$out" "eth0" "the running container still has its first NIC"
expect_not_contains "$out" "eth1" "the NIC is gone from the running container"

# connect/disconnect a stopped container
capture docker create --name late --network mynet "$BUSYBOX" ip -4 -o addr
capture docker network connect --ip 10.123.0.50 other late
expect_rc 0 "network connect a created container"
capture docker start -a late
expect_contains "$out" "10.123.0.50/24" "it starts with a NIC on the second network"
capture docker network disconnect other late
expect_rc 0 "network disconnect"
capture docker start -a late
expect_not_contains "$out" "10.123.0" "and starts without it"
capture docker network rm mynet
expect_contains "$out" "has active endpoints" "a network with containers cannot be removed"
capture docker network rm bridge
expect_contains "$out" "bridge is a pre-defined network and cannot be removed" "nor the default bridge"
capture docker rm -f srv late
capture docker network rm mynet other
expect_rc 0 "docker network rm"
expect_eq "" "$(virsh -q net-list --all --name | grep "^$E2E_NAME-net-" || true)" "its bridges are gone"

# --network none, from a hostile root: on the instant clone path the VM still has the template's
# NIC (unbound, no carrier). Rebinding its driver and configuring it must reach nothing.
gw=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')
subnet=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}')
capture docker run --rm "$BUSYBOX" sh -c "ping -c1 -W3 $gw > /dev/null && echo reached"
expect_eq reached "$out" "a bridge container reaches the bridge's gateway"
capture docker run --rm --network none "$BUSYBOX" sh -c "ip -o link | grep -c ether;
  for d in /sys/bus/pci/devices/*; do
    [ \$(cat \$d/vendor) = 0x1af4 ] && [ \$(cat \$d/class) = 0x020000 ] && echo \${d##*/} > /sys/bus/pci/drivers/virtio-pci/bind
  done 2> /dev/null; sleep 1
  ip link set eth0 up 2> /dev/null; ip addr add ${gw%.*.*}.250.250/${subnet#*/} dev eth0 2> /dev/null
  ping -c1 -W3 $gw > /dev/null 2>&1 && echo reached || echo isolated"
expect_eq $'0\nisolated' "$out" "a --network none container has no NIC, and rebinding a hidden one reaches nothing"

# internal networks: no way out, but peers still see each other
capture docker network create --internal sealed
capture docker run --rm --network sealed "$BUSYBOX" ping -c1 -W3 10.251.0.2
expect_ne_zero "$rc" "a container on an --internal network reaches nothing beyond the host"
capture docker network rm sealed

# ---- a container network on an existing host bridge ----
br=vicbr-e2e$$
ip link add "$br" type bridge && ip addr add 10.222.0.1/24 dev "$br" && ip link set "$br" up
cn="$E2E_NAME-cn"
extra_vchs+=("$cn")
"$VIC_MACHINE" delete --name "$cn" --force > /dev/null 2>&1 || true
capture "$VIC_MACHINE" create --name "$cn" --container-network "$br:lan" --container-network-gateway lan:10.222.0.1/24 \
  --container-network-ip-range lan:10.222.0.128/25
expect_rc 0 "vic-machine create --container-network"
cn_dir=$("$VIC_MACHINE" inspect --name "$cn" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datastore"])')
(
  failures=0
  set -a; source "$cn_dir/$cn.env"; set +a
  capture docker network ls --format '{{.Name}} {{.Driver}}' --filter name=lan
  expect_eq "lan external" "$out" "the host bridge appears as docker network lan"
  capture docker run --rm --network lan "$BUSYBOX" sh -c 'ip -4 -o addr show eth0; ping -c1 -W5 10.222.0.1 > /dev/null && echo lan-ok'
  expect_contains "$out" "10.222.0.128/24" "a containerVM on it gets an address from the range"
  expect_contains "$out" "lan-ok" "and reaches the segment's router"
  exit "$failures"
) || failures=$((failures + $?))
capture "$VIC_MACHINE" delete --name "$cn" --force
expect_rc 0 "vic-machine delete of the container-network VCH"
ip link show "$br" > /dev/null 2>&1 && pass "the host's bridge is left alone" || fail "the host's bridge is left alone"
ip link del "$br" 2>/dev/null || true

# ---- delete removes every bridge and rule ----
capture docker network create leftover
capture docker run -d -p 8081:80 "$BUSYBOX" sleep 300
capture "$VIC_MACHINE" delete --name "$E2E_NAME" --force
expect_rc 0 "vic-machine delete --force"
expect_eq "" "$(virsh -q net-list --all --name | grep "^$E2E_NAME-" || true)" "no libvirt network of the VCH is left"
expect_eq "" "$(iptables-save | grep -i "VIC-$E2E_NAME" || true)" "no iptables rule or chain of the VCH is left"
outside down
