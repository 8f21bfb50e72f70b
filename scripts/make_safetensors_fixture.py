#!/usr/bin/env python3
"""Writes tests/fixtures/python_written.safetensors with Python's `safetensors` package, so
that ember's reader is tested against the reference writer (tests/test_safetensors.cpp holds
the expected values). Needs: pip install safetensors numpy. Run from anywhere."""
import os

import numpy as np
from safetensors.numpy import save_file

tensors = {
    "weight": (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0),
    "double": np.array([0.1, -2.5, 3.0e10], dtype=np.float64),
    "ids": np.array([-3, 0, 7, 2**40], dtype=np.int64),
    "mask": np.array([[True, False], [False, True]]),
    "scalar": np.array(3.25, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
}
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
path = os.path.join(root, "tests", "fixtures", "python_written.safetensors")
save_file(tensors, path, metadata={"format": "np", "author": "ember tests"})
print("wrote", path, os.path.getsize(path), "bytes")
