#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test, and ends with a line
# "N passed, N failed" counting individual test cases.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1

bazel test //... "$@"
status=$?

# Count test cases from the JUnit XML each test target leaves in bazel-testlogs.
python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
passed = failed = 0
for path in glob.glob("bazel-testlogs/**/test.xml", recursive=True):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        failed += 1
        continue
    cases = list(root.iter("testcase"))
    if not cases:
        failed += 1  # a target that ran no test case at all counts as a failure
        continue
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("result", "completed") == "completed" and case.get("status", "run") == "run":
            passed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
