"""The built-in demo: synthetic snapshot -> build -> prove -> verify -> audit on a local cluster,
then the monthly job: two months published into an archive, the chain verified, both regenerated."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Callable

from jobs.publish import PublishRequest, publish_period
from jobs.regenerate import regenerate_one
from pipeline.cluster import client_mapper, dask_client
from pipeline.errors import InputError
from pipeline.liabilities.audit import audit_bundle
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.ownership.challenge import challenge_text
from pipeline.protocol.verify import verify_proof
from pipeline.publication.archive import chain_head, open_archive
from pipeline.publication.history import verify_history
from pipeline.publication.signing import load_public_key, write_signing_key
from pipeline.storage.bundle import open_bundle
from pipeline.storage.secret_file import read_secret, write_new_secret
from pipeline.synth import snapshot_totals, write_synth, write_synth_reserves

DEMO_PERIOD = "2026-10"
DEMO_MONTHS = ("2026-09", "2026-10")
DEMO_EXCHANGE = "Demo Exchange"


def run_demo(workdir: str, users: int, workers: int, echo: Callable[[str], None] = print) -> None:
    """Run every step of the product once, from scratch, in ``workdir``.

    ``workdir`` must be absent, empty, or a previous demo directory (which is replaced).
    """
    marker = os.path.join(workdir, ".por-demo")
    if os.path.exists(workdir) and os.listdir(workdir):
        if not os.path.exists(marker):
            raise InputError(f"{workdir}: exists, is not empty and is not a previous demo directory; refusing to replace it")
        shutil.rmtree(workdir)
    os.makedirs(workdir, exist_ok=True)
    with open(marker, "w") as f:
        f.write("created by `por demo`; the next demo run replaces this directory\n")
    snapshot = os.path.join(workdir, "snapshot")
    secret_path = os.path.join(workdir, "master.secret")
    out = os.path.join(workdir, "bundle")
    echo(f"1. synth: {users} users x 5 assets in 4 files -> {snapshot}")
    write_synth(snapshot, users, asset_count=5, files=4, seed=1)
    write_new_secret(secret_path)
    secret = read_secret(secret_path)
    echo(f"2. build on a LocalCluster of {workers} worker processes -> {out}")
    with dask_client(workers) as client:
        result = build_bundle(client, plan_snapshot(snapshot), DEMO_PERIOD, secret, out)
        echo(f"   root {result.manifest['root']['hash']} over {result.users} users")
        user = "U0000000042"
        proof = make_proof(open_bundle(out), user, secret)
        proof_path = os.path.join(workdir, f"proof-{user}.json")
        with open(proof_path, "w") as f:
            json.dump(proof, f, indent=2)
        echo(f"3. prove: {proof_path} (path of {len(proof['path'])} levels)")
        with open(os.path.join(out, "manifest.json"), "rb") as f:
            manifest = json.load(f)
        echo("4. verify against the published manifest:")
        echo("   " + verify_proof(proof, manifest=manifest).summary().replace("\n", "\n   "))
        report = audit_bundle(open_bundle(out), client_mapper(client))
        echo(f"5. audit OK: {report.buckets} buckets, {report.users} users, root matches the manifest")
        _monthly(workdir, users, secret_path, client, echo)
    echo("demo complete")


def _monthly(workdir: str, users: int, secret_path: str, client: Any, echo: Callable[[str], None]) -> None:
    """Publish two months (reserves at 100-120%, one asset short) and check the archive."""
    key = os.path.join(workdir, "signing.key")
    write_signing_key(key)
    archive_url = os.path.join(workdir, "archive")
    for i, month in enumerate(DEMO_MONTHS):
        snap = os.path.join(workdir, f"snapshot-{month}")
        write_synth(snap, users + 1_000 * i, asset_count=5, files=2, seed=10 + i)
        assets = plan_snapshot(snap).assets
        ratios = {a.symbol: 10_000 + 500 * j for j, a in enumerate(assets)}
        ratios[assets[-1].symbol] = 9_950  # short: flagged in the report
        reserves = os.path.join(workdir, f"reserves-{month}", "wallets.parquet")
        index = open_archive(archive_url).read_index()[0] if os.path.exists(archive_url) else {"publications": []}
        challenge = challenge_text(DEMO_EXCHANGE, month, chain_head(index, month))
        echo(f"6.{i + 1} reserve keys sign: {challenge}")
        write_synth_reserves(reserves, list(assets), snapshot_totals(snap), ratios, seed=i, challenge=challenge,
                             fixed_sentence_rows=1, showcase=True)
        echo(f"    publish {month} into {archive_url}:")
        result = publish_period(client, PublishRequest(month, snap, os.path.dirname(reserves), archive_url,
                                                       secret_path, key, exchange=DEMO_EXCHANGE),
                                echo=lambda s: echo(f"     {s}"))
        flagged = ", ".join(p.symbol for p in result.positions if p.flagged) or "none"
        echo(f"     ratios: {', '.join(f'{p.symbol} {p.ratio}%' for p in result.positions)}; under 100%: {flagged}")
    for line in verify_history(open_archive(archive_url), load_public_key(key + ".pub")).lines:
        echo(f"7. history: {line}")
    a = open_archive(archive_url)
    index, _ = a.read_index()
    for entry in index["publications"]:
        echo("8. regenerate: " + regenerate_one(client, a, entry, read_secret(secret_path), {}).render()
             .replace("\n", "\n   "))
    echo(f"   reports: {os.path.join(archive_url, DEMO_MONTHS[-1], 'public', 'report.html')}")
