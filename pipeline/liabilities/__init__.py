"""The liabilities layer: the snapshot in, the Merkle-sum tree built on Dask, proofs out.

* ``snapshot``: planning from file footers; ``read``: reading one fragment on a worker;
* ``rows`` and ``shuffle``: rows moving from read tasks to group tasks through storage;
* ``buckets``: merging groups and building bucket subtrees; ``build``: the stages in order;
* por-v3: ``build_v3``: its stages in order; ``holders``: users, user files, fragments and padding
  leaves; ``trees``: the per-asset bucket subtrees; ``stages``: what every build shares;
* ``stored``: reading a stored bundle back (manifest, top tree, re-folding a bucket);
* ``proofs``: one user's proof; ``audit``: every invariant of a bundle (por-v3: ``audit_v3``); ``export``: every proof;
* ``collateral``: the per-user collateral rule of por-v3, exactly (run by the audit over the user files).
"""
