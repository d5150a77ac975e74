"""Reserve balances against the chain: the pure half (no network, no files).

``evm`` builds the JSON-RPC calls (``eth_getBalance``, ``balanceOf`` through ``eth_call``) and
reads their answers strictly; ``bitcoin`` builds ``scantxoutset`` descriptors, sums the reported
outputs per address exactly and refuses a scan taken at another height; ``compare`` turns a
published amount and an on-chain amount into one status; ``blocks`` tells which chain a node is on
and reads the snapshot block (its hash, its time, the window before the period's end); ``safe``
reads a contract wallet's ``getOwners()``/``getThreshold()`` and the rule that confirms its signers;
``sampling`` chooses the month's further heights from the closing block's hash (reserves held all month).
The HTTP client and the cluster work live in ``pipeline.reserves``.
"""
