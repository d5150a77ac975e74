"""The reserves layer: the exchange's reserve addresses and balances, and the ratios to liabilities.

* ``input``: the reserves file, read and checked exactly; ``heights``: one snapshot height per chain;
* ``okx_csv``: the file layout a major exchange publishes, read and written;
* ``ownership``: every row's ownership proof, on the cluster (contract wallets confirmed by a node);
* ``rpc``: the JSON-RPC client (batches, retries, URLs shown without credentials);
* ``nodes``: the nodes given (``CHAIN=URL``), the probe of their chain and snapshot block, and the
  registry of balance clients by family; ``balance_client``: the interface a family's client implements;
* ``evm_balances``, ``bitcoin_balances``: the EVM and Bitcoin-family balance clients;
* ``balances``: every row's balance against its chain's node, on the cluster;
* ``results``: per-row results for an auditor; ``public``: the reserve files a month publishes;
* ``ratios``: reserves against liabilities per asset, in integers.
"""
