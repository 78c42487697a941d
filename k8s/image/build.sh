#!/usr/bin/env bash
# Builds hpo's container image, localhost/hpo:latest, as an OCI archive: without a
# container daemon and without a base image from a registry. The root filesystem is
# made from Debian 12's packages by mmdebstrap, the image assembled by umoci.
#
#   k8s/image/build.sh [--out FILE] [--tag NAME:TAG] [--no-cache]
#   k8s/image/build.sh --context DIR     # a build context for the Containerfile instead
#
# Needs root (mmdebstrap --mode=root creates files owned by root and by 65532), the
# Debian packages mmdebstrap and umoci, python3, and the two binaries:
# $HPO_SERVER_BIN (default bazel-bin/server/hpo-server) and $HPOCTL_BIN (default
# bazel-bin/cli/hpoctl). See k8s/image/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
  cat <<EOF
usage: $0 [--out FILE] [--tag NAME:TAG] [--no-cache]
       $0 --context DIR
  --out FILE     the OCI archive to write (default \${TMPDIR:-/tmp}/hpo-image/hpo-image.tar)
  --tag NAME:TAG the image's name in the archive (default localhost/hpo:latest)
  --no-cache     build the Debian root filesystem again even if a cached one fits
  --context DIR  copy the Containerfile, packages.txt and the stripped binaries into
                 DIR, for docker/podman build, and build nothing else
Environment: HPO_SERVER_BIN, HPOCTL_BIN (the binaries), HPO_IMAGE_MIRROR and
HPO_IMAGE_SECURITY_MIRROR (Debian mirrors; default: this machine's apt sources, else
deb.debian.org), HPO_IMAGE_CACHE_DAYS (a cached root filesystem older than this is
rebuilt, for Debian's security updates; default 7), SOURCE_DATE_EPOCH (timestamps).
EOF
}

out=${TMPDIR:-/tmp}/hpo-image/hpo-image.tar
tag=localhost/hpo:latest
context=""
use_cache=1
while (($#)); do
  case $1 in
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --tag) tag=${2:?--tag needs NAME:TAG}; shift 2 ;;
    --tag=*) tag=${1#--tag=}; shift ;;
    --context) context=${2:?--context needs a directory}; shift 2 ;;
    --context=*) context=${1#--context=}; shift ;;
    --no-cache) use_cache=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ $tag != *:* ]]; then
  echo "build.sh: --tag: expected NAME:TAG, got \"$tag\"" >&2
  exit 2
fi

# The image's runtime configuration. The Containerfile states the same; test.sh
# compares the two, so they cannot drift apart.
readonly HPO_UID=65532 # the manifests' runAsUser/runAsGroup/fsGroup
readonly ENTRYPOINT=/usr/local/bin/hpo-server
readonly DATA_DIR=/var/lib/hpo
# Also in $HPO_DB: a Kubernetes `args:` replaces this default command, and the
# server then still finds its database through the environment.
readonly DEFAULT_CMD=--db=$DATA_DIR/hpo.db
readonly PORTS=(50051/tcp 8080/tcp)
readonly ENV=(
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  "HPO_DB=$DATA_DIR/hpo.db"
)
readonly LABELS=(
  org.opencontainers.image.title=hpo
  "org.opencontainers.image.description=hpo hyperparameter-optimization service: hpo-server (gRPC :50051, HTTP :8080) and hpoctl"
  # No license has been chosen yet: SPDX's "no assertion" until one is.
  org.opencontainers.image.licenses=NOASSERTION
)
# Where the source is published: $HPO_IMAGE_SOURCE, else the checkout's origin when it
# is an https URL (without any user:token@ part), else no such label.
source_url=${HPO_IMAGE_SOURCE:-$(git -C "$repo" config --get remote.origin.url 2>/dev/null |
  sed -n 's|^https://\([^@/]*@\)\{0,1\}|https://|p' || true)}

