#!/usr/bin/env bash
# The imagec fixtures: a real registry starts on a free loopback port and serves the images
# the fixture script builds, with the layer contents later tests rely on.
set -euo pipefail
fixtures=${1:?registry.sh}
dir=$(mktemp -d /var/tmp/vic-registry.XXXXXX)
trap '"$fixtures" stop "$dir"; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
addr=$("$fixtures" start "$dir" | sed -n 's/^REGISTRY=//p')
[ -n "$addr" ] || fail "no REGISTRY line"
[ "$("$fixtures" start "$dir")" = "REGISTRY=$addr" ] || fail "second start is not idempotent"
"$fixtures" fill "$dir" >/dev/null
inspect() { skopeo inspect --tls-verify=false --raw "docker://$addr/$1"; }
inspect test/busybox:latest | grep -q '"application/vnd.oci.image.config.v1+json"' || fail "busybox:latest is not OCI"
inspect test/busybox:v2s2 | grep -q '"application/vnd.docker.distribution.manifest.v2+json"' || fail "busybox:v2s2 is not schema2"
[ "$(inspect test/layers:latest | grep -o '"digest":"sha256:[0-9a-f]*"' | wc -l)" = 5 ] || fail "layers: expected config + 4 layers"
skopeo copy -q --src-tls-verify=false "docker://$addr/test/layers:latest" "dir:$dir/copy"
all=$(for f in "$dir"/copy/*; do tar -tzf "$f" 2>/dev/null || tar -tf "$f" 2>/dev/null || true; done)
for want in bin/.wh.cat data/.wh.gone data/keep/.wh..wh..opq data/hardlink data/symlink; do
  grep -qx "$want" <<<"$all" || fail "layers image lacks $want"
done
inspect test/multi:latest | grep -q '"architecture":"arm64","os":"linux","variant":"v8"' || fail "multi is not an amd64+arm64 index"
[ "$(inspect test/deep:latest | grep -o '"digest"' | wc -l)" = 121 ] || fail "deep: expected config + 120 layers"
skopeo copy -q --src-tls-verify=false "docker://$addr/test/busybox:latest" "dir:$dir/ok" || fail "busybox broken by the corrupt fixture"
if out=$(skopeo copy -q --src-tls-verify=false "docker://$addr/test/corrupt:latest" "dir:$dir/bad" 2>&1); then
  fail "corrupt image copied without a digest error"
fi
grep -q "Digest did not match" <<<"$out" || fail "corrupt image: unexpected error: $out"
echo "PASS: registry on $addr serves busybox (OCI, v2s2), layers (whiteouts, opaque, links), multi (index), deep (120 layers), corrupt"
