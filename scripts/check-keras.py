"""The exported Keras 3 files of a run folder against tfjs, on the whole test set.

    npx dae export RUN_DIR --format keras
    pip install tensorflow-cpu      # or any Keras 3 with a backend
    python scripts/check-keras.py RUN_DIR [KERAS_DIR] [--limit N]

Loads every RUN_DIR/export/keras/<model>.keras (or KERAS_DIR/<model>.keras) with plain keras.models.load_model,
predicts on the test set, and prints per model the largest |keras - tfjs| over every output value and how often the
argmax of an image's output agrees. tfjs's predictions come from scripts/tfjs-reference.mjs (Node, with the
package built). Exits 1 if a difference passes 1e-5 or a classifier's argmax disagrees on any image. A model exported
with --include-rescaling (its metadata.json says so) is fed the same images as 0-255 pixels.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

TOLERANCE = 1e-5
HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("keras_dir", nargs="?")
    parser.add_argument("--limit", type=int, help="only the first N test images")
    args = parser.parse_args()
    keras_dir = args.keras_dir or os.path.join(args.run_dir, "export", "keras")
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    with tempfile.TemporaryDirectory(prefix="dae-keras-check-") as reference:
        command = ["node", os.path.join(HERE, "tfjs-reference.mjs"), args.run_dir, reference]
        if args.limit:
            command += ["--limit", str(args.limit)]
        subprocess.run(command, check=True)
        models = sorted(name[: -len(".input.npy")] for name in os.listdir(reference) if name.endswith(".input.npy"))
        failed = False
        print(f"{'model':28} {'images':>6}  max |keras - tfjs|  argmax agreement")
        for name in models:
            inputs = np.load(os.path.join(reference, f"{name}.input.npy"))
            expected = np.load(os.path.join(reference, f"{name}.output.npy"))
            path = os.path.join(keras_dir, f"{name}.keras")
            with zipfile.ZipFile(path) as archive:
                metadata = json.loads(archive.read("metadata.json"))
            if metadata.get("dae_pretrain", {}).get("rescalingIncluded"):
                inputs = inputs * 255
            model = keras.models.load_model(path)
            got = np.asarray(model.predict(inputs, batch_size=1000, verbose=0))
            if got.shape != expected.shape:
                print(f"{name:28} output shape {got.shape}, tfjs's {expected.shape}")
                failed = True
                continue
            largest = float(np.max(np.abs(got - expected)))
            count = len(inputs)
            rows_got, rows_expected = got.reshape(count, -1), expected.reshape(count, -1)
            ours, theirs = rows_got.argmax(axis=1), rows_expected.argmax(axis=1)
            agree = int(np.sum(ours == theirs))
            if not largest <= TOLERANCE or (name.startswith("classifier") and agree != count):
                failed = True
            note = ""
            if agree != count:
                # Where the argmax differs, how far apart tfjs's own two candidates are (a near-tie, or a real miss).
                rows = np.nonzero(ours != theirs)[0]
                gap = np.max(np.abs(rows_expected[rows, ours[rows]] - rows_expected[rows, theirs[rows]]))
                note = f"  (where they differ, tfjs's two values are within {gap:.2e})"
            print(f"{name:28} {count:>6}  {largest:>17.2e}  {agree}/{count}{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
