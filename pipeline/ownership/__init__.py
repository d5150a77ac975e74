"""Reserve ownership proofs, checked offline: the pure core (no I/O, no Dask, no Arrow).

* ``chains``: the documented list of chains, their families (``Family``), aliases and network parameters.
* ``challenge``: the text every reserve key signs for a period (format ``por-reserves-challenge-v1``).
* ``family``: the interface a chain family implements (``ChainFamily``: canonical address, proof) and
  the one registry of families (``FAMILIES``); ``rules``: what the families share.
* ``bitcoin``, ``evm``, ``ed25519``: each family's module: address decoding and canonical form (one
  wallet, one spelling), signature rules, and its ``ChainFamily`` (``evm`` holds EVM and TRON,
  ``ed25519`` Solana and Aptos).
* ``check``: one row in, one status out (``bound``, ``unbound``, ``invalid``, ``missing``, ``unsupported``).

Cryptography and codecs come from well-kept libraries: libsecp256k1 through ``coincurve``,
Ed25519 through ``cryptography``, keccak-256 through ``pycryptodome``, base58 through ``base58``,
bech32/bech32m through ``embit``, BIP-322 through ``bip322`` (rust-bitcoin's crate).
"""
