"""The publication layer: the monthly archive, its signed hash chain and the reports.

* ``archive``: the archive's index, slots, archived inputs;
* ``signing``: Ed25519 over RFC 8785 manifests, key files;
* ``history``: verifying every signature and link of an archive, and its verifier pages;
* ``recheck``: every report figure re-derived from the month's public files (history verify, regenerate);
* ``report`` and ``charts``: report.json, .md and .html.
"""
