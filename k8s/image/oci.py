#!/usr/bin/env python3
"""What k8s/image/test.sh needs from Python: reading the OCI archive by the OCI
image-layout spec alone (no umoci, so the test does not share build.sh's tools), the
Containerfile's settings, and the probes that a kubelet would send.

  oci.py unpack LAYOUT_DIR ROOTFS OUT_DIR REF   verify every blob against its
      digest, extract the layers of the manifest named REF into ROOTFS (whiteouts
      applied), write OUT_DIR/{config.json,summary,entrypoint,cmd,env}
  oci.py containerfile FILE     the Containerfile's settings, as `summary` lines
  oci.py grpc-health HOST:PORT  exit 0 when grpc.health.v1.Health/Check is SERVING
  oci.py http-status URL        the HTTP status code of a GET
  oci.py free-ports N           N free TCP ports on 127.0.0.1
  oci.py json FILE KEY[.KEY..]  a value of a JSON document

A `summary` has one setting per line (user=, entrypoint=, cmd=, workdir=, port=,
env=, label=, stopsignal=, os=, architecture=), so two can be compared line by line.
"""

import hashlib
import json
import os
import shlex
import shutil
import socket
import sys
import tarfile
import urllib.error
import urllib.request


def die(message):
    print(f"oci.py: {message}", file=sys.stderr)
    sys.exit(1)


def blob_path(layout, descriptor):
    algorithm, digest = descriptor["digest"].split(":", 1)
    return os.path.join(layout, "blobs", algorithm, digest)


def verified(layout, descriptor):
    """The blob's path, after checking its size and sha256 against DESCRIPTOR."""
    path = blob_path(layout, descriptor)
    if not os.path.exists(path):
        die(f"blob {descriptor['digest']} is missing")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != descriptor["digest"]:
        die(f"blob {descriptor['digest']} does not match its digest")
    if os.path.getsize(path) != descriptor["size"]:
        die(f"blob {descriptor['digest']} is not {descriptor['size']} bytes")
    return path


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def summary(settings):
    """`summary` lines of an image config's "config" object (and platform)."""
    lines = []
    c = settings.get("config") or {}
    if c.get("User"):
        lines.append(f"user={c['User']}")
    if c.get("Entrypoint") is not None:
        lines.append("entrypoint=" + json.dumps(c["Entrypoint"]))
    if c.get("Cmd") is not None:
        lines.append("cmd=" + json.dumps(c["Cmd"]))
    if c.get("WorkingDir"):
        lines.append(f"workdir={c['WorkingDir']}")
    lines += [f"port={p}" for p in sorted(c.get("ExposedPorts") or {})]
    lines += [f"env={e}" for e in c.get("Env") or []]
    lines += [f"label={k}={v}" for k, v in sorted((c.get("Labels") or {}).items())]
    if c.get("StopSignal"):
        lines.append(f"stopsignal={c['StopSignal']}")
    for key in ("os", "architecture"):
        if settings.get(key):
            lines.append(f"{key}={settings[key]}")
    return lines


def extract_layer(path, rootfs):
    """One layer onto ROOTFS, as the OCI image spec's changeset rules say."""
    with tarfile.open(path, "r:*") as layer:
        members = layer.getmembers()
        for m in members:
            name = os.path.normpath(m.name.lstrip("/"))
            if name.startswith(".."):
                die(f"layer entry outside the root: {m.name}")
            directory, base = os.path.split(name)
            if base == ".wh..wh..opq":
                # An opaque directory: what lower layers had in it is gone.
                target = os.path.join(rootfs, directory)
                if os.path.isdir(target) and not os.path.islink(target):
                    for entry in os.listdir(target):
                        p = os.path.join(target, entry)
                        if os.path.isdir(p) and not os.path.islink(p):
                            shutil.rmtree(p)
                        else:
                            os.unlink(p)
            elif base.startswith(".wh."):
                target = os.path.join(rootfs, directory, base[len(".wh."):])
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                elif os.path.lexists(target):
                    os.unlink(target)
        keep = [m for m in members if not os.path.basename(m.name).startswith(".wh.")]
        for m in keep:
            # A file replacing a directory of a lower layer (or the reverse).
            target = os.path.join(rootfs, os.path.normpath(m.name.lstrip("/")))
            if os.path.lexists(target) and not (m.isdir() and os.path.isdir(target)):
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                else:
                    os.unlink(target)
        # An image's own absolute symlinks and owners are meant (the default filter
        # of newer Pythons would refuse or rewrite them).
        trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
        layer.extractall(rootfs, members=keep, numeric_owner=True, **trusted)


