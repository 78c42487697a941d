#!/bin/sh
# Checks that the parameters arrive the same way by every route, then reports
# loss = x*x. Arguments: x from ${trialParameters.x}, x from ${x}, kind.
set -e
python3 - "$@" <<'PY'
import json, os, sys
x1, x2, kind = sys.argv[1], sys.argv[2], sys.argv[3]
params = json.load(open(os.environ["HPO_TRIAL_PARAMETERS_FILE"]))
assert float(x1) == float(x2) == float(os.environ["x"]) == float(os.environ["HPO_PARAM_X"]), (x1, x2)
assert abs(params["x"] - float(x1)) < 1e-4, (params, x1)
assert kind == os.environ["kind"] == params["kind"], kind
assert os.environ["HPO_EXPERIMENT"] and os.environ["HPO_TRIAL_NUMBER"]
print("loss=%g" % (float(x1) ** 2))
PY
