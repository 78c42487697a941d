#!/bin/sh
# A worker in plain shell over hpo's REST API (curl; jq if installed, else python3 to
# read JSON). It creates the experiment in experiment.json (unless it exists), then
# loops: ask for a trial, run the trial program with the trial's parameters as
# --name=value flags (Katib's convention), read metric=value lines from its output,
# report them, until the experiment hands out no more trials. Then it prints the best.
#
#   HPO_URL=http://localhost:8080 ./run.sh
#
# Settings (environment): HPO_URL (default http://localhost:8080), SPEC (the
# CreateExperiment request, default experiment.json here), TRIAL_CMD (default
# ./quadratic.sh here), WORKER_ID (default sh-HOST-PID). Several copies of this script
# can run at once: each is a worker.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
HPO_URL=${HPO_URL:-http://localhost:8080}
SPEC=${SPEC:-$HERE/experiment.json}
TRIAL_CMD=${TRIAL_CMD:-$HERE/quadratic.sh}
WORKER_ID=${WORKER_ID:-sh-$(hostname)-$$}

# json FILTER < document: a jq filter, or (without jq) the few forms used here.
json() {
  if command -v jq >/dev/null 2>&1; then
    jq -r "$1"
  else
    python3 -c '
import json, sys
doc, path = json.load(sys.stdin), sys.argv[1]
if path == "flags":
    for k, v in doc["parameters"].items():
        print(f"--{k}={v}")
    sys.exit()
for part in path.strip(".").replace("[", ".").replace("]", "").split("."):
    doc = doc[int(part)] if isinstance(doc, list) else doc.get(part)
print("" if doc is None else doc)' "$1"
  fi
}
FLAGS_FILTER='.parameters | to_entries[] | "--\(.key)=\(.value)"'
command -v jq >/dev/null 2>&1 || FLAGS_FILTER=flags

# call METHOD PATH [BODY]: the response body goes to $response, its status to $status.
RESPONSE=$(mktemp)
trap 'rm -f "$RESPONSE"' EXIT
call() {
  status=$(curl -sS -o "$RESPONSE" -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -w '%{http_code}' "$HPO_URL$2")
  response=$(cat "$RESPONSE")
}

experiment=$(json .experiment.name <"$SPEC")
call POST /v1/experiments "$(cat "$SPEC")"
case $status in
  200) echo "created experiment $experiment" ;;
  409) echo "experiment $experiment exists; joining it" ;;
  *) echo "CreateExperiment: HTTP $status: $response" >&2; exit 1 ;;
esac

ran=0
while :; do
  call POST "/v1/experiments/$experiment/trials:suggest" "{\"workerId\": \"$WORKER_ID\"}"
  trial=$response
  if [ "$status" != 200 ]; then
    code=$(printf '%s' "$trial" | json .code)
    case $code in
      8) sleep 0.2; continue ;; # RESOURCE_EXHAUSTED: parallelTrials run; ask again
      9) break ;;               # FAILED_PRECONDITION: no more trials
      *) echo "GetTrialConfig: HTTP $status: $trial" >&2; exit 1 ;;
    esac
  fi
  number=$(printf '%s' "$trial" | json .number)
  flags=$(printf '%s' "$trial" | json "$FLAGS_FILTER" | tr '\n' ' ')
  # shellcheck disable=SC2086 # flags are one word each
  if output=$($TRIAL_CMD $flags); then
    metrics=$(printf '%s\n' "$output" |
      sed -n 's/^\([A-Za-z_][A-Za-z0-9_.:-]*\)=\([-+0-9.eE]*\)$/"\1": \2/p' | paste -sd, -)
    report="{\"workerId\": \"$WORKER_ID\", \"metrics\": {$metrics}}"
  else
    report="{\"workerId\": \"$WORKER_ID\", \"failed\": true, \"failureReason\": \"exit status $?\"}"
  fi
  call POST "/v1/experiments/$experiment/trials/$number:report" "$report"
  done_trial=$response
  if [ "$status" != 200 ]; then
    echo "ReportResult: HTTP $status: $done_trial" >&2
    exit 1
  fi
  echo "trial $number: $flags-> $(printf '%s' "$done_trial" | json .state) $metrics"
  ran=$((ran + 1))
done

call GET "/v1/experiments/$experiment/best"
best=$response
echo "ran $ran trials"
echo "best: trial $(printf '%s' "$best" | json '.trials[0].number')" \
  "$(printf '%s' "$best" | json '.trials[0].metrics')" \
  "$(printf '%s' "$best" | json '.trials[0].parameters')" | tr -s ' \n' ' '
echo