def unpack(layout, rootfs, out, ref):
    with open(os.path.join(layout, "oci-layout"), encoding="utf-8") as f:
        if json.load(f).get("imageLayoutVersion") != "1.0.0":
            die("oci-layout: not imageLayoutVersion 1.0.0")
    index = load_json(os.path.join(layout, "index.json"))
    named = [m for m in index.get("manifests", [])
             if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == ref]
    if len(named) != 1:
        names = [(m.get("annotations") or {}).get("org.opencontainers.image.ref.name")
                 for m in index.get("manifests", [])]
        die(f"index.json: {len(named)} manifests named {ref} (names: {names})")
    manifest = load_json(verified(layout, named[0]))
    config = load_json(verified(layout, manifest["config"]))
    layers = [verified(layout, layer) for layer in manifest["layers"]]
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    if len(diff_ids) != len(layers):
        die(f"config has {len(diff_ids)} diff_ids for {len(layers)} layers")
    os.makedirs(rootfs, exist_ok=True)
    for path in layers:
        extract_layer(path, rootfs)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
    c = config.get("config") or {}
    for name, values in (("summary", summary(config)),
                         ("entrypoint", c.get("Entrypoint") or []),
                         ("cmd", c.get("Cmd") or []),
                         ("env", c.get("Env") or [])):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.writelines(v + "\n" for v in values)
    sizes = [layer["size"] for layer in manifest["layers"]]
    print(f"# {ref}: {len(layers)} layers, {sum(sizes) / 1048576:.1f} MiB compressed")


def containerfile(path):
    """The settings a Containerfile gives its image, as `summary` lines. Values that
    depend on a build argument (${...}) are left out: they have no fixed value."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    instructions, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            instructions.append(current.strip())
        current = ""
    config = {"config": {}}
    c = config["config"]

    def exec_form(value):
        try:
            parsed = json.loads(value)
            if isinstance(parsed, list):
                return parsed
        except json.JSONDecodeError:
            pass
        return ["/bin/sh", "-c", value]

    for instruction in instructions:
        keyword, _, value = instruction.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "USER":
            c["User"] = value
        elif keyword == "WORKDIR":
            c["WorkingDir"] = value
        elif keyword == "ENTRYPOINT":
            c["Entrypoint"] = exec_form(value)
            c["Cmd"] = None  # as docker does: a later CMD sets it again
        elif keyword == "CMD":
            c["Cmd"] = exec_form(value)
        elif keyword == "EXPOSE":
            for port in value.split():
                c.setdefault("ExposedPorts", {})[port if "/" in port else port + "/tcp"] = {}
        elif keyword == "STOPSIGNAL":
            c["StopSignal"] = value
        elif keyword in ("ENV", "LABEL"):
            for pair in shlex.split(value):
                k, _, v = pair.partition("=")
                if "$" in v:
                    continue
                if keyword == "ENV":
                    c.setdefault("Env", []).append(f"{k}={v}")
                else:
                    c.setdefault("Labels", {})[k] = v
    return summary(config)


def grpc_health(target):
    import grpc  # only here: the other commands need no third-party module

    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        # HealthCheckRequest{service: ""} is empty; HealthCheckResponse{status:
        # SERVING} is field 1, varint 1.
        response = check(b"", timeout=5)
    if response != b"\x08\x01":
        die(f"Health/Check answered {response!r}, not SERVING (b'\\x08\\x01')")


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(response.status)
    except urllib.error.HTTPError as e:
        print(e.code)
    except OSError as e:
        die(f"GET {url}: {e}")


def free_ports(n):
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in sockets))
    for s in sockets:
        s.close()


def json_value(path, keys):
    value = load_json(path)
    for key in keys.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    print("" if value is None else value)


def main(argv):
    command, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if command == "unpack" and len(args) == 4:
        unpack(*args)
    elif command == "containerfile" and len(args) == 1:
        print("\n".join(containerfile(args[0])))
    elif command == "grpc-health" and len(args) == 1:
        grpc_health(args[0])
    elif command == "http-status" and len(args) == 1:
        http_status(args[0])
    elif command == "free-ports" and len(args) == 1:
        free_ports(int(args[0]))
    elif command == "json" and len(args) == 2:
        json_value(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
