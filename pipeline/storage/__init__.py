"""The storage layer: every path through fsspec, with retries; bundles assembled so that they
appear complete or not at all; owner-only files for secrets.

* ``fs``: file systems and URLs, retries on transient errors, listing inputs, moving trees;
* ``bundle``: reading a bundle, staging, scratch space, atomic publication;
* ``private``: creating owner-only files; ``secret_file``: the master secret file.
"""
