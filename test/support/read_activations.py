"""An independent reader of an mbpp-stream activation store: NumPy only, as a researcher would load it.

    python3 read_activations.py STORE_DIR [DATASET_JSON]

Checks what a user relies on (every file loads, shapes and dtypes as activations.json says, one row per record,
rows aligned with rows.npy, and with the dataset when given) and prints what it read as JSON on stdout, so the
caller can compare the values with its own. Exit code 1 with a message on the first broken promise.
"""
import json
import os
import sys

import numpy as np


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def main(store, dataset_path=None):
    with open(os.path.join(store, "activations.json")) as f:
        layout = json.load(f)
    rows = np.load(os.path.join(store, layout["rows_file"]))
    if rows.dtype != np.int64 or rows.ndim != 2 or rows.shape[1] != 3:
        fail(f"rows.npy: {rows.dtype} {rows.shape}, expected int64 [N, 3]")
    keys = [(int(t), int(s)) for t, s, _ in rows]
    if len(set(keys)) != len(keys):
        fail("rows.npy: a record has two rows")
    arrays = {}
    for entry in layout["files"]:
        x = np.load(os.path.join(store, entry["file"]))
        if x.dtype != np.dtype(layout["dtype"]) or x.shape != (len(rows), layout["hidden"]):
            fail(f"{entry['file']}: {x.dtype} {x.shape}, expected {layout['dtype']} ({len(rows)}, {layout['hidden']})")
        # The README's split, as a user writes it.
        correct, wrong = x[rows[:, 2] == 1], x[rows[:, 2] == 0]
        if len(correct) + len(wrong) != len(x):
            fail(f"{entry['file']}: the is_correct split loses rows")
        arrays[entry["file"]] = {"dtype": str(x.dtype), "shape": list(x.shape), "values": x.astype(np.float64).tolist()}
    if dataset_path is not None:
        with open(dataset_path) as f:
            dataset = {(r["task_id"], r["sample_index"]): r for r in json.load(f)}
        for (task_id, sample_index), (_, _, is_correct) in zip(keys, rows):
            row = dataset.get((task_id, sample_index))
            if row is None or row["status"] != "ok" or bool(is_correct) != row["is_correct"]:
                fail(f"rows.npy: task {task_id} sample {sample_index} is not a judged dataset row with is_correct={bool(is_correct)}")
        judged = {key for key, row in dataset.items() if row["status"] == "ok"}
        if judged != set(keys):
            fail(f"judged records without a row: {sorted(judged - set(keys))}")
    json.dump({"rows": rows.tolist(), "arrays": arrays}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:])
