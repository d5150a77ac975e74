"""Reserve ownership proofs, checked offline: the pure core (no I/O, no Dask, no Arrow).

* ``chains``: the documented list of chains, their families, aliases and network parameters.
* ``addresses``: each family's address decoding and canonical form (one wallet, one spelling).
* ``challenge``: the text every reserve key signs for a period (format ``por-reserves-challenge-v1``).
* ``bitcoin``, ``evm``, ``ed25519``: each family's signature rules (TRON shares ``evm``'s curve code).
* ``check``: one row in, one status out (``bound``, ``unbound``, ``invalid``, ``missing``, ``unsupported``).

Cryptography and codecs come from well-kept libraries: libsecp256k1 through ``coincurve``,
Ed25519 through ``cryptography``, keccak-256 through ``pycryptodome``, base58 through ``base58``,
bech32/bech32m through ``embit``, BIP-322 through ``bip322`` (rust-bitcoin's crate).
"""
