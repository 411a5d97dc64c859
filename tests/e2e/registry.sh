#!/usr/bin/env bash
# docker login and docker push against the fixture registries (plain, and htpasswd with vic /
# vic-secret): login good and bad, push by tag, the CLI's default tag, --all-tags, a pushed image
# removed and pulled back, skopeo reading the pushed config (its digest is the image id), the
# auth registry with, without and with wrong credentials, and a committed image pushed and run
# again after a pull.
source "$(dirname "$0")/lib.sh"
start_registry
AUTH=$(cat "$REGISTRY_DIR/authaddr")
DOCKER_CONFIG=/tmp/$E2E_NAME.docker-config  # docker login's credentials stay with this test
rm -rf "$DOCKER_CONFIG" && mkdir -p "$DOCKER_CONFIG"
export DOCKER_CONFIG
create_vch --cpu 2 --memory 4GiB
R=e2e-$$-$RANDOM  # repositories of this run only: nothing there before it

config_digest() {  # config_digest IMAGE [skopeo args]: the config digest of a pushed manifest
  local ref=$1; shift
  skopeo inspect --tls-verify=false --raw "$@" "docker://$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])'
}

docker pull -q "$BUSYBOX" > /dev/null
BUSYBOX_ID=$(docker inspect -f '{{.Id}}' "$BUSYBOX")

# ---- docker login ----
capture docker login -u vic --password-stdin "$AUTH" <<< wrong
expect_ne_zero "$rc" "docker login with a wrong password fails"
expect_contains "$out" "login attempt to http://$AUTH/v2/ failed with status: 401 Unauthorized" "with dockerd's words"
capture docker login -u vic --password-stdin "$AUTH" <<< vic-secret
expect_rc 0 "docker login with the right password"
expect_contains "$out" "Login Succeeded" "says Login Succeeded"

# ---- docker push to the plain registry ----
PLAIN=$REGISTRY/$R/busybox
docker tag "$BUSYBOX" "$PLAIN:v1"
capture docker push "$PLAIN:v1"
expect_rc 0 "docker push by tag"
expect_contains "$out" "The push refers to repository [$PLAIN]" "names the repository"
expect_contains "$out" "Mounted from test/busybox" "the layer is mounted from the repository it came from"
expect_match "$out" "v1: digest: sha256:[0-9a-f]{64} size: [0-9]+" "ends with the tag's digest and size"
capture config_digest "$PLAIN:v1"
expect_eq "$BUSYBOX_ID" "$out" "skopeo: the pushed config's digest is the image id"
capture docker images --digests --format '{{.Digest}}' "$PLAIN"
expect_match "$out" "^sha256:[0-9a-f]{64}$" "docker images --digests shows the pushed digest"

capture docker push "$PLAIN"
expect_ne_zero "$rc" "docker push without a tag pushes :latest (docker 28's CLI), which is not there"
expect_contains "$out" "Using default tag: latest" "the CLI says so"
expect_contains "$out" "tag does not exist: $PLAIN:latest" "dockerd's error"
docker tag "$BUSYBOX" "$PLAIN:v2"
capture docker push -a "$PLAIN"
expect_rc 0 "docker push --all-tags"
expect_contains "$out" "v1: digest:" "pushes v1"
expect_contains "$out" "v2: digest:" "and v2"
expect_contains "$out" "Layer already exists" "a layer the registry has is not sent again"
capture skopeo list-tags --tls-verify=false "docker://$PLAIN"
expect_eq "v1 v2" "$(python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["Tags"])))' <<< "$out")" \
  "skopeo lists both tags"
capture docker push "$REGISTRY/$R/nosuch:1"
expect_ne_zero "$rc" "docker push of an image not here fails"
expect_contains "$out" "An image does not exist locally with the tag: $REGISTRY/$R/nosuch" "with dockerd's words"

docker rmi "$PLAIN:v1" "$PLAIN:v2" > /dev/null
capture docker pull "$PLAIN:v1"
expect_rc 0 "docker pull of what was pushed"
capture docker inspect -f '{{.Id}}' "$PLAIN:v1"
expect_eq "$BUSYBOX_ID" "$out" "pulled back: the same image id"

# ---- the htpasswd registry ----
PRIVATE=$AUTH/$R/private
docker tag "$BUSYBOX" "$PRIVATE:1"
capture docker push "$PRIVATE:1"
expect_rc 0 "docker push after docker login"
capture config_digest "$PRIVATE:1" --creds vic:vic-secret
expect_eq "$BUSYBOX_ID" "$out" "skopeo (with credentials): the config digest is the image id"
docker logout "$AUTH" > /dev/null
capture docker push "$PRIVATE:1"
expect_ne_zero "$rc" "docker push without credentials fails"
expect_contains "$out" "no basic auth credentials" "with docker's words"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$AUTH" "$(printf 'vic:wrong' | base64)" > "$DOCKER_CONFIG/config.json"
capture docker push "$PRIVATE:1"
expect_ne_zero "$rc" "docker push with a wrong password fails"
expect_contains "$out" "unauthorized: authentication required" "with the registry's words"

# ---- a committed image ----
docker run --name maker "$BUSYBOX" sh -c 'echo pushed > /pushed' > /dev/null
COMMITTED=$REGISTRY/$R/committed
docker commit maker "$COMMITTED:1" > /dev/null
COMMITTED_ID=$(docker inspect -f '{{.Id}}' "$COMMITTED:1")
capture docker push "$COMMITTED:1"
expect_rc 0 "docker push of a committed image"
expect_contains "$out" "Pushed" "its new layer is uploaded"
expect_contains "$out" "Mounted from" "its base layer is mounted"
capture config_digest "$COMMITTED:1"
expect_eq "$COMMITTED_ID" "$out" "skopeo: the committed image's config digest is its id"
docker rm maker > /dev/null
docker rmi "$COMMITTED:1" > /dev/null
capture docker pull "$COMMITTED:1"
expect_rc 0 "docker pull of the committed image"
expect_contains "$out" "Pull complete" "its layer came back from the registry"
capture docker run --rm "$COMMITTED:1" cat /pushed
expect_eq "pushed" "$out" "it runs with the committed file"
