"""The built-in demo: three months published by the monthly job on a local cluster, then what a user
and an auditor do with the last one.

One month, one root: the proof the demo writes comes from the published month, and verifies
against that month's signed manifest. Every step prints what it did; the end names the report, the
verifier page, the proof, the keys and the command that verifies the proof.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from typing import Any, Callable

from jobs.publish import PublishRequest, publish_period
from jobs.regenerate import regenerate_one
from pipeline.cluster import client_mapper, dask_client
from pipeline.errors import InputError
from pipeline.formats.layout import (
    MANIFEST,
    PUBLIC_DIR,
    PUBLIC_KEY,
    SIGNATURE,
    VERIFIER_PAGE,
)
from pipeline.liabilities.audit import audit_bundle
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.ownership.challenge import challenge_text
from pipeline.protocol.verify import verify_proof
from pipeline.publication.archive import chain_head, open_archive
from pipeline.publication.history import verify_history
from pipeline.publication.report import REPORT_HTML
from pipeline.publication.signing import (
    load_public_key,
    verify_manifest_signature,
    write_signing_key,
)
from pipeline.storage.bundle import open_bundle
from pipeline.storage.secret_file import read_secret, write_new_secret
from pipeline.webmodule import ensure_browser_module
from pipeline.testing.synth import (
    snapshot_totals,
    write_synth,
    write_synth_prices,
    write_synth_reserves,
)

DEMO_MONTHS = ("2026-08", "2026-09", "2026-10")
DEMO_PERIOD = DEMO_MONTHS[-1]
DEMO_EXCHANGE = "Demo Exchange"
DEMO_USER = "U0000000042"
MARKER = ".por-demo"


def run_demo(workdir: str, users: int, workers: int, echo: Callable[[str], None] = print) -> None:
    """Run the product once, from scratch, in ``workdir``.

    ``workdir`` must be absent, empty, or a previous demo directory (which is replaced, and said so).
    """
    workdir = os.path.abspath(workdir)  # the closing commands are pasted in any directory
    marker = os.path.join(workdir, MARKER)
    if os.path.exists(workdir) and os.listdir(workdir):
        if not os.path.exists(marker):
            raise InputError(f"{workdir}: exists, is not empty and is not a previous demo directory; refusing to replace it")
        echo(f"replacing the previous demo in {workdir}")
        shutil.rmtree(workdir)
    os.makedirs(workdir, exist_ok=True)
    ensure_browser_module()  # the pages embed it: a first run fetches it now, saying so ([set-up] installing …)
    with open(marker, "w") as f:
        f.write("created by `por demo`; the next demo run replaces this directory\n")
    secret_path = os.path.join(workdir, "master.secret")
    key = os.path.join(workdir, "signing.key")
    write_new_secret(secret_path)
    write_signing_key(key)
    echo(f"1. keys: master secret {secret_path} (owner-only), Ed25519 signing key {key} (public: {key}.pub)")
    archive_url = os.path.join(workdir, "archive")
    with dask_client(workers) as client:
        echo(f"2. the monthly job, {len(DEMO_MONTHS)} months, on a LocalCluster of {workers} worker process(es) "
             f"-> {archive_url}")
        for i, month in enumerate(DEMO_MONTHS):
            _publish_month(workdir, archive_url, month, i, users, secret_path, key, client, echo)
        month_dir = os.path.join(archive_url, DEMO_PERIOD)
        public = os.path.join(month_dir, PUBLIC_DIR)
        secret = read_secret(secret_path)
        proof = make_proof(open_bundle(month_dir), DEMO_USER, secret)
        proof_path = os.path.join(workdir, f"proof-{DEMO_USER}.json")
        with open(proof_path, "w") as f:
            json.dump(proof, f, indent=2)
        echo(f"3. prove: {proof_path}, from the published {DEMO_PERIOD} ({_proof_shape(proof)})")
        with open(os.path.join(public, MANIFEST), "rb") as f:
            manifest = json.load(f)
        with open(os.path.join(public, SIGNATURE), "rb") as f:
            signature = json.load(f)
        verify_manifest_signature(load_public_key(key + ".pub"), manifest, signature, f"{public}/{SIGNATURE}")
        echo(f"4. verify against the published, signed {DEMO_PERIOD} manifest (signature checked):")
        echo("   " + verify_proof(proof, manifest=manifest).summary().replace("\n", "\n   "))
        report = audit_bundle(open_bundle(month_dir), client_mapper(client))
        echo(f"5. audit OK: {report.buckets} buckets, {report.users} users, root matches the manifest")
        for line in verify_history(open_archive(archive_url), load_public_key(key + ".pub")).lines:
            echo(f"6. history: {line}")
        a = open_archive(archive_url)
        index, _ = a.read_index()
        for entry in index["publications"]:
            echo("7. regenerate: " + regenerate_one(client, a, entry, secret, {}).render().replace("\n", "\n   "))
    echo("demo complete")
    echo("")
    echo(f"  report         {os.path.join(public, REPORT_HTML)}")
    echo(f"  verifier page  {os.path.join(public, VERIFIER_PAGE)} (open it, choose the proof below)")
    echo(f"  proof          {proof_path}")
    echo(f"  keys           {secret_path} (secret), {key} (signing), {os.path.join(public, PUBLIC_KEY)} (published)")
    por, activate = por_command()
    echo(f"  verify         {verify_command(por, proof_path, os.path.join(public, MANIFEST), os.path.join(public, PUBLIC_KEY))}")
    if activate:
        echo(f"                 (or, after `source {shlex.quote(activate)}`, the same command with plain `por`)")


def por_command() -> tuple[str, str | None]:
    """The ``por`` that is running, as a path a fresh shell can run (the README never activates the
    virtual environment), and its environment's ``activate`` script when there is one (plain ``por``
    when no installed script is found)."""
    candidates = [sys.argv[0]] if os.path.basename(sys.argv[0]) == "por" else []
    candidates.append(os.path.join(os.path.dirname(sys.executable), "por"))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            path = os.path.abspath(path)
            activate = os.path.join(os.path.dirname(path), "activate")
            return shlex.quote(path), activate if os.path.isfile(activate) else None
    return "por", None


def verify_command(por: str, proof: str, manifest: str, public_key: str) -> str:
    """The verify command as a shell runs it (paths quoted)."""
    return f"{por} verify {shlex.quote(proof)} --manifest {shlex.quote(manifest)} --public-key {shlex.quote(public_key)}"


def _proof_shape(proof: dict[str, Any]) -> str:
    """How much the proof holds: por-v3, its holdings and fragments; older versions, the path's levels."""
    if "holdings" in proof:
        fragments = sum(len(h["fragments"]) for h in proof["holdings"])
        return f"{len(proof['holdings'])} holding(s) in {fragments} fragments"
    return f"path of {len(proof['path'])} levels"


