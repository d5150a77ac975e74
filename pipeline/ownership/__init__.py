"""Reserve ownership proofs, checked offline: the pure core (no I/O, no Dask, no Arrow).

* ``chains``: the documented list of chains, their families (``Family``), aliases and network parameters.
* ``challenge``: the text every reserve key signs for a period (format ``por-reserves-challenge-v1``).
* ``family``: the interface a chain family implements (``ChainFamily``: canonical address, proof) and
  the one registry of families (``FAMILIES``); ``rules``: what the families share.
* ``bitcoin``, ``evm``, ``ed25519``, ``xrpl``, ``cardano``, ``polkadot``, ``ton``, ``filecoin``,
  ``sui``: each family's module: address decoding and canonical form (one wallet, one spelling),
  signature rules, and its ``ChainFamily`` (``evm`` holds EVM and TRON, ``ed25519`` Solana and
  Aptos, ``polkadot`` Polkadot and Kusama; ``cashaddr`` is Bitcoin Cash's address codec and
  ``segwit`` the bech32/bech32m decoder, both used by ``bitcoin``).
* ``variant_order``: the order in which EVM, TRON and Filecoin try the digests a signature may sign
  (the one that proved most rows of the text first; every one still tried before a row is refused).
* ``check``: one row in, one status out (``bound``, ``unbound``, ``invalid``, ``missing``, ``unsupported``).

Cryptography and codecs come from well-kept libraries: libsecp256k1 through ``coincurve``,
Ed25519 and P-256 through ``cryptography``, keccak-256 through ``safe-pysha3`` (``pycryptodome``
where its wheel is missing), base58 (and the XRP Ledger's alphabet) through ``base58`` (decoding of
plain alphabet text in ``ed25519.base58_bytes``: the same bytes, faster than the package), BIP-322 through ``bip322``
(rust-bitcoin's crate), CBOR through ``cbor2``, sr25519 through ``py-sr25519-bindings``
(schnorrkel), blake2b and SHA-512 through ``hashlib``. Written here, each saying why: CashAddr's
checksum (``cashaddr``), bech32/bech32m decoding with a table-driven checksum (``segwit``; embit's is
plain Python and was the largest cost of a P2WPKH row; tested against embit and BIP-173/350's
vectors), Cardano's bech32 checksum (``cardano``, the same way), TON's cell hash of a wallet's ``StateInit`` (``ton``), SS58's framing
(``polkadot``), Filecoin's address framing (``filecoin``).
"""
