#!/usr/bin/env bash
# docker build with the real CLI (the classic builder): a multi-stage Dockerfile using every
# instruction the classic builder has, --build-arg, .dockerignore, -t twice, -f, --target, -q,
# --label; the step cache (a second build is all cache, a changed file rebuilds from its COPY on,
# --no-cache runs everything); a failing RUN (its output, its exit code, no image); bad
# Dockerfiles and contexts in docker's words; a context whose symlink points at the host's files.
source "$(dirname "$0")/lib.sh"
start_registry
create_vch --cpu 2 --memory 4GiB
CTX=/tmp/$E2E_NAME.ctx
rm -rf "$CTX" && mkdir -p "$CTX/app/lib"
trap 'rm -rf "$CTX"; finish' EXIT
echo "hello from the context" > "$CTX/app/hello.txt"
echo "lib file" > "$CTX/app/lib/one.txt"
echo "must not be sent" > "$CTX/secret.key"
printf '*.key\n' > "$CTX/.dockerignore"
printf 'inner\n' > "$CTX/inner.txt"
tar -C "$CTX" -cf "$CTX/bundle.tar" inner.txt

cat > "$CTX/Dockerfile" <<EOF
# syntax is ignored by the classic builder; comments and continuations are not
ARG BASE=$BUSYBOX
FROM \$BASE AS builder
ARG FLAVOUR=plain
RUN mkdir -p /out && \\
    echo "built \$FLAVOUR" > /out/artifact.txt
FROM \$BASE
LABEL org.example.name="vic test" version=1
MAINTAINER vic
ENV GREETING="hi there" \\
    APP=/srv/app
WORKDIR \$APP
COPY app/ ./
COPY --from=builder /out/artifact.txt artifact.txt
COPY --chown=1000:1000 app/hello.txt /owned/
ADD bundle.tar /unpacked/
USER 0
EXPOSE 8080 53/udp
VOLUME /data
SHELL ["/bin/sh", "-c"]
RUN echo "\$GREETING" > greeting.txt && ls -n /owned/hello.txt | awk '{print \$3":"\$4}' > owner.txt
HEALTHCHECK --interval=30s --timeout=3s CMD true
STOPSIGNAL SIGINT
ONBUILD RUN echo child build
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/app/greeting.txt /srv/app/artifact.txt"]
EOF

capture docker build -t built:1 -t built:also --build-arg FLAVOUR=special --label extra=yes "$CTX"
expect_rc 0 "docker build of a multi-stage Dockerfile"
expect_contains "$out" "Step 1/" "the classic builder's steps"
expect_contains "$out" "Successfully tagged built:also" "both tags"
capture docker run --rm built:1
expect_eq $'hi there\nbuilt special' "$out" "ENTRYPOINT + CMD run the built files (ENV, build arg, COPY --from)"
capture docker run --rm --entrypoint sh built:1 -c 'pwd; cat hello.txt lib/one.txt owner.txt; ls /srv/app; cat /unpacked/inner.txt 2>&1; ls /secret.key /srv/app/secret.key 2>&1 | wc -l'
expect_contains "$out" "/srv/app" "WORKDIR from ENV"
expect_contains "$out" "hello from the context" "COPY of a directory's contents"
expect_contains "$out" "lib file" "COPY keeps subdirectories"
expect_contains "$out" "1000:1000" "COPY --chown"
expect_not_contains "$out" "secret" ".dockerignore'd files are not in the image"
capture docker inspect -f '{{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{index .Config.Labels "extra"}} {{index .Config.Labels "version"}} {{json .Config.Healthcheck.Test}} {{json .Config.OnBuild}} {{.Author}}' built:1
expect_eq '{"53/udp":{},"8080/tcp":{}} {"/data":{}} SIGINT yes 1 ["CMD-SHELL","true"] ["RUN echo child build"] vic' "$out" "the config from EXPOSE, VOLUME, STOPSIGNAL, --label, LABEL, HEALTHCHECK, ONBUILD, MAINTAINER"
capture docker inspect -f '{{.Id}}' built:1
first_id=$out

# A built image pushed and read back by skopeo: the config digest is the image id.
pushed=$REGISTRY/e2e-build-$$-$RANDOM:1
docker tag built:1 "$pushed"
capture docker push "$pushed"
expect_rc 0 "docker push of a built image"
capture sh -c "skopeo inspect --tls-verify=false --raw docker://$pushed | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"config\"][\"digest\"])'"
expect_eq "$first_id" "$out" "skopeo reads the pushed config: its digest is the built image's id"

# ---- the cache ----
capture docker build -t built:1 --build-arg FLAVOUR=special --label extra=yes "$CTX"
expect_rc 0 "the same build again"
expect_not_contains "$out" "Running in" "no step ran: every step came from the cache"
capture docker inspect -f '{{.Id}}' built:1
expect_eq "$first_id" "$out" "a cached build is the same image"
echo "changed" > "$CTX/app/lib/one.txt"
rc=0; out=$(docker build -q -t built:2 --build-arg FLAVOUR=special "$CTX" 2> /dev/null) || rc=$?  # stderr: the CLI's deprecation notice
expect_rc 0 "a build after a context change (-q)"
expect_match "$out" "^sha256:[0-9a-f]{64}$" "-q prints only the image id"
capture docker run --rm --entrypoint cat built:2 /srv/app/lib/one.txt
expect_eq "changed" "$out" "the changed file is in the new image"
capture docker build --no-cache --build-arg FLAVOUR=special "$CTX"
expect_contains "$out" "Running in" "--no-cache runs the steps again"

