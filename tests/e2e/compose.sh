#!/usr/bin/env bash
# docker-compose (Debian's 1.29) against a VCH: a three-service app on two networks with a named
# volume, a published port, a health-checked dependency and restart: on-failure (compose/app.yml);
# ps, logs, exec, run --rm, --scale, stop/start/restart, down -v leaving nothing behind; and
# compose files with what a VCH does not do (bind mounts) refused clearly; build: through docker build.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch
# The machines this runs on set REQUESTS_CA_BUNDLE, which makes docker-py ignore DOCKER_CERT_PATH's
# CA; a user's shell does not have it.
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
capture docker pull "$BUSYBOX"
export BUSYBOX
WEB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export WEB_PORT
cd "$(dirname "$0")/compose"
dc() { docker-compose -p shop -f app.yml "$@"; }

capture dc up -d
expect_rc 0 "docker-compose up -d (db healthy before api starts)"
capture docker inspect -f '{{.State.Health.Status}}' shop_db_1
expect_eq "healthy" "$out" "the health-checked dependency is healthy"
capture docker ps --format '{{.Names}} {{.Status}}' --filter name=shop_db_1
expect_match "$out" "^shop_db_1 Up .* \(healthy\)$" "docker ps shows (healthy)"
capture dc ps
expect_rc 0 "docker-compose ps"
for s in db api web; do expect_match "$out" "shop_${s}_1 .* Up" "compose ps lists $s as up"; done

# web (front) -> api (front+back) -> db (back, as "database"): each by its name on its network.
wait_until 120 "web serves db's data through api" output_has dbdata curl -sf "http://127.0.0.1:$WEB_PORT/"
capture docker exec shop_web_1 nslookup db
expect_ne_zero "$rc" "web (front only) cannot resolve db (back only)"
capture docker exec shop_api_1 sh -c 'wget -q -O- http://db/ && wget -q -O- http://web/ >/dev/null && echo both'
expect_contains "$out" "both" "api resolves services on both of its networks"
capture docker exec shop_api_1 sh -c 'echo $ROLE $FROM_FILE'
expect_eq "api yes" "$out" "environment and env_file"
capture docker inspect -f '{{index .Config.Labels "tier"}} {{index .Config.Labels "com.docker.compose.service"}}' shop_db_1
expect_eq "data db" "$out" "labels from the file and compose's own"
capture docker network ls --format '{{.Name}}' --filter name=shop_
expect_eq $'shop_back\nshop_front' "$(sort <<< "$out")" "compose made its two networks"
capture docker volume ls --format '{{.Name}}' --filter name=shop_
expect_eq "shop_data" "$out" "compose made its named volume"

capture dc logs --no-color db
expect_rc 0 "docker-compose logs"
capture dc exec -T db cat /data/www/index.html
expect_match "$out" "^dbdata [0-9]+" "docker-compose exec"
dbdata=$out
capture dc run --rm -T api sh -c 'wget -q -O- http://database/'
expect_contains "$out" "$dbdata" "docker-compose run --rm reaches db by its alias"
capture docker ps -a --format '{{.Names}}' --filter name=shop_api_run
expect_eq "" "$out" "run --rm left no container"

# restart: on-failure brings api back after it fails (exit 3)
capture docker exec shop_api_1 touch /tmp/die
wait_until 60 "api restarted by its policy" output_is "1 running" docker inspect -f '{{.RestartCount}} {{.State.Status}}' shop_api_1
capture docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' shop_api_1
expect_eq "on-failure" "$out" "restart policy from the file"

capture dc up -d --scale api=2
expect_rc 0 "docker-compose up -d --scale api=2"
capture docker inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' shop_api_1 shop_api_2
expect_match "$out" "^/shop_api_1 [0-9.]+ [0-9.]+ ?"$'\n'"/shop_api_2 [0-9.]+ [0-9.]+ ?$" "two api containers, each on both networks"
ips=$(awk '{print $2; print $3}' <<< "$out" | sort | uniq -d)
expect_eq "" "$ips" "the scaled containers have distinct addresses"
capture dc up -d --scale api=1
expect_rc 0 "scaled back to one api"

capture dc stop
expect_rc 0 "docker-compose stop"
capture docker ps -q --filter name=shop_
expect_eq "" "$out" "nothing runs after stop"
capture dc start
expect_rc 0 "docker-compose start"
wait_until 120 "web serves again after start" output_has dbdata curl -sf "http://127.0.0.1:$WEB_PORT/"
capture dc restart web
expect_rc 0 "docker-compose restart web"
wait_until 120 "web serves after its restart" output_has "$dbdata" curl -sf "http://127.0.0.1:$WEB_PORT/"

capture dc down -v
expect_rc 0 "docker-compose down -v"
capture docker ps -aq
expect_eq "" "$out" "down left no container"
capture docker network ls --format '{{.Name}}' --filter name=shop_
expect_eq "" "$out" "down left no network"
capture docker volume ls -q
expect_eq "" "$out" "down -v left no volume"
expect_eq "" "$(iptables-save | grep -- "--dport $WEB_PORT" || true)" "down left no iptables rule for the published port"

# What a VCH does not do is refused with a reason, not ignored.
capture docker-compose -p bad -f bind.yml up -d
expect_ne_zero "$rc" "a host bind mount is refused"
expect_contains "$out" "bind mounts of host directories are not supported" "and says why"
docker-compose -p bad -f bind.yml down > /dev/null 2>&1 || true

# build: goes through docker build on the VCH.
capture docker-compose -p made -f build.yml build
expect_rc 0 "docker-compose build"
capture docker-compose -p made -f build.yml run --rm built
expect_eq "composed here" "$(tail -n 1 <<< "$out")" "the service runs the image compose built (with its build args)"
docker-compose -p made -f build.yml down --rmi local > /dev/null 2>&1 || true
