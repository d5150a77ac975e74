"""Proof of reserves and liabilities: the library, in layers (top to bottom; each imports only the
layers below it, ``pyproject.toml``'s import contracts say so and ``tests/test_architecture.py`` checks).

* ``cli``: the ``por`` command line; ``verify``: ``python -m pipeline.verify``, the light verifier;
* ``testing``: synthetic exchange data and signers (demo, tests, benchmarks); ``cluster``: choosing the
  Dask cluster;
* ``publication``: the archive, signing, the history check and the re-derivation, reports;
* ``reserves`` and ``liabilities``: the reserves (ownership and balances on the cluster) and the tree;
* ``storage``: fsspec paths, retries, staging, owner-only files;
* ``formats``: documents and files to and from bytes;
* ``webmodule``: the verifier page's pinned BLAKE3 module;
* ``onchain``: balance checks' rules, no I/O;
* ``tree`` and ``ownership``: sum arithmetic and folding; reserve ownership proofs, no I/O;
* ``protocol``: standard library + blake3 only: hashed bytes, keys, shapes, proof verification;
* ``errors``, ``config``, ``mapping``: every exception and the exit codes; the Dask config
  namespace; the ``Mapper`` seam.

Nothing heavy is imported here: ``from pipeline.verify import verify_proof`` needs only ``blake3``.
"""

__version__ = "0.1.0"