capture docker builder prune -f
expect_rc 0 "docker builder prune"
capture docker build --build-arg FLAVOUR=special "$CTX"
expect_contains "$out" "Running in" "after a prune the steps run again"

# ---- --target, -f, ONBUILD in a child ----
capture docker build --target builder -t stage:1 --build-arg FLAVOUR=special "$CTX"
expect_rc 0 "--target"
capture docker run --rm stage:1 cat /out/artifact.txt
expect_eq "built special" "$out" "--target builds only up to that stage"
printf 'FROM built:1\nRUN echo child > /child.txt\n' > "$CTX/Child.dockerfile"
capture docker build -f "$CTX/Child.dockerfile" -t child:1 "$CTX"
expect_rc 0 "docker build -f"
expect_contains "$out" "child build" "the base image's ONBUILD trigger ran"

# ---- a failing RUN leaves no image ----
before=$(docker images -q | sort | tr '\n' ' ')
printf 'FROM %s\nRUN echo about to fail && exit 3\n' "$BUSYBOX" > "$CTX/Fail.dockerfile"
capture docker build -f "$CTX/Fail.dockerfile" -t failed:1 "$CTX"
expect_eq 3 "$rc" "the CLI exits with the RUN's code"
expect_contains "$out" "about to fail" "the failing step's output is shown"
expect_contains "$out" "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3" "docker's message"
expect_eq "$before" "$(docker images -q | sort | tr '\n' ' ')" "no image was left by the failed build"
expect_eq "" "$(docker ps -aq)" "no step container was left"

# A client that goes away mid-build: the step's container is removed, nothing is recorded, and
# the endpoint answers on.
printf 'FROM %s\nRUN echo started; sleep 6\n' "$BUSYBOX" > "$CTX/Slow.dockerfile"
docker build -f "$CTX/Slow.dockerfile" -t gone:1 "$CTX" > "$CTX/slow.out" 2>&1 & slow=$!
wait_until 60 "the slow build's RUN has started" grep -q "started" "$CTX/slow.out"
kill "$slow"; wait "$slow" 2> /dev/null || true
wait_until 60 "the abandoned build's step container is gone" output_is "" docker ps -aq
capture docker images -q gone:1
expect_eq "" "$out" "an abandoned build records no image"
capture docker version --format '{{.Server.APIVersion}}'
expect_eq "1.50" "$out" "the endpoint answers after a client left mid-build"

# ---- bad Dockerfiles and contexts ----
printf 'FROM %s\nFOO bar\n' "$BUSYBOX" > "$CTX/Bad.dockerfile"
capture docker build -f "$CTX/Bad.dockerfile" "$CTX"
expect_ne_zero "$rc" "an unknown instruction fails"
expect_contains "$out" "dockerfile parse error on line 2: unknown instruction: FOO" "with docker's words and its line"
printf 'FROM %s\nCOPY ../outside /x\n' "$BUSYBOX" > "$CTX/Out.dockerfile"
capture docker build -f "$CTX/Out.dockerfile" "$CTX"
expect_contains "$out" "forbidden path outside the build context" "COPY from outside the context"
printf 'FROM %s\nCOPY secret.key /x\n' "$BUSYBOX" > "$CTX/Ign.dockerfile"
capture docker build -f "$CTX/Ign.dockerfile" "$CTX"
expect_contains "$out" "excluded by .dockerignore" "COPY of an ignored file"
# A hostile context tar (sent raw, as a client without the CLI would): entries that climb out
# with "..", an absolute name, and a symlink to a host directory written through. Nothing lands
# outside the context, and the build itself works from what stays inside.
marker=vic-e2e-build-$$-$RANDOM
python3 - "$CTX/hostile.tar" "$marker" "$BUSYBOX" <<'PY'
import io, sys, tarfile
out, marker, base = sys.argv[1], sys.argv[2], sys.argv[3]
def add(t, name, data=b"x", kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link; i.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
with tarfile.open(out, "w") as t:
    add(t, "Dockerfile", ("FROM %s\nCOPY . /ctx/\n" % base).encode())
    add(t, "../../../../tmp/%s-dotdot" % marker)
    add(t, "/tmp/%s-abs" % marker)
    add(t, "hostdir", kind=tarfile.SYMTYPE, link="/tmp")
    add(t, "hostdir/%s-link" % marker)
PY
capture curl -s --unix-socket "$VCH_DIR/docker.sock" -X POST -H 'Content-Type: application/x-tar' \
  --data-binary "@$CTX/hostile.tar" "http://vic/build?t=hostile:1"
expect_eq "" "$(ls /tmp | grep -- "$marker" || true)" "a hostile context tar writes nothing outside the context"

# A symlink in the context that names the host's files resolves inside the context.
ln -s /etc/shadow "$CTX/shadow-link"
printf 'FROM %s\nCOPY shadow-link /got\n' "$BUSYBOX" > "$CTX/Link.dockerfile"
capture docker build -f "$CTX/Link.dockerfile" -t link:1 "$CTX"
if [ "$rc" = 0 ]; then
  capture docker run --rm link:1 sh -c 'cat /got 2>&1 | head -c 200'
  expect_not_contains "$out" "root:" "a context symlink never reads the host's /etc/shadow"
else
  expect_not_contains "$out" "root:" "a context symlink never reads the host's /etc/shadow"
fi
