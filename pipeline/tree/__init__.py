"""The tree layer: por-v1's (and por-v3's) sum arithmetic and folding over numpy arrays. Pure: no I/O.

* ``sums``: exact 128-bit amounts as two uint64 lanes, conversions, addition with carry;
* ``blake3_batch``: BLAKE3 over many short messages per call (compiled with numba, or ``blake3_ir``:
  the compression as generated LLVM IR over 8 or 16 lanes, where the CPU has AVX2 / AVX-512);
* ``per_call``: por-v3's leaves and parents of a few nodes, one ``blake3`` call each (``por prove``);
* ``messages``: leaf and node messages assembled in compiled code, many per call;
* ``fold``: leaf and node hashes in bulk, bucket subtrees, the top tree, sibling paths;
* ``fragments``: por-v3's holdings, fragment keys, splits, leaves and padding leaves in bulk;
* ``shape``: the protocol's shape rules over arrays of user keys.
"""

from .fold import (
    Subtree,
    build_bucket,
    build_top,
    hash_pairs,
    hash_rows,
    leaf_hashes,
    sibling_path,
)
from .shape import key_words, positions, top_bits
from .sums import (
    add_sums,
    ints_from_sums,
    sums_from_be_bytes,
    sums_from_ints,
    sums_to_be_bytes,
)

__all__ = [
    "Subtree", "add_sums", "build_bucket", "build_top", "hash_pairs", "hash_rows", "ints_from_sums", "key_words",
    "leaf_hashes", "positions", "sibling_path", "sums_from_be_bytes", "sums_from_ints", "sums_to_be_bytes",
    "top_bits",
]