server_bin=${HPO_SERVER_BIN:-$repo/bazel-bin/server/hpo-server}
hpoctl_bin=${HPOCTL_BIN:-$repo/bazel-bin/cli/hpoctl}
for bin in "$server_bin" "$hpoctl_bin"; do
  if [[ ! -x $bin ]]; then
    echo "build.sh: $bin: no such executable; build it first" \
      "(bazel build //server:hpo-server //cli:hpoctl) or set HPO_SERVER_BIN/HPOCTL_BIN" >&2
    exit 1
  fi
done

missing=()
need() { command -v "$1" >/dev/null || missing+=("$2"); }
need python3 python3
need strip binutils
need tar tar
if [[ -z $context ]]; then
  need mmdebstrap mmdebstrap
  need umoci umoci
  need ldconfig libc-bin
fi
if ((${#missing[@]})); then
  echo "build.sh: missing tools; install them with:" \
    "apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# Stripped copies: the image does not need the symbols, and bazel-bin stays as it is.
copy_binaries() { # DIR
  strip --strip-unneeded -o "$1/hpo-server" "$server_bin"
  strip --strip-unneeded -o "$1/hpoctl" "$hpoctl_bin"
  chmod 0755 "$1/hpo-server" "$1/hpoctl"
}

if [[ -n $context ]]; then
  mkdir -p "$context"
  cp "$here/Containerfile" "$here/packages.txt" "$context/"
  copy_binaries "$context"
  echo "build context: $context (Containerfile, packages.txt, hpo-server, hpoctl)"
  echo "build it with:  podman build -t $tag $context"
  echo "           or:  docker build -t $tag -f $context/Containerfile $context"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "build.sh: must run as root (mmdebstrap --mode=root; files owned by root and $HPO_UID)" >&2
  exit 1
fi

start=$SECONDS
mib() { awk -v n="$1" 'BEGIN { printf "%.1f MiB", n / 1048576 }'; }

# The packages, from the one list (comments and blank lines dropped).
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages.txt")

# This machine's Debian mirrors as apt sees them (a local mirror or proxy is then
# used here too), else Debian's own.
host_mirror() { # SUITE
  # shellcheck disable=SC2016 # apt's format fields, not shell expansions
  apt-get indextargets --format '$(SITE) $(RELEASE)' 2>/dev/null |
    awk -v suite="$1" '$2 == suite { print $1; exit }' || true
}
mirror=${HPO_IMAGE_MIRROR:-$(host_mirror bookworm)}
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=${HPO_IMAGE_SECURITY_MIRROR:-$(host_mirror bookworm-security)}
security_mirror=${security_mirror:-http://deb.debian.org/debian-security}

excluded=(man info locale lintian linda gdb gcc bug)
mmdebstrap_args=(
  --mode=root --variant=essential --format=directory
  # /bin, /lib, /sbin as symlinks into /usr (merged /usr, as Debian 12 has it)
  # without the usrmerge package, which would bring perl in.
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --include="$(IFS=,; echo "${packages[*]}")"
  --aptopt='Acquire::Languages "none"'
  # The download directory is inside the root filesystem, which _apt cannot read:
  # apt would warn, then download as root anyway.
  --aptopt='APT::Sandbox::User "root"'
  # Documentation is not installed, except the copyright files.
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  # glibc's iconv modules (8 MiB): nothing in the image converts character sets.
  --dpkgopt='path-exclude=/usr/lib/*/gconv/*'
)
for d in "${excluded[@]}"; do mmdebstrap_args+=("--dpkgopt=path-exclude=/usr/share/$d/*"); done
mirrors=(
  "deb $mirror bookworm main"
  "deb $mirror bookworm-updates main"
  "deb $security_mirror bookworm-security main"
)

# What build.sh adds to the Debian packages: hpo's user and data directory, and no
# leftovers of the packages rootfs.py removed. Its text is part of the cache key.
customize_rootfs() { # ROOTFS
  local root=$1
  # The user the manifests run as (uid/gid 65532, distroless' "nonroot" number),
  # with the data volume's mount point as home. No login: nologin is not there
  # either, and nothing logs in to a container.
  echo "hpo:*:$HPO_UID:$HPO_UID:hpo server:$DATA_DIR:/usr/sbin/nologin" >>"$root/etc/passwd"
  echo "hpo:*:$HPO_UID:" >>"$root/etc/group"
  # bash went with the Essential set that rootfs.py removed.
  sed -i 's|^\(root:.*:\)/bin/bash$|\1/bin/sh|' "$root/etc/passwd"
  install -d -m 0755 -o "$HPO_UID" -g "$HPO_UID" "$root$DATA_DIR"
  chmod 1777 "$root/tmp"
  # Device nodes: the container runtime mounts its own /dev.
  find "$root/dev" -xdev -mindepth 1 -delete
  # What removed packages and mmdebstrap left outside dpkg's file lists: apt's and
  # dpkg's configuration and state (neither program is in the image), debconf's
  # cache, PAM's and systemd's settings, login's logs, the build machine's
  # hostname and resolver (the runtime provides both).
  rm -rf "$root"/etc/{apt,dpkg,pam.d,security,systemd,rc0.d,rc6.d,rcS.d,hostname,resolv.conf} \
    "$root"/var/cache/{apt,debconf} "$root"/var/lib/{apt,pam,systemd} \
    "$root"/var/lib/dpkg/{alternatives,triggers,diversions,lock,lock-frontend} \
    "$root"/var/log/{btmp,faillog,lastlog,wtmp} "$root"/usr/share/info
  # The dynamic loader's cache, for the libraries that stayed. ldconfig itself
  # (libc-bin) went, so this machine's runs on the root filesystem.
  ldconfig -r "$root"
  # Its cache of file times, which only makes the tarball differ from build to build.
  rm -rf "$root/var/cache/ldconfig"
}

# The cached root filesystem fits when the packages (not packages.txt's comments),
# the mmdebstrap options and mirrors, rootfs.py and customize_rootfs are the same.
cache_dir=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/hpo-image
cache_days=${HPO_IMAGE_CACHE_DAYS:-7}
key=$({
  echo "hpo-image rootfs v1"
  cat "$here/rootfs.py"
  printf '%s\n' "${packages[@]}" "${mmdebstrap_args[@]}" "${mirrors[@]}" "${SOURCE_DATE_EPOCH:-}"
  declare -f customize_rootfs
  echo "$HPO_UID $DATA_DIR"
} | sha256sum | cut -c1-16)
rootfs_tar=$cache_dir/rootfs-$key.tar
sizes_txt=$cache_dir/rootfs-$key.sizes

work=$(mktemp -d "${TMPDIR:-/tmp}/hpo-image-build.XXXXXX")
# --one-file-system: never follow into anything still mounted in the root filesystem.
trap 'rm -rf --one-file-system "$work"' EXIT

tar_flags=(--sort=name --numeric-owner)
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
  tar_flags+=(--mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime)
fi

if ((use_cache)) && [[ -f $rootfs_tar && -f $sizes_txt ]] &&
  [[ -n $(find "$rootfs_tar" -mtime "-$cache_days") ]]; then
  echo "rootfs: cached $rootfs_tar"
else
  echo "rootfs: mmdebstrap bookworm from $mirror (+ $security_mirror): ${packages[*]}"
  # Its progress to a log, shown when it fails.
  if ! mmdebstrap "${mmdebstrap_args[@]}" bookworm "$work/rootfs" "${mirrors[@]}" \
    >"$work/mmdebstrap.log" 2>&1; then
    tail -n 40 "$work/mmdebstrap.log" >&2
    echo "build.sh: mmdebstrap failed (above: the end of its log)" >&2
    exit 1
  fi
  grep -h '^I: success' "$work/mmdebstrap.log" | sed 's/^I:/rootfs: mmdebstrap:/'
  python3 "$here/rootfs.py" prune "$work/rootfs" "$here/packages.txt"
  customize_rootfs "$work/rootfs"
  mkdir -p "$cache_dir"
  python3 "$here/rootfs.py" sizes "$work/rootfs" 12 >"$work/sizes"
  # Member names without "./", as other image builders write them.
  mapfile -t top < <(cd "$work/rootfs" && LC_ALL=C ls -A)
  tar --create --file "$work/rootfs.tar" --directory "$work/rootfs" "${tar_flags[@]}" -- "${top[@]}"
  # Renamed into place, so an interrupted build never leaves half a tarball.
  mv "$work/rootfs.tar" "$rootfs_tar"
  mv "$work/sizes" "$sizes_txt"
  rm -rf --one-file-system "$work/rootfs"
  # Older root filesystems: other keys, or too old to be used.
  find "$cache_dir" -name 'rootfs-*' -mtime "+$cache_days" -delete
fi

# The second layer: hpo's binaries, alone, so a rebuild of them changes only it.
mkdir -p "$work/bin/usr/local/bin"
copy_binaries "$work/bin/usr/local/bin"
tar --create --file "$work/bin.tar" --directory "$work/bin" "${tar_flags[@]}" \
  --owner=0 --group=0 usr/local/bin/hpo-server usr/local/bin/hpoctl

layout=$work/oci
image="$layout:$tag"
history_flags=()
config_flags=()
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
  created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
  history_flags+=(--history.created="$created")
  config_flags+=(--created="$created")
fi
umoci init --layout "$layout"
umoci new --image "$image"
umoci raw add-layer --image "$image" "${history_flags[@]}" \
  --history.created_by="mmdebstrap --variant=essential bookworm, pruned to k8s/image/packages.txt" \
  "$rootfs_tar"
umoci raw add-layer --image "$image" "${history_flags[@]}" \
  --history.created_by="hpo-server and hpoctl in /usr/local/bin" "$work/bin.tar"
config_flags+=(
  --config.user="$HPO_UID:$HPO_UID"
  --config.entrypoint="$ENTRYPOINT"
  --config.cmd="$DEFAULT_CMD"
  --config.workingdir="$DATA_DIR"
  --config.stopsignal=SIGTERM
)
for p in "${PORTS[@]}"; do config_flags+=(--config.exposedports="$p"); done
for e in "${ENV[@]}"; do config_flags+=(--config.env="$e"); done
for l in "${LABELS[@]}"; do config_flags+=(--config.label="$l"); done
if [[ -n $source_url ]]; then
  config_flags+=(--config.label="org.opencontainers.image.source=$source_url")
fi
umoci config --image "$image" "${history_flags[@]}" \
  --history.created_by="k8s/image/build.sh: user, entrypoint, ports, environment" \
  "${config_flags[@]}"
# Each step above wrote a new manifest and config; only the last is referenced.
umoci gc --layout "$layout"
# containerd's importer (ctr import, kind load) names an imported image from this
# annotation; podman and skopeo read org.opencontainers.image.ref.name.
python3 - "$layout/index.json" "$tag" <<'PY'
import json, sys
path, tag = sys.argv[1:]
index = json.load(open(path))
for m in index["manifests"]:
    m.setdefault("annotations", {})["io.containerd.image.name"] = tag
json.dump(index, open(path, "w"), separators=(",", ":"))
PY

mkdir -p "$(dirname "$out")"
tar --create --file "$out.tmp" --directory "$layout" "${tar_flags[@]}" \
  --owner=0 --group=0 oci-layout index.json blobs
mv "$out.tmp" "$out"

# Per layer: the gzip-compressed size in the archive, from the manifest.
read -r debian_gz hpo_gz < <(python3 - "$layout" <<'PY'
import json, os, sys
layout = sys.argv[1]
def blob(d):
    return os.path.join(layout, "blobs", *d["digest"].split(":"))
index = json.load(open(os.path.join(layout, "index.json")))
manifest = json.load(open(blob(index["manifests"][0])))
print(*(layer["size"] for layer in manifest["layers"]))
PY
)
echo
echo "image: $tag"
echo "archive: $out, $(mib "$(stat -c %s "$out")")" \
  "(gzip-compressed layers: Debian $(mib "$debian_gz"), hpo-server + hpoctl $(mib "$hpo_gz"))"
echo "unpacked: $(mib $(($(stat -c %s "$rootfs_tar") + $(stat -c %s "$work/bin.tar"))))" \
  "(layer tarballs: Debian $(mib "$(stat -c %s "$rootfs_tar")"), hpo-server + hpoctl $(mib "$(stat -c %s "$work/bin.tar")"))"
cat "$sizes_txt"
echo "built in $((SECONDS - start)) s"
