#!/bin/sh
# A trial program in Katib's style: hyperparameters come as --name=value flags, the
# result goes to stdout as metric=value lines.
#   ./quadratic.sh --x=0.5 --y=-1 --kind=plain   ->   loss=0.5
set -eu
x=0 y=0 kind=plain
for arg in "$@"; do
  case $arg in
    --x=*) x=${arg#--x=} ;;
    --y=*) y=${arg#--y=} ;;
    --kind=*) kind=${arg#--kind=} ;;
    *) echo "unknown flag $arg" >&2; exit 2 ;;
  esac
done
awk -v x="$x" -v y="$y" -v kind="$kind" 'BEGIN {
  loss = (x - 1) ^ 2 + (y + 2) ^ 2 + (kind == "shifted" ? 0.5 : 0)
  printf "loss=%.6f\n", loss
}'