def _publish_month(workdir: str, archive_url: str, month: str, i: int, users: int, secret_path: str, key: str,
                   client: Any, echo: Callable[[str], None]) -> None:
    """One month: a snapshot, reserves signed over the month's challenge (ratios that move from month
    to month, one asset short), prices, published."""
    snap = os.path.join(workdir, "inputs", month, "snapshot")
    write_synth(snap, users + 250 * i, asset_count=5, files=2, seed=10 + i)
    assets = plan_snapshot(snap).assets
    ratios = {a.symbol: 10_200 + 700 * ((j + i) % 3) for j, a in enumerate(assets)}
    ratios[assets[-1].symbol] = 9_950 - 20 * i  # short: flagged in the report
    reserves = os.path.join(workdir, "inputs", month, "reserves", "wallets.parquet")
    prices = os.path.join(workdir, "inputs", month, "prices.json")
    index = open_archive(archive_url).read_index()[0] if os.path.exists(archive_url) else {"publications": []}
    challenge = challenge_text(DEMO_EXCHANGE, month, chain_head(index, month))
    echo(f"   {month}: reserve keys sign: {challenge}")
    write_synth_reserves(reserves, list(assets), snapshot_totals(snap), ratios, seed=i, challenge=challenge,
                         fixed_sentence_rows=1, showcase=True)
    write_synth_prices(prices, list(assets), month)
    result = publish_period(client, PublishRequest(month, snap, os.path.dirname(reserves), archive_url,
                                                   secret_path, key, exchange=DEMO_EXCHANGE, prices=prices),
                            echo=lambda s: echo(f"     {s}"))
    flagged = ", ".join(p.symbol for p in result.positions if p.flagged) or "none"
    echo(f"     ratios: {', '.join(f'{p.symbol} {p.ratio}%' for p in result.positions)}; under 100%: {flagged}")
