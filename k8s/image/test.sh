#!/usr/bin/env bash
# The check of hpo's image: unpacks the OCI archive (build.sh's, or IMAGE_TAR) into a
# fresh root filesystem by the OCI spec alone, checks its configuration and files, then
# runs its entrypoint and hpoctl from it the way a container runtime would: as uid
# 65532, the image read-only, a writable /var/lib/hpo and /tmp, /proc and /dev.
#
#   k8s/image/test.sh [IMAGE_TAR]     # without IMAGE_TAR, runs build.sh first
#
# Needs root (files owned by 65532, mounts in a private mount namespace), python3 with
# grpcio, tar and util-linux's unshare. Ends with "image: N passed, N failed" and exits
# non-zero when a check failed.
#
# A check is `check DESCRIPTION COMMAND...`; a condition is often `eval '...'`, its
# variables expanded when it runs:
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ref=${HPO_IMAGE_TAG:-localhost/hpo:latest}

passed=0
failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() { # DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
  echo "image: $passed passed, $failed failed"
  ((failed == 0))
}

if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: must run as root (it unpacks files owned by 65532 and mounts in a private namespace)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hpo-image-test.XXXXXX")
pids=()
cleanup() {
  local pid
  # The server itself, or `timeout` around an hpoctl (which passes SIGTERM on).
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Every mount was made in a private namespace that ended with its processes;
  # --one-file-system all the same, so nothing mounted is ever followed.
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
oci() { python3 "$here/oci.py" "$@"; }

image_tar=${1:-}
if [[ -z $image_tar ]]; then
  image_tar=$work/hpo-image.tar
  if ! "$here/build.sh" --out "$image_tar"; then
    not_ok "build.sh builds the image"
    finish
    exit 1
  fi
  ok "build.sh builds the image"
fi

# --- The archive and the image's configuration -------------------------------------
layout=$work/layout
rootfs=$work/rootfs
meta=$work/meta
mkdir -p "$layout"
if tar -xf "$image_tar" -C "$layout" && oci unpack "$layout" "$rootfs" "$meta" "$ref"; then
  ok "the archive is an OCI image layout naming $ref; every blob matches its digest; its layers unpack"
else
  not_ok "the archive is an OCI image layout naming $ref; every blob matches its digest; its layers unpack"
  finish
  exit 1
fi
check "containerd's name annotation is $ref too (ctr import, kind load)" \
  grep -qF "\"io.containerd.image.name\":\"$ref\"" "$layout/index.json"
# Where these tools are installed: the archive as they read it.
if command -v skopeo >/dev/null; then
  check "skopeo reads the archive (skopeo copy oci-archive:...)" \
    eval 'skopeo inspect --raw "oci-archive:$image_tar" >/dev/null'
fi
if command -v podman >/dev/null; then
  # A storage of its own, so that this machine's podman images stay as they are.
  podman_load() {
    local p=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs)
    "${p[@]}" load -i "$image_tar" >"$work/podman.log" 2>&1 &&
      [[ $("${p[@]}" image inspect "$ref" --format '{{.Config.User}}' 2>>"$work/podman.log") == 65532:65532 ]]
  }
  check "podman load -i names it $ref" podman_load
fi

summary=$(cat "$meta/summary")
has() { grep -qxF -- "$1" <<<"$summary"; }
check "user is 65532:65532 (not root)" has "user=65532:65532"
check "entrypoint is [\"/usr/local/bin/hpo-server\"]" has 'entrypoint=["/usr/local/bin/hpo-server"]'
check "default command is [\"--db=/var/lib/hpo/hpo.db\"]" has 'cmd=["--db=/var/lib/hpo/hpo.db"]'
check "ports 50051/tcp and 8080/tcp are exposed" eval 'has port=50051/tcp && has port=8080/tcp'
check "HPO_DB=/var/lib/hpo/hpo.db, working directory /var/lib/hpo" \
  eval 'has env=HPO_DB=/var/lib/hpo/hpo.db && has workdir=/var/lib/hpo'
