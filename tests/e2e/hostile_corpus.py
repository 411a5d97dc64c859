#!/usr/bin/env python3
"""Writes the hostile-image corpus: layer tars and `docker load` archives an attacker would
craft, each aimed at canary files under CANARY (a directory the test made), never at the
host's own files.

    hostile_corpus.py layers <out-dir> <canary-dir>   one <case>.tar per layer, see CASES
    hostile_corpus.py load <out.tar> <canary-dir> <layer.tar> <config.json>
"""
import io
import json
import hashlib
import os
import sys
import tarfile


def add_file(t, name, data=b"pwned\n", mode=0o644):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    t.addfile(info, io.BytesIO(data))


def add_symlink(t, name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    t.addfile(info)


def add_hardlink(t, name, target, data=b""):
    # a hard link entry that also carries data: libarchive writes it into the link's target
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = tarfile.LNKTYPE, target, len(data)
    t.addfile(info, io.BytesIO(data) if data else None)


def add_marker(t, name):
    add_file(t, name, b"")


def add_device(t, name, major, minor, kind=tarfile.CHRTYPE, mode=0o666):
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor, info.mode = kind, major, minor, mode
    t.addfile(info)


def up(canary):
    return "../" * 12 + canary.lstrip("/")


# Each case is a list of layers (applied in order on busybox); each layer a function of the tar.
def cases(canary):
    c = canary.lstrip("/")
    return {
        # a symlink to the canary, then a whiteout under it (deleted a host file before the fix)
        "whiteout": [
            lambda t: (add_symlink(t, "x", canary + "/etc"), add_symlink(t, "up", "../" * 12)),
            lambda t: (add_marker(t, "x/.wh.passwd"), add_marker(t, "up/" + c + "/.wh.secret")),
        ],
        # an opaque directory marker reached through a symlink to / (emptied a host directory)
        "opaque": [
            lambda t: add_symlink(t, "x", "/"),
            lambda t: (add_marker(t, "x/" + c + "/etc/.wh..wh..opq"), add_marker(t, "x/" + c + "/.wh..wh..opq")),
        ],
        # files written under a symlink to the image's /etc and over a symlink to the canary
        "writes": [
            lambda t: (add_symlink(t, "d", "/etc"), add_symlink(t, "f", canary + "/secret")),
            lambda t: (add_file(t, "d/new"), add_file(t, "f")),
        ],
        # a file under a symlink to the canary directory: inside the image that path does not
        # exist, and the pull fails (as docker's chrooted MkdirAll does)
        "writesout": [
            lambda t: add_symlink(t, "e", canary),
            lambda t: (add_file(t, "e/new"), add_file(t, "e/etc/passwd")),
        ],
        # hard links to the canary by absolute name, by "..", and through a symlink
        "hardlinks": [
            lambda t: add_symlink(t, "d", canary),
            lambda t: (add_hardlink(t, "h1", canary + "/secret", b"pwned\n"), add_hardlink(t, "h2", "d/secret", b"pwned\n")),
        ],
        # names that leave the root: refused, and the pull leaves nothing behind
        "dotdot": [lambda t: (add_file(t, "ok"), add_file(t, up(canary) + "/escaped"))],
        # an absolute name is the image's own path (docker's rule): lands inside, never on the host
        "absolute": [lambda t: add_file(t, canary + "/absolute")],
        # device nodes (/dev/mem's numbers) and a setuid copy of busybox: kept in the image only
        "devices": [
            lambda t: (add_device(t, "mem", 1, 1), add_device(t, "sda", 8, 0, tarfile.BLKTYPE),
                       add_file(t, "suid", open(busybox(), "rb").read(), 0o4755)),
        ],
        # a whiteout whose name is empty would remove its own parent directory
        "emptywhiteout": [lambda t: add_marker(t, "etc/.wh.")],
        # 100k entries in one layer: applies in bounded time and memory
        "many": [lambda t: [add_marker(t, "many/%03d/%03d" % (i // 1000, i % 1000)) for i in range(100000)]],
    }


def busybox():
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if os.access(os.path.join(d, "busybox"), os.X_OK):
            return os.path.join(d, "busybox")
    raise SystemExit("hostile_corpus.py: busybox not found")


def write_layers(out, canary):
    os.makedirs(out, exist_ok=True)
    for name, layers in cases(canary).items():
        for i, layer in enumerate(layers):
            with tarfile.open(os.path.join(out, "%s.%d.tar" % (name, i)), "w", format=tarfile.PAX_FORMAT) as t:
                layer(t)
    print(" ".join(cases(canary)))


def write_load(out, canary, layer, config):
    """A docker-save archive whose extraction would write and read host files: a hard link with
    data into the canary, a file written through a symlink to the canary, and manifest.json
    naming a config and a layer through symlinks to the canary."""
    layer_bytes, config_bytes = open(layer, "rb").read(), open(config, "rb").read()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        add_hardlink(t, "evil", canary + "/secret", b"pwned\n")
        add_symlink(t, "hostetc", canary + "/etc")
        add_file(t, "hostetc/passwd")
        add_symlink(t, "config.json", canary + "/secret")
        add_symlink(t, "layer.tar", canary + "/secret")
        manifest = [{"Config": "config.json", "RepoTags": ["hostile/load:latest"], "Layers": ["layer.tar"]}]
        add_file(t, "manifest.json", json.dumps(manifest).encode())
        # the real blobs under other names, so only the symlinks make the archive "work"
        add_file(t, "real-config.json", config_bytes)
        add_file(t, "real-layer.tar", layer_bytes)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "layers":
        write_layers(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "load":
        write_load(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
