"""Reserve ownership proofs, checked offline: the pure core (no I/O, no Dask, no Arrow).

* ``chains``: the documented list of chains, their families (``Family``), aliases and network parameters.
* ``challenge``: the text every reserve key signs for a period (format ``por-reserves-challenge-v1``).
* ``family``: the interface a chain family implements (``ChainFamily``: canonical address, proof) and
  the one registry of families (``FAMILIES``); ``rules``: what the families share.
* ``bitcoin``, ``evm``, ``ed25519``, ``xrpl``, ``cardano``, ``polkadot``, ``ton``, ``filecoin``,
  ``sui``: each family's module: address decoding and canonical form (one wallet, one spelling),
  signature rules, and its ``ChainFamily`` (``evm`` holds EVM and TRON, ``ed25519`` Solana and
  Aptos, ``polkadot`` Polkadot and Kusama; ``cashaddr`` is Bitcoin Cash's address codec, used by
  ``bitcoin``).
* ``check``: one row in, one status out (``bound``, ``unbound``, ``invalid``, ``missing``, ``unsupported``).

Cryptography and codecs come from well-kept libraries: libsecp256k1 through ``coincurve``,
Ed25519 and P-256 through ``cryptography``, keccak-256 through ``pycryptodome``, base58 (and the XRP
Ledger's alphabet) through ``base58``, bech32/bech32m through ``embit``, BIP-322 through ``bip322``
(rust-bitcoin's crate), CBOR through ``cbor2``, sr25519 through ``py-sr25519-bindings``
(schnorrkel), blake2b and SHA-512 through ``hashlib``. Written here, each saying why: CashAddr's
checksum (``cashaddr``), TON's cell hash of a wallet's ``StateInit`` (``ton``), SS58's framing
(``polkadot``), Filecoin's address framing (``filecoin``).
"""