labels_set() {
  local l
  for l in title description licenses; do
    grep -q "^label=org.opencontainers.image.$l=." <<<"$summary" || return 1
  done
}
check "labels org.opencontainers.image.{title,description,licenses}" labels_set
check "platform linux/amd64" eval 'has os=linux && has architecture=amd64'

# The Containerfile states the same settings (labels set from a build argument
# aside), in both directions: neither can change without the other.
settings() { grep -v -e '^label=org.opencontainers.image.source=' -e '^os=' -e '^architecture=' | sort; }
if diff <(oci containerfile "$here/Containerfile" | settings) <(settings <<<"$summary") >"$work/drift"; then
  ok "the Containerfile and build.sh give the image the same settings"
else
  not_ok "the Containerfile and build.sh give the image the same settings (< Containerfile, > image):"
  sed 's/^/#   /' "$work/drift"
fi
check "the Containerfile makes the same user and data directory" eval \
  'grep -q -- "--uid 65532 --gid 65532 --home-dir /var/lib/hpo" "$here/Containerfile" &&
   grep -q -- "install -d -m 0755 -o 65532 -g 65532 /var/lib/hpo" "$here/Containerfile"'

# --- Its files ------------------------------------------------------------------------
check "/etc/passwd and /etc/group have hpo, 65532, home /var/lib/hpo" eval \
  'grep -q "^hpo:[^:]*:65532:65532:[^:]*:/var/lib/hpo:" "$rootfs/etc/passwd" &&
   grep -q "^hpo:[^:]*:65532:" "$rootfs/etc/group"'
check "/var/lib/hpo is owned by 65532:65532; /tmp is 1777" eval \
  '[[ $(stat -c %u:%g "$rootfs/var/lib/hpo") == 65532:65532 && $(stat -c %a "$rootfs/tmp") == 1777 ]]'
check "/bin/sh is dash; perl is there" eval \
  '[[ $(readlink -f "$rootfs/bin/sh") == "$rootfs/usr/bin/dash" && -x $rootfs/usr/bin/perl ]]'
if command -v readelf >/dev/null; then
  check "hpo-server and hpoctl are stripped (no symbol table)" eval \
    '! readelf -S "$rootfs/usr/local/bin/hpo-server" "$rootfs/usr/local/bin/hpoctl" | grep -q "\.symtab"'
fi
check "no apt, dpkg or bash in the image" eval \
  '! [[ -e $rootfs/usr/bin/dpkg || -e $rootfs/usr/bin/apt-get || -e $rootfs/usr/bin/bash ]]'
packages_listed() {
  local p
  while read -r p; do
    grep -qx "Package: $p" "$rootfs/var/lib/dpkg/status" || { echo "#   not listed: $p"; return 1; }
  done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages.txt")
  grep -qx 'VERSION_ID="12"' "$rootfs/usr/lib/os-release"
}
check "dpkg's status lists every package of packages.txt; os-release is Debian 12" packages_listed

# --- Running it -----------------------------------------------------------------------
# enter.sh ROOTFS UID:GID WORKDIR [--ro SRC:DST]... -- COMMAND...: inside `unshare
# --mount` (a private namespace), the mounts a runtime makes, then COMMAND in ROOTFS.
cat >"$work/enter.sh" <<'SH'
#!/bin/sh
set -eu
root=$1 user=$2 wd=$3
shift 3
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
for d in null zero full random urandom tty; do
  : >"$root/dev/$d"
  mount --bind "/dev/$d" "$root/dev/$d"
done
ln -s /proc/self/fd "$root/dev/fd"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
# The data volume, writable under the read-only image.
mount --bind "$root/var/lib/hpo" "$root/var/lib/hpo"
while [ "$1" = --ro ]; do
  mount --bind "${2%%:*}" "$root${2#*:}"
  mount -o remount,bind,ro "$root${2#*:}"
  shift 2
done
shift
mount -o remount,bind,ro "$root"
exec unshare --root="$root" --wd="$wd" --setgid="${user#*:}" --setuid="${user%%:*}" -- "$@"
SH
chmod +x "$work/enter.sh"

