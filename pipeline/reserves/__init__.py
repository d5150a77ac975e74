"""The reserves layer: the exchange's reserve addresses and balances, and the ratios to liabilities.

* ``input``: the reserves file, read and checked exactly;
* ``ratios``: reserves against liabilities per asset, in integers.
"""
