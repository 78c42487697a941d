"""A T9k (NNI) trial: reads its parameters where nni.get_next_parameter() would
get them (hpoctl's $HPO_TRIAL_PARAMETERS_FILE) and prints its final result bare,
as nni.report_final_result shows up in the output."""
import json
import os

params = json.load(open(os.environ["HPO_TRIAL_PARAMETERS_FILE"]))
print("training with", params)
print((params["learning_rate"] - 0.01) ** 2 + params["batch_size"] / 1e5)
