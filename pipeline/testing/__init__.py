"""What the demo, ``por synth``, the benchmarks and the tests need, kept apart from production code:
nothing in the layers below imports it.

* ``synth``: a realistic synthetic exchange (snapshot, assets, signed reserves, prices), deterministic;
* ``sign``: real signatures for synthetic reserve rows, one signer per chain family (``SYNTH_SIGNERS``).
"""
