#!/usr/bin/env python3
"""Trims and measures the image's Debian root filesystem (called by build.sh).

  rootfs.py prune ROOTFS PACKAGES_TXT   remove every package that PACKAGES_TXT's
                                        packages do not need, dpkg included
  rootfs.py sizes ROOTFS [N]            the N packages taking the most disk space

mmdebstrap installs the Essential:yes set (dpkg, bash, coreutils, util-linux, ...)
because maintainer scripts need it. Once everything is configured no script runs
again, so the image keeps only the dependency closure of packages.txt. Removing
with `dpkg --purge` would run the removed packages' scripts in a chroot whose
coreutils and libraries are being removed under them, so files are removed here
from dpkg's own file lists instead, and dpkg's status database is rewritten to
list exactly what stays (scanners such as trivy and grype read it).

ROOTFS is a plain directory owned by the caller (no /proc or /dev mounted in it).
Every path is resolved inside ROOTFS: an absolute symlink in it never leads out.
"""

import os
import re
import stat
import sys

# Dependencies that only maintainer scripts use (dpkg-divert, update-alternatives):
# never followed, so dpkg and what only it needs (tar, its compressors) go.
INSTALL_TIME_ONLY = {"dpkg"}


def read_packages_txt(path):
    names = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def parse_status(text):
    """[(fields, raw_stanza)] of dpkg's status file."""
    stanzas = []
    for raw in re.split(r"\n\s*\n", text.strip("\n")):
        fields, key = {}, None
        for line in raw.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        stanzas.append((fields, raw))
    return stanzas


def installed(fields):
    return fields.get("Status", "").split()[-1:] == ["installed"]


def dependencies(fields):
    """Each Pre-Depends/Depends clause as a list of alternative package names."""
    for name in ("Pre-Depends", "Depends"):
        for clause in fields.get(name, "").replace("\n", " ").split(","):
            alternatives = [
                a.strip().split()[0].split(":")[0]
                for a in clause.split("|") if a.strip()
            ]
            if alternatives:
                yield alternatives


def closure(packages, roots):
    provided = {}
    for name, fields in packages.items():
        for p in fields.get("Provides", "").split(","):
            if p.strip():
                provided.setdefault(p.strip().split()[0], []).append(name)
    keep, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        for alternatives in dependencies(packages[name]):
            for alt in alternatives:
                candidates = [alt] if alt in packages else provided.get(alt, [])
                if candidates:
                    if candidates[0] not in INSTALL_TIME_ONLY:
                        todo.append(candidates[0])
                    break
    return keep


def resolve(root, path, follow_last=True):
    """PATH (absolute, inside ROOTFS) with symlinks followed as a chroot would:
    returns the path inside ROOTFS, without symlinks."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    done, hops = [], 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = done + [part]
        full = os.path.join(root, *candidate)
        if os.path.islink(full) and (parts or follow_last):
            hops += 1
            if hops > 40:
                raise OSError(f"too many symlinks: {path}")
            target = os.readlink(full)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
        else:
            done = candidate
    return "/" + "/".join(done)


def info_files(info_dir, names):
    """dpkg's info files (NAME.list, NAME:ARCH.md5sums, ...) of the packages."""
    out = []
    for entry in os.listdir(info_dir):
        stem = entry.rsplit(".", 1)[0]
        if "." in entry and stem.split(":", 1)[0] in names:
            out.append(os.path.join(info_dir, entry))
    return out


def listed_paths(info_dir, name):
    for entry in info_files(info_dir, {name}):
        if entry.endswith(".list"):
            with open(entry, encoding="utf-8", errors="surrogateescape") as f:
                return [line.rstrip("\n") for line in f if line.strip()]
    return []


