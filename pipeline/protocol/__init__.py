"""The protocol layer: every byte string the tree hashes, every shape rule, and proof verification.

Standard library and ``blake3`` only (an import-linter contract keeps numpy, pyarrow, pandas, dask
and fsspec out). One module per concern:

* ``v1``: por-v1's tags, encodings and hashes (``schemas/por-v1.md``); ``v2``: por-v2's announced value;
  ``v3``: por-v3's keys, fragments, splits, padding leaves, nodes and announced value (``schemas/por-v3.md``);
* ``versions``: the one registry of protocol versions (which exist, the default, what each announces);
* ``userid``: the user-id rule (NFC, no control or format characters, at most 256 bytes);
* ``keys``: the master secret and the keys derived from it per period;
* ``shape``: bucket of a user key, leaf position, default ``k``, bucket height;
* ``amounts``: exact amounts and their canonical decimal strings;
* ``period``: ``YYYY-MM`` periods;
* ``jsonread``: strict JSON reading;
* ``checks``: the names of the verifier's checks (``Check``), shared with the Node module and the page;
* ``reading``: the field rules every version's verifier reads documents with (hex, amounts, assets, ids);
* ``verify``: proof and manifest verification (dispatching on the version); ``verify_v3``: por-v3's checks.
"""

from .amounts import U128_LIMIT, format_amount, parse_amount, to_units
from .checks import Check
from .keys import SECRET_SIZE, SecretKey, period_keys, resume_key
from .period import is_valid_period, month_after, month_before
from .shape import MAX_HEIGHT, bucket_of, default_bucket_bits, height_for, position
from .v1 import (
                 DIGEST_SIZE,
                 HASH_NAME,
                 LEAF_TAG,
                 NODE_TAG,
                 PADDING_TAG,
                 VERSION,
                 add_sums,
                 encode_sums,
                 leaf_hash,
                 node_hash,
                 padding_hash,
                 padding_message,
                 period_prefix,
                 u8,
                 u64be,
                 u128be,
                 user_key,
                 user_nonce,
)

__all__ = [
    "DIGEST_SIZE", "HASH_NAME", "LEAF_TAG", "MAX_HEIGHT", "NODE_TAG", "PADDING_TAG", "SECRET_SIZE", "U128_LIMIT",
    "VERSION", "Check", "SecretKey", "add_sums", "bucket_of", "default_bucket_bits", "encode_sums", "format_amount",
    "height_for", "is_valid_period", "leaf_hash", "month_after", "month_before", "node_hash", "padding_hash",
    "padding_message", "parse_amount", "period_keys", "period_prefix", "position", "resume_key", "to_units",
    "u8", "u64be", "u128be", "user_key", "user_nonce",
]
