#!/usr/bin/env python3
"""oci.py: write a single-layer OCI image layout, byte for byte the same for the same inputs.

No daemon and no base image: the layer holds exactly the files given. Entries are sorted, owned by
0:0 with a fixed modification time (the image's creation time), and the layer is gzipped without a
timestamp, so the same inputs give the same image digest on every build.

    oci.py --out DIR --name REPOSITORY --tag TAG --created EPOCH [--user U:G] [--entrypoint JSON]
           [--cmd JSON] [--expose PORT/PROTO]... [--label K=V]... [--env K=V]...
           [--file SRC:DEST:MODE]... [--dir DEST:MODE]... [--link TARGET:DEST]... [--archive FILE.tar]

Prints the manifest digest (sha256:...) on stdout. --archive also writes the layout as one tar file
(for `ctr images import` or `kind load image-archive`).
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def tar_entry(name, mtime, mode, kind=tarfile.REGTYPE, size=0):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.size = kind, mode, mtime, size
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def layer(files, dirs, links, mtime):
    """files: {dest: (src, mode)}, dirs: {dest: mode}, links: {dest: target}; parents of every
    entry are added as 0755."""
    entries = {}
    for dest, mode in dirs.items():
        entries[dest.strip("/")] = ("dir", None, mode)
    for dest, (src, mode) in files.items():
        entries[dest.strip("/")] = ("file", src, mode)
    for dest, target in links.items():
        entries[dest.strip("/")] = ("link", target, 0o777)
    for path in list(entries):
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), ("dir", None, 0o755))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(entries):
            kind, src, mode = entries[path]
            if kind == "dir":
                tar.addfile(tar_entry(path, mtime, mode, tarfile.DIRTYPE))
            elif kind == "link":
                info = tar_entry(path, mtime, mode, tarfile.SYMTYPE)
                info.linkname = src
                tar.addfile(info)
            else:
                with open(src, "rb") as f:
                    data = f.read()
                tar.addfile(tar_entry(path, mtime, mode, size=len(data)), io.BytesIO(data))
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--created", required=True, type=int, help="seconds since the epoch")
    ap.add_argument("--user", default="")
    ap.add_argument("--entrypoint", default="null")
    ap.add_argument("--cmd", default="null")
    ap.add_argument("--expose", action="append", default=[])
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--link", action="append", default=[])
    ap.add_argument("--archive")
    args = ap.parse_args()

    files, dirs = {}, {}
    for spec in args.file:
        src, dest, mode = spec.rsplit(":", 2)
        files[dest] = (src, int(mode, 8))
    for spec in args.dir:
        dest, mode = spec.rsplit(":", 1)
        dirs[dest] = int(mode, 8)
    links = dict(reversed(spec.split(":", 1)) for spec in args.link)
    created = datetime.datetime.fromtimestamp(args.created, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    layer_tar = layer(files, dirs, links, args.created)
    layer_gz = gzip.compress(layer_tar, compresslevel=9, mtime=0)
    config = {"created": created, "architecture": "amd64", "os": "linux",
              "config": {"User": args.user, "Entrypoint": json.loads(args.entrypoint), "Cmd": json.loads(args.cmd),
                         "Env": args.env or ["PATH=/"],
                         "ExposedPorts": {p: {} for p in sorted(args.expose)},
                         "Labels": dict(sorted(kv.split("=", 1) for kv in args.label))},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
              "history": [{"created": created, "created_by": "hack/image/oci.py"}]}
    for key in ("Entrypoint", "Cmd", "ExposedPorts", "Labels"):
        if not config["config"][key]:
            del config["config"][key]

    blobs = {}
    def blob(data, media):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media, "digest": "sha256:" + digest, "size": len(data)}
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": blob(canonical(config), CONFIG),
                "layers": [blob(layer_gz, LAYER)]}
    if config["config"].get("Labels"):
        manifest["annotations"] = config["config"]["Labels"]
    descriptor = blob(canonical(manifest), MANIFEST)
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": args.tag,
                                 "io.containerd.image.name": f"{args.name}:{args.tag}"}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [descriptor]}

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(os.path.join(args.out, "blobs", "sha256"))
    layout = {"oci-layout": canonical({"imageLayoutVersion": "1.0.0"}), "index.json": canonical(index)}
    for digest, data in blobs.items():
        layout[f"blobs/sha256/{digest}"] = data
    for path, data in layout.items():
        with open(os.path.join(args.out, path), "wb") as f:
            f.write(data)
    if args.archive:
        with tarfile.open(args.archive, "w", format=tarfile.GNU_FORMAT) as tar:
            for path in ["blobs", "blobs/sha256"]:
                tar.addfile(tar_entry(path, args.created, 0o755, tarfile.DIRTYPE))
            for path in sorted(layout):
                data = layout[path]
                tar.addfile(tar_entry(path, args.created, 0o644, size=len(data)), io.BytesIO(data))
    print(descriptor["digest"])


if __name__ == "__main__":
    sys.exit(main())
