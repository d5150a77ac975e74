"""Proof-of-liabilities pipeline, protocol por-v1.

Layers: ``protocol``/``numbers``/``verify`` (pure, standard library + blake3),
``tree`` (pure, numpy), ``snapshot``/``buckets``/``bundle``/``proofs``/``audit``
(storage and per-task work), ``build``/``cluster``/``cli`` (orchestration).
Nothing heavy is imported here: ``from pipeline.verify import verify_proof``
needs only ``blake3``.
"""

__version__ = "0.1.0"
