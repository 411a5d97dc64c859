#!/usr/bin/env bash
# Registries beyond loopback: the fixture's TLS registry (a certificate of its own test CA) and a
# plain-HTTP one, both on the host's non-loopback address (so neither is a loopback registry,
# which always gets plain HTTP). Without configuration a pull from either fails in docker's words
# (x509: certificate signed by unknown authority; server gave HTTP response to HTTPS client);
# vic-machine configure --insecure-registry makes both work (https without verification, then the
# plain-HTTP fallback) for pull, push and login, and docker info lists them; --registry-ca makes
# the TLS registry verified for pull, login, push and a docker build's FROM.
source "$(dirname "$0")/lib.sh"
start_registry
TLS=$(cat "$REGISTRY_DIR/tlsaddr")
PLAIN=$(cat "$REGISTRY_DIR/hostaddr")
CA=$REGISTRY_DIR/ca.pem
DOCKER_CONFIG=/tmp/$E2E_NAME.docker-config  # docker login's credentials stay with this test
rm -rf "$DOCKER_CONFIG" && mkdir -p "$DOCKER_CONFIG"
export DOCKER_CONFIG
create_vch --cpu 2 --memory 2GiB
R=e2e-$$-$RANDOM  # repositories of this run only

insecure_section() {  # the lines docker info prints under "Insecure Registries:"
  docker info 2>/dev/null | sed -n '/^ Insecure Registries:/,/^ [A-Z]/p' | sed '1d;$d' | sed 's/^ *//' | sort | tr '\n' ' '
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
configure() {
  capture "$VIC_MACHINE" configure --name "$E2E_NAME" "$@"
  expect_rc 0 "vic-machine configure $*"
}

# ---- nothing configured ----
capture docker pull "$TLS/test/busybox"
expect_ne_zero "$rc" "a pull from a TLS registry whose CA nobody gave fails"
expect_contains "$out" "Get \"https://$TLS/v2/test/busybox/manifests/latest\": tls: failed to verify certificate: x509: certificate signed by unknown authority" \
  "with Go's x509 words"
capture docker pull "$PLAIN/test/busybox"
expect_ne_zero "$rc" "a pull from a plain-HTTP registry beyond loopback fails"
expect_contains "$out" "Get \"https://$PLAIN/v2/test/busybox/manifests/latest\": http: server gave HTTP response to HTTPS client" \
  "it was asked over https, in dockerd's words"
expect_eq "$(sorted 127.0.0.0/8 ::1/128)" "$(insecure_section)" "docker info: only the loopback ranges are insecure"

# ---- both insecure: https without verification, then plain http ----
configure --insecure-registry "$PLAIN" --insecure-registry "https://$TLS"
expect_eq "$(sorted 127.0.0.0/8 ::1/128 "$PLAIN" "$TLS")" "$(insecure_section)" "docker info lists the insecure registries"
capture docker pull "$PLAIN/test/busybox"
expect_rc 0 "an insecure plain-HTTP registry: pull over the http fallback"
capture docker pull "$TLS/test/layers"
expect_rc 0 "an insecure TLS registry: pull with its certificate unverified"
docker tag "$PLAIN/test/busybox" "$PLAIN/$R/pushed:1"
capture docker push "$PLAIN/$R/pushed:1"
expect_rc 0 "docker push to the insecure plain-HTTP registry"
capture curl -sf -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$PLAIN/v2/$R/pushed/manifests/1"
expect_eq "200" "$out" "the registry has the pushed manifest"
capture docker login -u vic --password-stdin "$PLAIN" <<< anything
expect_rc 0 "docker login to the insecure registry (it asks for no credentials)"
expect_contains "$out" "Login Succeeded" "says Login Succeeded"

# ---- the TLS registry verified with --registry-ca ----
configure --insecure-registry "$PLAIN" --registry-ca "$CA"
expect_eq "$(sorted 127.0.0.0/8 ::1/128 "$PLAIN")" "$(insecure_section)" "docker info: the TLS registry is no longer insecure"
capture "$VIC_MACHINE" inspect --name "$E2E_NAME"
expect_contains "$out" "registry CAs:  $VCH_DIR/certs/registry-ca.pem" "vic-machine inspect names the VCH's registry CAs"
capture docker pull "$TLS/test/busybox:v2s2"
expect_rc 0 "after configure --registry-ca the TLS registry verifies"
capture docker login -u vic --password-stdin "$TLS" <<< anything
expect_rc 0 "docker login to the verified TLS registry"
docker tag "$TLS/test/busybox:v2s2" "$TLS/$R/pushed:2"
capture docker push "$TLS/$R/pushed:2"
expect_rc 0 "docker push to the verified TLS registry"
expect_match "$out" "2: digest: sha256:[0-9a-f]{64}" "ends with the tag's digest"
capture curl -sf --cacert "$CA" -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "https://$TLS/v2/$R/pushed/manifests/2"
expect_eq "200" "$out" "the TLS registry has the pushed manifest"
capture docker image inspect "$TLS/test/volume"
expect_ne_zero "$rc" "the build's base image is not here yet"
CTX=/tmp/$E2E_NAME.ctx && rm -rf "$CTX" && mkdir -p "$CTX"
printf 'FROM %s/test/volume\nLABEL via=tls\n' "$TLS" > "$CTX/Dockerfile"
capture docker build -t "registries-built:1" "$CTX"
expect_rc 0 "docker build whose FROM pulls from the verified TLS registry"
capture docker image inspect -f '{{.Config.Labels.via}}' registries-built:1
expect_eq "tls" "$out" "the built image"
rm -rf "$CTX"

# ---- vic-machine create with both flags, and their refusals ----
made=$E2E_NAME-made
extra_vchs+=("$made" "$E2E_NAME-bad")
"$VIC_MACHINE" delete --name "$made" --force > /dev/null 2>&1 || true
capture "$VIC_MACHINE" create --name "$made" --no-tls --insecure-registry "$PLAIN" --registry-ca "$CA"
expect_rc 0 "vic-machine create --insecure-registry --registry-ca"
read -r made_dir made_config < <("$VIC_MACHINE" inspect --name "$made" --json |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["datastore"], ",".join(j["insecureRegistries"]) + "|" + j["registryCa"])')
expect_eq "$PLAIN|$made_dir/certs/registry-ca.pem" "$made_config" "vch.json records both"
made_host=$(sed -n 's/^DOCKER_HOST=//p' "$made_dir/$made.env")
capture env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="$made_host" docker pull -q "$TLS/test/busybox"
expect_rc 0 "the new VCH pulls from the TLS registry"
capture env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_HOST="$made_host" docker pull -q "$PLAIN/test/layers"
expect_rc 0 "and from the insecure plain-HTTP one"
capture "$VIC_MACHINE" create --name "$E2E_NAME-bad" --no-tls --insecure-registry "ftp://$PLAIN"
expect_ne_zero "$rc" "a registry with another scheme is refused"
expect_contains "$out" "insecure registry ftp://$PLAIN should not contain '://'" "in dockerd's words"
capture "$VIC_MACHINE" create --name "$E2E_NAME-bad" --no-tls --registry-ca /etc/hostname
expect_ne_zero "$rc" "a --registry-ca file without a certificate is refused"
expect_contains "$out" "CA file /etc/hostname holds no PEM certificate" "and named"
capture "$VIC_MACHINE" inspect --name "$E2E_NAME-bad"
expect_ne_zero "$rc" "a refused create leaves no VCH behind"
