"""The formats layer: documents and files to and from bytes. No storage access.

* ``canonical``: RFC 8785 canonical JSON and digests;
* ``layout``: file names in a bundle and in an archived period;
* ``assets``: the asset file; ``columns``: amount and id columns of exchange data, exactly;
* ``csv_snapshot``: CSV snapshot files (header, lines, whole-unit amounts as text);
* ``nodes``: tree nodes as JSON; ``manifest``: the manifest and top-tree documents;
* ``bucket_file``: the private per-bucket Parquet files; ``users_file``: por-v3's private user files;
* ``proof``: the proof document a user receives;
* ``numbers``: how figures are written for people; ``prices``: the prices file and exact dollars;
* ``haircuts``: the haircuts file (the share of each asset's value that counts as collateral);
* ``verifier_page``: the offline verifier page.
"""
