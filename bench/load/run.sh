#!/usr/bin/env bash
# Builds an optimized hpo-server and runs the load driver (bench/load) against it.
#
#   bench/load/run.sh [driver flags]                  # this working tree's server
#   bench/load/run.sh -smoke                          # a few seconds: everything works
#   bench/load/run.sh --before REV [driver flags]     # REV's server (A) against this one (B)
#   bench/load/run.sh --build REV                     # only build REV's server; print its path
#
# Options (before the driver's flags):
#   --before REV   build REV (any git revision) and compare: REV's server is the baseline,
#                  -server, labelled with its short hash; this working tree's is -compare.
#   --server BIN   use BIN instead of building this working tree's server.
#   --build REV    build REV's server if it is not cached, print its path, exit.
#   --help         this text.
# The driver's flags follow: `cd bench/load && go run . -help` lists them. Paths among them
# are relative to the current directory.
#
# A revision's server is built in a git worktree at /tmp/hpo-bench-worktree (a fixed path,
# so Bazel's cache for it carries over from one revision to the next) and kept, built
# once, as $HPO_BENCH_CACHE/servers/<commit>/hpo-server (default ~/.cache/hpo-bench).
# Builds are -c opt, which the workspace's .bazelrc makes the default today; it is given
# explicitly for older revisions whose .bazelrc did not.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${HPO_BENCH_CACHE:-$HOME/.cache/hpo-bench}
worktree=/tmp/hpo-bench-worktree

before=""
server=""
while (($# > 0)); do
  case $1 in
    --before) before=$2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    --build) build_only=$2; shift 2 ;;
    --help | -h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done

# build_rev REV: prints the path of REV's server, building it first if it is not cached.
build_rev() {
  local commit out
  commit=$(git -C "$root" rev-parse --verify "$1^{commit}")
  out=$cache/servers/$commit/hpo-server
  if [[ ! -x $out ]]; then
    echo "== building $1 ($commit) in $worktree" >&2
    if [[ -e $worktree ]]; then git -C "$root" worktree remove --force "$worktree" >&2 || rm -rf "$worktree"; fi
    git -C "$root" worktree prune
    git -C "$root" worktree add --detach "$worktree" "$commit" >&2
    local rc=0
    (
      cd "$worktree"
      bazel build --symlink_prefix=/ -c opt //server:hpo-server >&2
      mkdir -p "$(dirname "$out")"
      cp "$(bazel info -c opt bazel-bin)/server/hpo-server" "$out.tmp"
      mv "$out.tmp" "$out"
    ) || rc=$?
    # The worktree's Bazel server would otherwise linger, holding memory.
    (cd "$worktree" && bazel shutdown) >&2 2>&1 || true
    git -C "$root" worktree remove --force "$worktree" >&2 || true
    if ((rc != 0)); then
      echo "run.sh: building $1 failed" >&2
      exit "$rc"
    fi
  fi
  echo "$out"
}

if [[ -n ${build_only:-} ]]; then
  build_rev "$build_only"
  exit 0
fi

work=$(mktemp -d -t hpo-load-run-XXXXXX)
trap 'rm -rf "$work"' EXIT

if [[ -z $server ]]; then
  echo "== bazel build -c opt //server:hpo-server" >&2
  (cd "$root" && bazel build --symlink_prefix=/ -c opt //server:hpo-server >&2)
  # A copy: a build running meanwhile in this workspace must not swap the binary mid-run.
  cp "$(cd "$root" && bazel info -c opt bazel-bin)/server/hpo-server" "$work/hpo-server"
  server=$work/hpo-server
fi

echo "== go build bench/load" >&2
(cd "$root/bench/load" && go build -buildvcs=false -o "$work/load" .)

if [[ -n $before ]]; then
  old=$(build_rev "$before")
  old_label=$(git -C "$root" rev-parse --short "$before^{commit}")
  new_label=$(git -C "$root" describe --always --dirty)
  if [[ $new_label == "$old_label" ]]; then new_label="$new_label (tree)"; fi
  "$work/load" -server "$old" -label "$old_label" -compare "$server" -compare_label "$new_label" "$@"
else
  "$work/load" -server "$server" -label "$(git -C "$root" describe --always --dirty)" "$@"
fi