mapfile -t entrypoint <"$meta/entrypoint"
mapfile -t cmd <"$meta/cmd"
mapfile -t image_env <"$meta/env"
workdir=$(oci json "$meta/config.json" config.WorkingDir)
user=$(oci json "$meta/config.json" config.User)
# As runc does: HOME from the user's /etc/passwd entry when the image sets none.
image_env+=("HOME=$(awk -F: -v u="${user%%:*}" '$3 == u { print $6 }' "$rootfs/etc/passwd")")
hpoctl() { # ARGS...: the image's hpoctl, against the server
  timeout 120 env -i "${image_env[@]}" unshare --mount --propagation private -- \
    "$work/enter.sh" "$rootfs" "$user" "$workdir" "${ro[@]}" -- \
    /usr/local/bin/hpoctl --server "127.0.0.1:$grpc_port" "$@"
}

read -r grpc_port http_port < <(oci free-ports 2)
server_pid=""
start_server() { # LOG: the entrypoint with the default command, plus test ports
  # Its own process all along (env, unshare and enter.sh exec), so $! is the server.
  # --host: this machine's loopback only, not its other interfaces.
  env -i "${image_env[@]}" unshare --mount --propagation private -- \
    "$work/enter.sh" "$rootfs" "$user" "$workdir" -- \
    "${entrypoint[@]}" "${cmd[@]}" --host=127.0.0.1 \
    "--grpc_port=$grpc_port" "--http_port=$http_port" >"$1" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  local i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$server_pid" 2>/dev/null || return 1
    [[ $(oci http-status "http://127.0.0.1:$http_port/readyz" 2>/dev/null) == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}
stop_server() { # exit 0 within its 5 s shutdown grace, plus a margin
  local i status=0
  kill -TERM "$server_pid"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "#   still running 10 s after SIGTERM"
    return 1
  fi
  wait "$server_pid" || status=$?
  echo "#   exited $status after $((i / 10)).$((i % 10)) s"
  ((status == 0))
}

# A spec as in k8s/overlays/workers (a perl one-liner behind sh), given to the workers
# read-only at /mnt as the ConfigMap is at /etc/hpo.
mkdir -p "$work/spec"
cat >"$work/spec/experiment.yaml" <<'YAML'
name: image-workers
parameters:
  - name: x
    doubleRange: {min: -4, max: 4}
objectives: [{name: loss, goal: MINIMIZE}]
maxTrials: 4
parallelTrials: 2
command: >-
  test -n "$HPO_TRIAL_NUMBER" &&
  perl -e 'printf "loss=%.6f\n", (${trialParameters.x} - 1) ** 2'
YAML
ro=(--ro "$work/spec:/mnt")

if start_server "$work/server.log"; then
  ok "hpo-server starts from the image (read-only, as 65532) and /readyz answers"
  check "the server runs as uid and gid 65532" eval \
    '[[ $(awk "/^Uid:|^Gid:/ { print \$2 \$3 \$4 \$5 }" /proc/$server_pid/status | sort -u) == 65532655326553265532 ]]'
  check "gRPC grpc.health.v1.Health/Check is SERVING (the startup probe)" \
    oci grpc-health "127.0.0.1:$grpc_port"
  check "HTTP GET /healthz and /readyz answer 200 (the liveness and readiness probes)" eval \
    '[[ $(oci http-status "http://127.0.0.1:$http_port/healthz") == 200 &&
        $(oci http-status "http://127.0.0.1:$http_port/readyz") == 200 ]]'
  grpcurl=${HPO_GO_TOOLS_BIN:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/hpo-tools/go/bin}/grpcurl
  if [[ -x $grpcurl ]]; then
    check "grpcurl lists hpo.v1.HpoService by reflection" eval \
      '"$grpcurl" -plaintext "127.0.0.1:$grpc_port" list | grep -qx hpo.v1.HpoService'
    check "grpcurl grpc.health.v1.Health/Check answers SERVING" eval \
      '"$grpcurl" -plaintext "127.0.0.1:$grpc_port" grpc.health.v1.Health/Check | grep -q "\"SERVING\""'
  fi
  run_from_flags() {
    hpoctl run --name image-run --command "perl -e 'printf \"loss=%.6f\\n\", (\${x} - 1) ** 2'" \
      --param x=double:-2:2 --objective loss:minimize --max-trials 3 --parallel 1 \
      --log-dir /tmp/hpoctl-logs >"$work/run.log" 2>&1 || { sed 's/^/#   /' "$work/run.log"; return 1; }
  }
  check "the image's hpoctl runs an experiment from flags (trials: perl through /bin/sh)" run_from_flags
  # Two workers at once on one spec, as the workers Job's pods: the first creates
  # the experiment, the other joins it.
  worker_pids=()
  for w in 1 2; do
    # Not through the hpoctl function: $! must be `timeout` itself, for cleanup.
    timeout 120 env -i "${image_env[@]}" unshare --mount --propagation private -- \
      "$work/enter.sh" "$rootfs" "$user" "$workdir" "${ro[@]}" -- \
      /usr/local/bin/hpoctl --server "127.0.0.1:$grpc_port" worker -f /mnt/experiment.yaml \
      --worker-id "w$w" --log-dir /tmp/hpoctl-logs >"$work/worker$w.log" 2>&1 &
    worker_pids[w]=$!
    pids+=("$!")
  done
  workers_ok=1
  for w in 1 2; do wait "${worker_pids[w]}" || workers_ok=0; done
  check "two hpoctl workers (worker -f SPEC) share one experiment and exit 0" test "$workers_ok" = 1
  ((workers_ok)) || sed 's/^/#   /' "$work/worker1.log" "$work/worker2.log"
  hpoctl get image-workers >"$work/workers.json" 2>"$work/get.log" || true
  check "the workers' experiment is COMPLETED with its 4 trials completed" eval \
    '[[ $(oci json "$work/workers.json" state) == COMPLETED &&
        $(oci json "$work/workers.json" status.completed) == 4 ]]'
  hpoctl list >"$work/list.txt" 2>&1 || true
  check "hpoctl list shows both experiments COMPLETED" eval \
    'grep -Eq "^image-run +COMPLETED" "$work/list.txt" && grep -Eq "^image-workers +COMPLETED" "$work/list.txt"'
  # As the sidecar pattern's trainer does (--server localhost:50051): the name through
  # the image's /etc/hosts and glibc's resolver.
  check "the image's hpoctl reaches the server as localhost:PORT" eval \
    'timeout 60 env -i "${image_env[@]}" unshare --mount --propagation private -- \
       "$work/enter.sh" "$rootfs" "$user" "$workdir" -- \
       /usr/local/bin/hpoctl --server "localhost:$grpc_port" get image-run 2>&1 | grep -q "\"state\": \"COMPLETED\""'
  check "SIGTERM: hpo-server exits 0 within its shutdown grace" stop_server
  check "the database is in the data volume, /var/lib/hpo/hpo.db, owned by 65532" eval \
    '[[ -f $rootfs/var/lib/hpo/hpo.db && $(stat -c %u "$rootfs/var/lib/hpo/hpo.db") == 65532 ]]'
  # A new container on the same volume, as after a pod's restart.
  if start_server "$work/server2.log"; then
    hpoctl list >"$work/list2.txt" 2>&1 || true
    check "a restarted server has both experiments from the volume" eval \
      'grep -Eq "^image-run +COMPLETED" "$work/list2.txt" && grep -Eq "^image-workers +COMPLETED" "$work/list2.txt"'
    stop_server >/dev/null || true
  else
    not_ok "a restarted server has both experiments from the volume (it did not start)"
    sed 's/^/#   /' "$work/server2.log"
  fi
else
  not_ok "hpo-server starts from the image (read-only, as 65532) and /readyz answers"
  sed 's/^/#   /' "$work/server.log"
fi

finish