def prune(root, packages_txt):
    status_path = os.path.join(root, "var/lib/dpkg/status")
    info_dir = os.path.join(root, "var/lib/dpkg/info")
    with open(status_path, encoding="utf-8") as f:
        stanzas = parse_status(f.read())
    packages = {f["Package"]: f for f, _ in stanzas if installed(f)}
    roots = read_packages_txt(packages_txt)
    missing = [r for r in roots if r not in packages]
    if missing:
        sys.exit(f"rootfs.py: not installed by mmdebstrap: {' '.join(missing)}")
    keep = closure(packages, roots)
    drop = set(packages) - keep

    # Paths of kept packages, resolved: a dropped package's entry that is the same
    # file (merged /usr aliases /bin/x and /usr/bin/x) or a shared directory stays.
    kept_paths = set()
    for name in keep:
        for p in listed_paths(info_dir, name):
            parent, base = os.path.split(p)
            kept_paths.add(os.path.join(resolve(root, parent), base))
            kept_paths.add(resolve(root, p))
    directories = set()
    removed = 0
    for name in sorted(drop):
        for p in listed_paths(info_dir, name):
            parent, base = os.path.split(p)
            inside = os.path.join(resolve(root, parent), base)
            if inside in kept_paths or inside.split("/")[1] in ("proc", "sys", "dev"):
                continue
            full = root + inside
            if not os.path.lexists(full):
                continue
            if os.path.isdir(root + resolve(root, inside)):
                # Also a symlink to a directory, such as /bin -> usr/bin: kept.
                if not os.path.islink(full):
                    directories.add(full)
                continue
            os.unlink(full)
            removed += 1
    for d in sorted(directories, key=lambda d: d.count("/"), reverse=True):
        if d[len(root):] not in kept_paths and not os.listdir(d):
            os.rmdir(d)
    for entry in info_files(info_dir, drop):
        os.unlink(entry)

    # Alternatives whose package went: the link in /etc/alternatives and the
    # public link to it (/usr/bin/pager -> /etc/alternatives/pager).
    alternatives = os.path.join(root, "etc/alternatives")
    if os.path.isdir(alternatives):
        for entry in os.listdir(alternatives):
            link = os.path.join(alternatives, entry)
            if os.path.islink(link) and not os.path.exists(root + resolve(root, "/etc/alternatives/" + entry)):
                os.unlink(link)
        for d in ("usr/bin", "usr/sbin"):
            for entry in os.listdir(os.path.join(root, d)):
                link = os.path.join(root, d, entry)
                if os.path.islink(link) and os.readlink(link).startswith("/etc/alternatives/") \
                        and not os.path.lexists(root + os.readlink(link)):
                    os.unlink(link)
    # Login shells that are gone (bash).
    shells = os.path.join(root, "etc/shells")
    if os.path.exists(shells):
        with open(shells, encoding="utf-8") as f:
            lines = f.readlines()
        with open(shells, "w", encoding="utf-8") as f:
            f.writelines(l for l in lines if l.startswith("#") or not l.strip()
                         or os.path.lexists(root + resolve(root, l.strip())))

    with open(status_path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(raw for fields, raw in stanzas
                            if fields.get("Package") in keep) + "\n")
    for name in ("status-old", "available", "available-old", "diversions-old",
                 "statoverride-old"):
        path = os.path.join(root, "var/lib/dpkg", name)
        if os.path.exists(path):
            os.unlink(path)
    print(f"rootfs: kept {len(keep)} packages, removed {len(drop)} "
          f"({removed} files): {' '.join(sorted(drop))}")


def sizes(root, top):
    info_dir = os.path.join(root, "var/lib/dpkg/info")
    with open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8") as f:
        packages = [fields["Package"] for fields, _ in parse_status(f.read())
                    if installed(fields)]
    seen, per_package = set(), {}
    for name in packages:
        total = 0
        for p in listed_paths(info_dir, name):
            full = root + resolve(root, p)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
        per_package[name] = total
    everything = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in filenames:
            st = os.lstat(os.path.join(dirpath, entry))
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                everything += st.st_size
    mib = lambda n: f"{n / 1048576:6.1f} MiB"
    total = sum(per_package.values()) + everything
    print(f"Debian root filesystem: {mib(total).strip()} in files, {len(packages)} packages; the largest:")
    for name, size in sorted(per_package.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {mib(size)}  {name}")
    print(f"  {mib(everything)}  in files of no package (/etc, dpkg's database)")


def main(argv):
    if len(argv) >= 4 and argv[1] == "prune":
        prune(os.path.abspath(argv[2]), argv[3])
    elif len(argv) >= 3 and argv[1] == "sizes":
        sizes(os.path.abspath(argv[2]), int(argv[3]) if len(argv) > 3 else 10)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
