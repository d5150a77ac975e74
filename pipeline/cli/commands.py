"""The ``por`` commands. Each parses its options, calls the library or a job, and prints the result.

Every command's help ends with an example (``tests/test_cli.py`` checks it), and
``tests/test_deploy.py`` runs every ``por`` command shown in the README and in ``deploy/`` through
this parser.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Optional

import typer

from .app import app, command, fail
from .options import (
    ArchiveOpt,
    AssetsOpt,
    ForceOpt,
    PeriodOpt,
    RunOptions,
    SecretOpt,
    terminal_watch,
    with_run_options,
)

BundleArg = Annotated[str, typer.Argument(metavar="BUNDLE", help="Bundle directory or archived period (path or URL).")]


@command()
def keygen(
    file: Annotated[Optional[str], typer.Argument(metavar="FILE", help="Where to write a new master secret (must not exist).")] = None,
    signing: Annotated[Optional[str], typer.Option(
        "--signing", metavar="FILE", help="Instead: write a new Ed25519 signing key here and its public key to FILE.pub.")] = None,
) -> None:
    """Write a new master secret (64 hex characters, mode 0600), or with --signing an Ed25519 signing key.

    \b
    Examples:
      por keygen /secure/por-master.secret
      por keygen --signing /secure/signing.key
    """
    if (file is None) == (signing is None):
        raise typer.BadParameter("give either FILE (a master secret) or --signing FILE (a signing key)")
    if signing is not None:
        from ..publication.signing import public_key_file, write_signing_key

        kid = write_signing_key(signing)
        typer.echo(f"wrote an Ed25519 signing key to {signing} (mode 0600; keep it offline) and its public key "
                   f"to {public_key_file(signing)} (publish it); key id {kid}")
        return
    from ..storage.secret_file import write_new_secret

    assert file is not None
    write_new_secret(file)
    typer.echo(f"wrote a new master secret to {file} (mode 0600); keep it offline and backed up")


@command()
def synth(
    out: Annotated[str, typer.Argument(metavar="DIR", help="Snapshot directory to create.")],
    users: Annotated[int, typer.Option("--users", min=1, metavar="N", help="Number of users.")],
    assets: Annotated[int, typer.Option("--assets", min=1, max=200, metavar="N", help="Number of assets.")] = 3,
    files: Annotated[int, typer.Option("--files", min=1, metavar="N", help="Number of files.")] = 1,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed (same seed, same snapshot).")] = 0,
    layout: Annotated[str, typer.Option("--layout", metavar="wide|long", help="Snapshot layout.")] = "wide",
    debt_per_mille: Annotated[int, typer.Option(
        "--debt-per-mille", min=0, max=1000, metavar="N",
        help="Users in 1000 who also owe debt (negative amounts, for por-v3), well covered by their holdings.")] = 0,
    file_format: Annotated[str, typer.Option(
        "--format", metavar="parquet|csv", help="File format (csv: amounts in whole units).")] = "parquet",
    period: Annotated[Optional[str], typer.Option("--period", metavar="YYYY-MM", help="The month (for --reserves/--prices).")] = None,
    reserves: Annotated[Optional[str], typer.Option(
        "--reserves", metavar="DIR", help="Also write signed reserves for the month (ratios vary by asset and month).")] = None,
    prices: Annotated[Optional[str], typer.Option("--prices", metavar="FILE", help="Also write the month's prices file.")] = None,
    exchange: Annotated[str, typer.Option("--exchange", metavar="NAME", help="Who signs the reserves' challenge.")] = "Synthetic Exchange",
    archive: Annotated[Optional[str], typer.Option(
        "--archive", metavar="URL", help="The archive whose chain head the reserves' challenge names.")] = None,
) -> None:
    """Write a realistic synthetic snapshot and its assets.json; with --period, also the month's
    signed reserves and prices, so that `por publish` has a whole month to publish.

    \b
    Example:
      por synth snap --users 100000 --assets 20 --files 4 --seed 1
      por synth snap-v3 --users 10000 --assets 5 --format csv --debt-per-mille 30
      por synth in/2026-11/snap --users 20000 --assets 5 --period 2026-11 --reserves in/2026-11/reserves \\
          --prices in/2026-11/prices.json --exchange "Example Exchange" --archive archive
    """
    from ..protocol.period import is_valid_period
    from ..testing.synth import (
        FILE_FORMATS,
        month_ratios,
        snapshot_totals,
        write_synth,
        write_synth_prices,
        write_synth_reserves,
    )

    from ..liabilities.snapshot import layout_problem

    if layout_problem(layout):
        raise typer.BadParameter(f"--layout {layout_problem(layout)}")
    if file_format not in FILE_FORMATS:
        raise typer.BadParameter(f"--format must be {' or '.join(repr(x) for x in FILE_FORMATS)}")
    if (reserves or prices) and (period is None or not is_valid_period(period)):
        raise typer.BadParameter("--reserves and --prices need --period YYYY-MM")
    chosen = write_synth(out, users, assets, files, seed, layout, debt_per_mille=debt_per_mille, file_format=file_format)
    extra = "".join([f", {file_format}" if file_format != "parquet" else "",
                     f", {debt_per_mille}/1000 with debt" if debt_per_mille else ""])
    typer.echo(f"wrote {users} users x {len(chosen)} assets ({layout}, {files} file(s){extra}) to {out}")
    if reserves and period:
        from ..ownership.challenge import challenge_text

        head = None
        if archive is not None:
            from ..publication.archive import chain_head, open_archive

            head = chain_head(open_archive(archive).read_index()[0], period)
        ratios = month_ratios(chosen, period, seed)
        write_synth_reserves(f"{reserves.rstrip('/')}/wallets.parquet", chosen, snapshot_totals(out), ratios,
                             seed=seed, challenge=challenge_text(exchange, period, head))
        typer.echo(f"wrote reserves signed by {exchange!r} for {period} to {reserves} (ratios: "
                   + ", ".join(f"{s} {bp / 100:.2f}%" for s, bp in ratios.items()) + ")")
    if prices and period:
        write_synth_prices(prices, chosen, period)
        typer.echo(f"wrote prices for {period} to {prices}")


def print_root(manifest: dict[str, Any]) -> None:
    """The announced value, the roots and the totals, amounts readable (the report's rule; every digit is in
    manifest.json)."""
    from ..protocol.amounts import CUT, MAX_SHOWN_DECIMALS, is_cut, readable_units

    shown: list[str] = []

    def readable(units: str, decimals: int) -> str:
        shown.append(readable_units(int(units), decimals))
        return shown[-1]

    if "commitment" in manifest:
        typer.echo(f"announced value ({manifest['version']}) {manifest['commitment']}")
    if "trees" in manifest:  # por-v3: one tree per asset, equity and debt
        typer.echo(f"period {manifest['period']}  fragments {manifest['parameters']['fragments']}  padding "
                   f"{manifest['parameters']['padding']} %")
        for asset, tree in zip(manifest["assets"], manifest["trees"], strict=True):
            d = asset["decimals"]
            typer.echo(f"  {asset['symbol']:<8} equity {readable(tree['root']['equity'], d)}  debt "
                       f"{readable(tree['root']['debt'], d)}  (k {tree['bucket_bits']}, h {tree['bucket_height']}, "
                       f"root {tree['root']['hash']})")
    else:
        typer.echo(f"period {manifest['period']}  root {manifest['root']['hash']}")
        for asset, total in zip(manifest["assets"], manifest["root"]["sums"], strict=True):
            typer.echo(f"  {asset['symbol']:<8} {readable(total, asset['decimals'])}")
    if any(map(is_cut, shown)):
        typer.echo(f"{CUT} marks decimals cut (at most {MAX_SHOWN_DECIMALS} are shown, never rounded up): manifest.json "
                   "has every digit")


@command()
@with_run_options(report=True)
def build(
    snapshot: Annotated[str, typer.Argument(metavar="SNAPSHOT", help="Parquet file or directory (path or URL).")],
    period: PeriodOpt,
    secret_file: SecretOpt,
    out: Annotated[str, typer.Option("--out", metavar="DIR", help="Bundle directory to publish (path or URL).")],
    run: RunOptions,
    assets: AssetsOpt = None,
    bucket_bits: Annotated[Optional[int], typer.Option(
        "--bucket-bits", min=0, max=24, metavar="K", help="2^K buckets (default: from the user count).")] = None,
    force: ForceOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help="Reuse the verified buckets of an interrupted run.")] = False,
    protocol: Annotated[str, typer.Option(
        "--protocol", metavar="por-v3|por-v2|por-v1",
        help="Protocol version of the bundle (por-v2, por-v1: for old periods; no debt).")] = "por-v3",
    fragments: Annotated[Optional[int], typer.Option(
        "--fragments", min=2, max=8, metavar="S", help="por-v3: fragments per holding (default 2).")] = None,
    padding: Annotated[Optional[int], typer.Option(
        "--padding", min=0, max=100, metavar="P", help="por-v3: padding leaves, up to P % of the fragments (default 25).")] = None,
) -> None:
    """Build the liabilities trees on Dask and publish the bundle; prints the announced value, the roots
    and the totals (por-v3: equity and debt per asset).

    \b
    Example:
      por build snap --period 2026-11 --secret-file master.secret --out bundles/2026-11 --workers 2
    """
    from ..liabilities.build import build_bundle
    from ..liabilities.snapshot import plan_snapshot
    from ..protocol import v3
    from ..storage.bundle import check_output
    from ..storage.secret_file import read_secret

    parameters = None
    if fragments is not None or padding is not None:
        if protocol != v3.VERSION:
            raise typer.BadParameter(f"--fragments and --padding are por-v3's parameters; {protocol} has none")
        parameters = v3.Parameters(fragments if fragments is not None else v3.DEFAULT_FRAGMENTS,
                                   padding if padding is not None else v3.DEFAULT_PADDING)
    secret = read_secret(secret_file)
    options = run.storage
    check_output(out, force, resume, options)
    _warn_about_leftovers(out, resume, options)
    plan = plan_snapshot(snapshot, assets, options)
    if plan.ignored:
        typer.echo(f"passed over (hidden names): {', '.join(plan.ignored)}", err=True)
    with run.client() as client:
        result = build_bundle(client, plan, period, secret, out, bucket_bits, force=force, storage_options=options,
                              resume=resume, watch=terminal_watch, protocol=protocol, parameters=parameters)
    print_root(result.manifest)
    reused = f", {result.reused} reused from the interrupted run" if resume else ""
    typer.echo(f"{result.users} users in {result.buckets} non-empty buckets{reused}")
    typer.echo(f"bundle written to {out}")


def _warn_about_leftovers(out: str, resume: bool, options: dict[str, Any]) -> None:
    from ..storage.bundle import PARTIAL, leftovers

    found = leftovers(out, options)
    if not found:
        return
    names = ", ".join(path.rsplit("/", 1)[-1] for _, path in found)
    reuse = (" this --resume build reuses the verified buckets of its own partial run" if resume and
             any(kind == PARTIAL for kind, _ in found) else "")
    typer.echo(f"warning: leftovers of interrupted runs beside {out}: {names} (private data, owner-only);"
               f"{reuse} 'por clean {out}' removes them", err=True)


@command()
@with_run_options(cluster=False)
def clean(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A bundle's or an export's --out, or an archive.")],
    run: RunOptions,
) -> None:
    """Remove what interrupted runs left: a build's partial results and scratch files beside TARGET,
    a replaced bundle, and an archive's unfinished publication staging. Never a published file.

    \b
    Examples:
      por clean bundles/2026-11
      por clean s3://exchange-por/archive
    """
    from ..publication.archive import open_archive
    from ..storage.bundle import remove_leftovers

    removed = remove_leftovers(target, run.storage)
    a = open_archive(target, run.storage)
    for name in a.staging_leftovers():
        a.remove(name)
        removed.append(a.file(name))
    for path in removed:
        typer.echo(f"removed {path}")
    typer.echo(f"{len(removed)} leftover(s) removed" if removed else f"nothing to clean for {target}")


@command()
@with_run_options(cluster=False)
def prove(
    bundle_dir: BundleArg,
    user: Annotated[str, typer.Option("--user", metavar="ID", help="The user id.")],
    secret_file: SecretOpt,
    run: RunOptions,
    out: Annotated[Optional[str], typer.Option("--out", metavar="FILE", help="Write the proof here (default: stdout).")] = None,
) -> None:
    """Print a user's inclusion proof as JSON.

    \b
    Example:
      por prove bundles/2026-11 --user 1234567 --secret-file master.secret --out proof.json
    """
    from ..liabilities.proofs import make_proof
    from ..storage.bundle import open_bundle
    from ..storage.secret_file import read_secret

    secret = read_secret(secret_file)
    proof = make_proof(open_bundle(bundle_dir, run.storage), user, secret)
    text = json.dumps(proof, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        with open(out, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise fail(f"--out {out}: already exists; refusing to overwrite") from None
    typer.echo(f"proof for {user!r} written to {out}", err=True)


def _read_document(path: str, what: str, run: RunOptions) -> Any:
    """A JSON document from a local path (standard library) or an fsspec URL."""
    from ..protocol.jsonread import load_json_file, parse_json

    if "://" not in path:
        return load_json_file(path, what)
    from ..storage.fs import open_fs, read_bytes

    fs, inner = open_fs(path, run.storage)
    return parse_json(read_bytes(fs, inner, f"{what} {path}"), f"{what} {path}")


def _check_signature(manifest_path: str, manifest_doc: Any, public_key: str, signature: str | None,
                     run: RunOptions) -> str:
    """Verify the manifest's Ed25519 signature (``signature.json`` beside it by default); returns the key id."""
    from ..formats.layout import SIGNATURE
    from ..publication.signing import key_id, load_public_key, verify_manifest_signature

    public = load_public_key(public_key)
    if signature is None:
        base = manifest_path.rsplit("/", 1)[0] if "/" in manifest_path else "."
        signature = f"{base}/{SIGNATURE}"
    verify_manifest_signature(public, manifest_doc, _read_document(signature, "signature", run), signature)
    return key_id(public)


@command()
@with_run_options(cluster=False)
def verify(
    proof: Annotated[str, typer.Argument(metavar="PROOF", help="Proof JSON file (path or URL).")],
    run: RunOptions,
    manifest: Annotated[Optional[str], typer.Option("--manifest", metavar="FILE", help="The published manifest.json.")] = None,
    root: Annotated[Optional[str], typer.Option(
        "--root", metavar="HEX", help="The announced value (por-v2) or root hash (por-v1), obtained independently.")] = None,
    public_key: Annotated[Optional[str], typer.Option(
        "--public-key", metavar="FILE", help="Also check the manifest's Ed25519 signature with this public key (PEM).")] = None,
    signature: Annotated[Optional[str], typer.Option(
        "--signature", metavar="FILE", help="The signature file (default: signature.json beside the manifest).")] = None,
    user: Annotated[Optional[str], typer.Option(
        "--user", metavar="ID", help="Your account id: the proof must be for it.")] = None,
    exact: Annotated[bool, typer.Option(
        "--exact", help="Print every digit of each amount (default: readable, at most 8 decimals).")] = False,
) -> None:
    """Verify an inclusion proof against the published manifest (or root hash). Offline.

    \b
    Example:
      por verify proof.json --manifest manifest.json --user 1234567 --public-key signing.key.pub
    """
    from ..errors import VerificationError
    from ..protocol.verify import verify_proof

    if (manifest is None) == (root is None):
        raise typer.BadParameter("give exactly one of --manifest and --root")
    for flag, value in (("--manifest", manifest), ("--root", root), ("--user", user), ("--public-key", public_key),
                        ("--signature", signature)):
        if value == "":  # as python -m pipeline.verify and the Node CLI: an empty value is a usage error
            raise typer.BadParameter(f"{flag} is empty")
    from ..protocol.reading import root_option_problem

    if root is not None and (problem := root_option_problem(root)):
        raise typer.BadParameter(problem)  # malformed: a usage error, as in the other two command lines
    if public_key is not None and manifest is None:
        raise typer.BadParameter("--public-key checks the signature of a manifest: give --manifest")
    try:  # a document that is read but unreadable as JSON is an invalid proof (input), as in every verifier
        proof_doc = _read_document(proof, "proof", run)
        manifest_doc = _read_document(manifest, "manifest", run) if manifest else None
        signer = None
        if public_key is not None:
            assert manifest is not None
            signer = _check_signature(manifest, manifest_doc, public_key, signature, run)
        result = verify_proof(proof_doc, manifest=manifest_doc, root_hash=root, user_id=user)
    except VerificationError as exc:
        raise fail(f"INVALID proof: {exc}", exc.exit_code) from None
    typer.echo(result.summary(exact=exact))
    if signer is not None:
        typer.echo(f"manifest signature: valid (Ed25519, key id {signer})")


@command("export-proofs")
@with_run_options()
def export_proofs_command(
    bundle_dir: BundleArg,
    out: Annotated[str, typer.Option("--out", metavar="DIR", help="Directory for the exported proofs (path or URL).")],
    run: RunOptions,
    fmt: Annotated[str, typer.Option("--format", metavar="jsonl|parquet", help="Record format.")] = "jsonl",
    force: ForceOpt = False,
) -> None:
    """Write every user's proof, keyed by uk and partitioned by bucket, for serving from account pages.

    \b
    Example:
      por export-proofs bundles/2026-11 --out s3://exchange-proofs/2026-11 --format parquet
    """
    if fmt not in ("jsonl", "parquet"):
        raise typer.BadParameter("--format must be 'jsonl' or 'parquet'")
    from ..cluster import client_mapper
    from ..liabilities.export import export_proofs
    from ..storage.bundle import check_output, open_bundle

    options = run.storage
    source = open_bundle(bundle_dir, options)
    check_output(out, force, False, options)
    with run.client() as client:
        summary = export_proofs(source, out, fmt, client_mapper(client), force, options)
    typer.echo(f"exported {summary['records']} proofs in {len(summary['partitions'])} partitions ({fmt}) to {out}")


def _check_page_file(path: str, public_key: Optional[str]) -> None:
    """``por verifier-page PAGE --check``: exit 1 naming what is wrong, else what the page is."""
    from ..errors import VerificationError
    from ..formats.canonical import digest
    from ..formats.manifest import announced_name, announced_value
    from ..formats.verifier_page import PageError, page_parts
    from ..protocol.jsonread import parse_json
    from ..publication.history import page_problems, this_tool_page_code
    from ..publication.signing import key_id, load_public_key, public_key_from_pem, public_key_pem, verify_manifest_signature

    try:
        with open(path, "rb") as f:
            page = f.read()
    except OSError as exc:
        raise fail(f"{path}: cannot read ({exc.strerror})") from None
    try:
        parts = page_parts(page)
        manifest = parse_json(parts.manifest.replace("<\\/", "</").encode("utf-8"), f"{path}: embedded manifest")
        signed = parse_json(parts.signature.replace("<\\/", "</").encode("utf-8"), f"{path}: embedded signature")
        signature, pem = signed["signature"], signed["public_key"]
        embedded_key = public_key_from_pem(pem.encode("ascii"), f"embedded in {path}")
    except (PageError, VerificationError, KeyError, TypeError, AttributeError, UnicodeEncodeError) as exc:
        raise fail(f"{path}: not a published month's verifier page ({exc})") from None
    key = load_public_key(public_key) if public_key is not None else embedded_key
    if public_key_pem(key).decode("ascii") != pem:
        raise fail(f"{path}: the page embeds another public key (key id {key_id(embedded_key)}) than {public_key} "
                   f"(key id {key_id(key)})")
    try:
        verify_manifest_signature(key, manifest, signature, f"{path}: embedded signature")
    except VerificationError as exc:
        raise fail(str(exc)) from None
    problems, _ = page_problems(page, manifest, signature, pem)
    if (manifest.get("publication") or {}).get("verifier") is None:
        problems.append("its signed manifest records no code digest (published before pages were checkable)")
    if problems:
        raise fail(f"{path}: " + "; ".join(problems))
    typer.echo(f"page OK: {manifest['period']}, {announced_name(manifest)} {announced_value(manifest)}; signed by key id "
               f"{key_id(key)}" + ("" if public_key else " (the key the page embeds: compare this id with the "
                                   "exchange's published public-key.pem, or give --public-key)"))
    code, ours = digest(parts.code), this_tool_page_code()
    if code != ours:
        raise fail(f"{path}: its code (blake3 {code}, as signed) is not the page this tool renders ({ours}); it was "
                   f"published by {(manifest.get('publication') or {}).get('tool')}: check it with that version")
    typer.echo(f"code blake3 {code}: the page this tool renders")


@command("verifier-page")
@with_run_options(cluster=False)
def verifier_page(
    out: Annotated[str, typer.Argument(metavar="FILE", help="Where to write the HTML page (must not exist); "
                                       "with --check, the downloaded page to check.")],
    run: RunOptions,
    manifest: Annotated[Optional[str], typer.Option("--manifest", metavar="FILE", help="Embed this period's manifest.json.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Check a downloaded page instead: its code is the one its signed "
                                        "manifest records and this tool renders, its embedded manifest and signature are "
                                        "exactly the rendered ones, and the signature verifies.")] = False,
    public_key: Annotated[Optional[str], typer.Option(
        "--public-key", metavar="PEM", help="With --check: the exchange's public key, obtained independently.")] = None,
) -> None:
    """Write the offline verifier page: one self-contained HTML file, no network access; or, with
    --check, check a downloaded month's page.

    \b
    Example:
      por verifier-page verifier.html --manifest bundles/2026-11/manifest.json
      por verifier-page archive/2026-11/public/verifier.html --check --public-key signing.key.pub
    """
    from ..errors import VerificationError
    from ..formats.verifier_page import render_page
    from ..protocol.verify import check_manifest
    from ..webmodule import ensure_browser_module

    ensure_browser_module()
    if check:
        _check_page_file(out, public_key)
        return
    if public_key is not None:
        raise fail("--public-key is for --check", code=2)
    manifest_doc = None
    if manifest is not None:
        try:
            manifest_doc = _read_document(manifest, "manifest", run)
            check_manifest(manifest_doc)
        except VerificationError as exc:
            raise fail(f"--manifest {manifest}: {exc}") from None
    try:
        with open(out, "xb") as f:
            f.write(render_page(manifest_doc))
    except FileExistsError:
        raise fail(f"{out}: already exists; refusing to overwrite") from None
    embedded = f" with the {manifest_doc['period']} manifest embedded" if manifest_doc else ""
    typer.echo(f"wrote the offline verifier page to {out}{embedded}")


def _scratch_dir(url: str, run: RunOptions) -> Any:
    """``--scratch``: the directory (created owner-only when missing), as a private Bundle."""
    from ..storage import fs as storage
    from ..storage import private
    from ..storage.bundle import Bundle

    if not url:
        raise typer.BadParameter("--scratch is empty")
    fs, path = storage.open_fs(url, run.storage)
    if not fs.exists(path):
        private.make_dirs(fs, path, private=True)
    return Bundle(fs, path, url, all_private=True)


@command()
@with_run_options(report=True)
def audit(
    bundle_dir: BundleArg,
    run: RunOptions,
    public_key: Annotated[Optional[str], typer.Option(
        "--public-key", metavar="FILE", help="Also check the manifest's signature by the exchange's key (PEM).")] = None,
    root: Annotated[Optional[str], typer.Option(
        "--root", metavar="HEX", help="Also check that this is the announced value (por-v2's and por-v3's C; "
        "the root hash of a por-v1 month).")] = None,
    prices: Annotated[Optional[str], typer.Option(
        "--prices", metavar="FILE", help="por-v3: with --haircuts, also check every user's collateral against "
        "their debt at these prices.")] = None,
    haircuts: Annotated[Optional[str], typer.Option(
        "--haircuts", metavar="FILE", help="por-v3: the haircuts file of the collateral rule.")] = None,
    scratch: Annotated[Optional[str], typer.Option(
        "--scratch", metavar="DIR", help="por-v3: write the audit's scratch files here (path or URL; default: "
        "beside the bundle), e.g. for a read-only archive.")] = None,
) -> None:
    """Recompute every tree from private/ and check every invariant (por-v3: also every user's fragments
    against the trees; with --prices and --haircuts, every user's collateral); with --public-key and
    --root, also that this is the month the exchange signed and announced.

    \b
    Example:
      por audit archive/2026-11 --public-key signing.key.pub --root 9f2c…e1 --workers 2
    """
    from ..cluster import client_mapper
    from ..errors import VerificationError
    from ..formats.layout import MANIFEST, SIGNATURE
    from ..liabilities.audit import audit_bundle
    from ..publication.signing import key_id, load_public_key, verify_manifest_signature
    from ..storage.bundle import open_bundle

    from ..protocol.reading import root_option_problem

    if root is not None and root_option_problem(root.strip().lower()):  # upper case and spaces are forgiven here
        raise typer.BadParameter(str(root_option_problem(root)))  # malformed: a usage error (exit 2), before any work
    b = open_bundle(bundle_dir, run.storage)
    public = load_public_key(public_key) if public_key is not None else None
    if (prices is None) != (haircuts is None):
        raise typer.BadParameter("the collateral rule needs both --prices and --haircuts")
    terms = _collateral_terms(b, prices, haircuts, run) if prices is not None and haircuts is not None else None
    scratch_dir = _scratch_dir(scratch, run) if scratch is not None else None
    with run.client() as client:
        report = audit_bundle(b, client_mapper(client), terms, scratch_dir)
    from ..liabilities.audit_v3 import AuditReportV3

    if isinstance(report, AuditReportV3):
        typer.echo(f"audit OK: {report.users} users, {report.buckets} buckets in {len(report.assets)} trees, "
                   f"announced value {report.commitment}")
        for a in report.assets:
            typer.echo(f"  {a.symbol:<8} {a.holders} holders, {a.fragments} fragments, {a.leaves} leaves "
                       f"(k {a.bucket_bits}, h {a.bucket_height})")
        if report.collateral is not None:
            c = report.collateral
            if not c.ok:
                raise fail(f"audit of {b.shown}: collateral FAILED: {c.failures} of {c.users_with_debt} user(s) with "
                           "debt are not covered by their collateral at these prices and haircuts")
            typer.echo(f"collateral OK: {c.users_with_debt} user(s) with debt, every one covered")
    else:
        typer.echo(f"audit OK: {report.buckets} buckets, {report.users} users, root {report.root['hash']}")
    if public is not None:
        try:
            verify_manifest_signature(public, b.read_json(MANIFEST), b.read_json(SIGNATURE), b.where(SIGNATURE))
        except VerificationError as exc:
            raise fail(f"audit of {b.shown}: {exc}") from None
        typer.echo(f"manifest signature: valid (Ed25519, key id {key_id(public)})")
    if root is not None:
        from ..formats.manifest import announced_name, announced_value

        manifest = b.read_json(MANIFEST)
        value, name = announced_value(manifest, report.root), announced_name(manifest)
        given = root.strip().lower()
        if manifest.get("version") != "por-v1" and manifest.get("commitment") != value:
            raise fail(f"audit of {b.shown}: the manifest's announced value {manifest.get('commitment')} is not the "
                       f"one its fields and the audited root give ({value})")
        if given != value and given == report.root["hash"]:
            raise fail(f"--root {root}: that is the root hash; --root takes the {name} the exchange announced "
                       "(manifest.json's 'commitment', which pins the period, the assets, the shape and the totals)",
                       code=2)
        if given != value:
            raise fail(f"audit of {b.shown}: the {name} is {value}, not the announced {root}")
        typer.echo(f"{name}: {value}, the announced one")


def _collateral_terms(b: Any, prices: str, haircuts: str, run: RunOptions) -> Any:
    """The collateral rule's terms for bundle ``b``'s assets from a prices and a haircuts file."""
    from ..formats.haircuts import parse_haircuts
    from ..formats.layout import MANIFEST
    from ..formats.prices import parse_prices
    from ..liabilities.collateral import collateral_terms
    from ..storage.fs import open_fs, read_bytes

    manifest = b.read_json(MANIFEST)
    assets = [(a["symbol"], a["decimals"]) for a in manifest["assets"]]
    symbols = [s for s, _ in assets]
    docs = []
    for url in (prices, haircuts):
        fs, path = open_fs(url, run.storage)
        docs.append(read_bytes(fs, path, url))
    return collateral_terms(assets, parse_prices(docs[0], prices, symbols).prices,
                            parse_haircuts(docs[1], haircuts, symbols).haircuts)


@command()
def demo(
    workdir: Annotated[str, typer.Argument(metavar="DIR", help="Directory for the demo's files.")] = "demo-out",
    users: Annotated[int, typer.Option("--users", min=1, metavar="N", help="Synthetic users.")] = 20_000,
    workers: Annotated[int, typer.Option("--workers", min=1, metavar="N", help="Local worker processes.")] = 2,
) -> None:
    """Every step once on a local Dask cluster: synthetic snapshot, build, prove, verify, audit, publish.

    \b
    Example:
      por demo demo-out --users 20000 --workers 2
    """
    from jobs.demo import run_demo

    run_demo(workdir, users, workers, echo=typer.echo)


@command()
def bench(
    users: Annotated[str, typer.Option("--users", metavar="N,N,…", help="Comma-separated user counts.")] = "100000,1000000",
    assets: Annotated[int, typer.Option("--assets", min=1, metavar="N", help="Assets per user.")] = 20,
    workers: Annotated[str, typer.Option("--workers", metavar="N,N,…", help="Comma-separated worker counts.")] = "2",
    workdir: Annotated[str, typer.Option("--workdir", metavar="DIR", help="Scratch directory.")] = "bench-out",
    reserves: Annotated[int, typer.Option("--reserves", min=0, metavar="N", help="Also verify N signed reserve rows (0: skip).")] = 0,
    export: Annotated[str, typer.Option("--export", metavar="jsonl|parquet|none",
                                        help="Export every proof after each build in this format (none: skip).")] = "jsonl",
    protocols: Annotated[str, typer.Option("--protocols", metavar="V,V,…",
                                           help="Build each snapshot in these protocols (por-v3/por-v2 time is printed).")
                         ] = "por-v2,por-v3",
    peer: Annotated[Optional[str], typer.Option(
        "--peer", metavar="SCRIPT", help="Also time a peer's generator side by side (BitMEX's generate_liabilities.py).")
                    ] = None,
    peer_users: Annotated[int, typer.Option("--peer-users", min=1, metavar="N", help="Accounts for --peer.")] = 1_000_000,
) -> None:
    """Benchmark: build synthetic snapshots in each protocol and compare with the hashing floor; with
    --reserves, ownership proofs per second per core against the bare signature checks; with --peer, a
    peer's generator against `por build --workers 1` on the same accounts.

    \b
    Example:
      por bench --users 1000000,10000000 --workers 1,2
    """
    from jobs.bench import run_bench

    try:
        user_counts = [int(u) for u in users.split(",")]
        worker_counts = [int(w) for w in workers.split(",")]
    except ValueError:
        raise typer.BadParameter("--users and --workers take comma-separated integers") from None
    if export not in ("jsonl", "parquet", "none"):
        raise typer.BadParameter("--export is jsonl, parquet or none")
    from ..protocol.versions import VERSIONS

    chosen = tuple(p.strip() for p in protocols.split(","))
    if not chosen or any(p not in VERSIONS for p in chosen):
        raise typer.BadParameter(f"--protocols takes a comma-separated list of {', '.join(VERSIONS)}")
    if user_counts != [0]:
        run_bench(user_counts, assets, worker_counts, workdir, echo=typer.echo, export=export, protocols=chosen)
    if peer is not None:
        from jobs.bench import peer_comparison

        try:
            peer_comparison(peer, peer_users, workdir, echo=typer.echo)
        except FileNotFoundError as exc:
            raise typer.BadParameter(str(exc)) from None
    if reserves:
        from jobs.bench_reserves import run_reserves_bench

        run_reserves_bench(reserves, worker_counts, workdir, echo=typer.echo)


RpcOpt = Annotated[Optional[list[str]], typer.Option(
    "--rpc", metavar="CHAIN=URL", help="A node for a chain (EVM JSON-RPC, or Bitcoin Core RPC); repeat per chain.")]
TokenOpt = Annotated[Optional[list[str]], typer.Option(
    "--token", metavar="ASSET@CHAIN=CONTRACT", help="An ERC-20 contract for an asset on an EVM chain; repeat.")]
SampleHeightsOpt = Annotated[int, typer.Option(
    "--sample-heights", metavar="N", min=0, max=1000, help="Also read every row at N heights of the month, chosen after "
    "it from its last block's hash, on chains whose node answers at past heights (EVM archive nodes): the minimum "
    "held, not only the snapshot (schemas/reserves.md). 0: none.")]


RESULT_SUFFIXES = (".parquet", ".jsonl")
"""What the per-row results of ``reserves verify`` and ``check-balances`` can be written as."""


def _check_result_options(fmt: str, formats: tuple[str, ...], out: str | None) -> None:
    """``--format`` among the reader's formats and ``--out`` a results file: one rule for both commands."""
    if fmt not in formats:
        raise typer.BadParameter(f"--format must be one of {', '.join(formats)}, not {fmt!r}")
    if out is not None and not out.endswith(RESULT_SUFFIXES):
        raise typer.BadParameter(f"--out must end with {' or '.join(RESULT_SUFFIXES)}")


def _nodes_and_tokens(rpc: list[str] | None, token: list[str] | None) -> tuple[list[Any], dict[tuple[str, str], bytes]]:
    from ..errors import InputError
    from ..reserves.balances import parse_rpc, parse_token

    try:
        nodes = [parse_rpc(s) for s in rpc or []]
        tokens = dict(parse_token(s) for s in token or [])
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from None
    return nodes, tokens


def echo_positions(positions: Any) -> None:
    """The month's table for the terminal: readable amounts, ratios, one wording per status."""
    from ..formats import numbers
    from ..reserves.ratios import STATUS_WORDS

    if positions and positions[0].debt is not None:  # por-v3: owed to users, owed by users, net, both ratios
        def signed(v: int, d: int) -> str:
            return f"-{numbers.amount(-v, d)}" if v < 0 else numbers.amount(v, d)

        typer.echo(f"{'asset':<10} {'owed to users':>26} {'owed by users':>26} {'net liabilities':>26} {'reserves':>26} "
                   f"{'net ratio':>9} {'gross':>9}  status")
        for p in positions:
            words = STATUS_WORDS[p.status]
            typer.echo(f"{p.symbol:<10} {numbers.amount(p.liabilities, p.decimals):>26} "
                       f"{numbers.amount(p.debt or 0, p.decimals):>26} {signed(p.net, p.decimals):>26} "
                       f"{numbers.amount(p.reserves, p.decimals):>26} {numbers.ratio(p.ratio):>9} "
                       f"{numbers.ratio(p.gross_ratio):>9}  {words.upper() if p.flagged else words}")
        return
    typer.echo(f"{'asset':<10} {'liabilities':>30} {'reserves':>30} {'ratio':>9}  status")
    for p in positions:
        words = STATUS_WORDS[p.status]
        typer.echo(f"{p.symbol:<10} {numbers.amount(p.liabilities, p.decimals):>30} {numbers.amount(p.reserves, p.decimals):>30} "
                   f"{numbers.ratio(p.ratio):>9}  {words.upper() if p.flagged else words}")


@command()
@with_run_options(report=True)
def publish(
    period: Annotated[str, typer.Option("--period", metavar="YYYY-MM|previous",
                                        help="The period, or 'previous' for the month before today.")],
    snapshot: Annotated[str, typer.Option("--snapshot", metavar="URL", help="The liabilities snapshot (Parquet file or directory); '{period}' is replaced by the period.")],
    reserves: Annotated[str, typer.Option("--reserves", metavar="URL", help="The reserves (Parquet: chain, address, asset, balance); '{period}' is replaced by the period.")],
    archive: ArchiveOpt,
    secret_file: SecretOpt,
    signing_key: Annotated[str, typer.Option("--signing-key", metavar="FILE", help="Ed25519 signing key (from keygen --signing).")],
    run: RunOptions,
    assets: AssetsOpt = None,
    republish: Annotated[bool, typer.Option("--republish", help="Publish a new revision of a published period, keeping the old one.")] = False,
    exchange: Annotated[Optional[str], typer.Option(
        "--exchange", metavar="NAME", help="The exchange's name in the reserves challenge (see 'por reserves challenge'); "
        "without it no reserve row counts as bound.")] = None,
    rpc: RpcOpt = None,
    token: TokenOpt = None,
    sample_heights: SampleHeightsOpt = 8,
    prices: Annotated[Optional[str], typer.Option(
        "--prices", metavar="FILE", help="US-dollar prices at the snapshot time (schemas/prices.md); '{period}' is replaced.")] = None,
    haircuts: Annotated[Optional[str], typer.Option(
        "--haircuts", metavar="FILE", help="The share of each asset's value that counts as collateral (schemas/haircuts.md); "
        "needed, with --prices, when any user has debt. '{period}' is replaced.")] = None,
    private_log: Annotated[Optional[str], typer.Option(
        "--private-log", metavar="FILE", help="Where the run's owner-only log goes (the first users failing the collateral "
        "rule); default ARCHIVE/.logs/publish-PERIOD-RUN.json.")] = None,
    new_master_secret: Annotated[bool, typer.Option(
        "--new-master-secret", help="Accept a master secret other than the previous month's (the report says so).")] = False,
    protocol: Annotated[str, typer.Option(
        "--protocol", metavar="por-v3|por-v2|por-v1", help="Protocol of the month's bundle; never older than the "
        "previous month's.")] = "por-v3",
    allow_open_period: Annotated[bool, typer.Option(
        "--allow-open-period", help="For tests only: publish a period that has not ended yet.")] = False,
) -> None:
    """The monthly job: validate, build, audit, reserves, ratios, report, sign, publish into the archive.

    \b
    Example:
      por publish --period previous --snapshot s3://exchange/liabilities/{period} \\
          --reserves s3://exchange/reserves/{period} --archive s3://exchange-por/archive \\
          --secret-file /secure/master.secret --signing-key /secure/signing.key
    """
    from jobs.publish import PublishRequest, previous_period, publish_period

    from ..formats.numbers import UNDER_100

    if period == "previous":
        period = previous_period()
        typer.echo(f"period: {period} (the month before today)")

    def fill(url: str) -> str:  # "{period}" in an input location names the period's data
        return url.replace("{period}", period)

    nodes, tokens = _nodes_and_tokens(rpc, token)
    req = PublishRequest(period, fill(snapshot), fill(reserves), archive, secret_file, signing_key,
                         assets=fill(assets) if assets else None, republish=republish, storage_options=run.storage,
                         exchange=exchange, nodes=tuple(nodes), tokens=tokens, sample_heights=sample_heights,
                         prices=fill(prices) if prices else None,
                         haircuts=fill(haircuts) if haircuts else None, private_log=private_log, protocol=protocol,
                         allow_open_period=allow_open_period, new_master_secret=new_master_secret)
    with run.client() as client:
        result = publish_period(client, req, echo=typer.echo, watch=terminal_watch)
    echo_positions(result.positions)
    if result.usd:
        from ..formats.numbers import usd as dollars

        t = result.usd["total"]
        against = (f"{dollars(t['net'])} of net liabilities ({dollars(t['liabilities'])} owed to users, "
                   f"{dollars(t['debt'])} owed by users)" if "net" in t else f"{dollars(t['liabilities'])} of liabilities")
        typer.echo(f"total reserves {dollars(t['reserves'])} against {against} "
                   f"(prices: {result.usd['source']}, {result.usd['timestamp']})")
    typer.echo("seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    flagged = [p.symbol for p in result.positions if p.flagged]
    if flagged:
        typer.echo(f"WARNING: {UNDER_100}: {', '.join(flagged)}", err=True)
    from ..formats.manifest import announced_name, announced_value

    typer.echo(f"{announced_name(result.manifest)} {announced_value(result.manifest)} (announce this value; users "
               "and auditors compare it)")
    from ..publication.report import month_root

    root = "" if "root" not in result.manifest else f", root hash {month_root(result.manifest)}"
    typer.echo(f"published {result.period} revision {result.revision} at {archive}/{result.directory} "
               f"(manifest blake3 {result.manifest_digest}{root})")


@command()
@with_run_options()
def regenerate(
    archive: ArchiveOpt,
    secret_file: SecretOpt,
    run: RunOptions,
    period: Annotated[Optional[str], typer.Option("--period", metavar="YYYY-MM", help="The period to regenerate.")] = None,
    all_periods: Annotated[bool, typer.Option("--all", help="Regenerate every publication in the archive.")] = False,
    rpc: RpcOpt = None,
) -> None:
    """Rebuild archived periods from their archived inputs; print MATCH, or MISMATCH and what differs.
    --rpc: nodes of your own that re-confirm contract wallets' owners.

    \b
    Example:
      por regenerate --period 2026-10 --archive s3://exchange-por/archive --secret-file /secure/master.secret
    """
    if (period is None) == (not all_periods):
        raise typer.BadParameter("give exactly one of --period and --all")
    from jobs.regenerate import regenerate_one, select

    from ..publication.archive import open_archive
    from ..storage.secret_file import read_secret

    options = run.storage
    a = open_archive(archive, options)
    index, raw = a.read_index()
    if raw is None:
        raise fail(f"{archive}: no index.json; nothing was ever published there")
    entries = select(index, period, all_periods)
    secret = read_secret(secret_file)
    nodes, _ = _nodes_and_tokens(rpc, None)
    mismatches = 0
    with run.client() as client:
        for entry in entries:
            result = regenerate_one(client, a, entry, secret, options, nodes=nodes)
            typer.echo(result.render())
            mismatches += not result.match
    if mismatches:
        raise fail(f"{mismatches} of {len(entries)} publication(s) did not regenerate identically")


history_app = typer.Typer(help="The archive's month-to-month hash chain.", no_args_is_help=True)
app.add_typer(history_app, name="history")


@command("verify", group=history_app)
@with_run_options()
def history_verify(
    archive: Annotated[str, typer.Argument(metavar="ARCHIVE", help="The archive (path or URL).")],
    public_key: Annotated[str, typer.Option("--public-key", metavar="FILE", help="The exchange's Ed25519 public key (PEM).")],
    run: RunOptions,
    rpc: RpcOpt = None,
) -> None:
    """Check every month's signature and every link of the chain, and re-derive every report figure from
    the month's public files; exit 1 on a gap, reordering, altered month or a figure its files do not
    give. --rpc: nodes of your own that re-confirm contract wallets' owners. The reserve proofs are
    re-verified in this process, or on a cluster with --workers, --scheduler or --cluster.

    \b
    Example:
      por history verify s3://exchange-por/archive --public-key signing.key.pub
    """
    from ..publication.archive import open_archive
    from ..publication.history import verify_history
    from ..publication.signing import load_public_key

    public = load_public_key(public_key)
    nodes, _ = _nodes_and_tokens(rpc, None)
    a = open_archive(archive, run.storage)
    if run.workers is None and run.scheduler is None and run.cluster is None:
        report = verify_history(a, public, nodes)  # in this process: no cluster unless asked for
    else:
        from ..cluster import client_mapper

        with run.client() as client:
            report = verify_history(a, public, nodes, client_mapper(client))
    for line in report.lines:
        typer.echo(line)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


reserves_app = typer.Typer(help="Reserve addresses: ownership proofs and the text they sign.", no_args_is_help=True)
app.add_typer(reserves_app, name="reserves")


def _challenge(period: str | None, exchange: str | None, archive: str | None, challenge: str | None,
               run: RunOptions) -> str | None:
    """The period's challenge text from the options (usage errors exit 2), None when none is asked for."""
    if challenge is not None:
        if period or exchange or archive:
            raise typer.BadParameter("give either --challenge or --period/--exchange[/--archive], not both")
        return challenge
    if period is None and exchange is None:
        if archive is not None:
            raise typer.BadParameter("--archive needs --period and --exchange")
        return None
    if period is None or exchange is None:
        raise typer.BadParameter("--period and --exchange go together")
    from ..ownership.challenge import challenge_text

    head = None
    if archive is not None:
        from ..publication.archive import chain_head, open_archive

        index, _ = open_archive(archive, run.storage).read_index()
        head = chain_head(index, period)
    return challenge_text(exchange, period, head)


ExchangeOpt = Annotated[Optional[str], typer.Option("--exchange", metavar="NAME", help="The exchange's name as it signs.")]
ChallengeArchiveOpt = Annotated[Optional[str], typer.Option(
    "--archive", metavar="URL", help="The publication archive: the challenge names its previous manifest.")]


@command("challenge", group=reserves_app)
@with_run_options(cluster=False)
def reserves_challenge(
    run: RunOptions,
    period: Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="The period the reserves are proven for.")],
    exchange: Annotated[str, typer.Option("--exchange", metavar="NAME", help="The exchange's name.")],
    archive: ChallengeArchiveOpt = None,
) -> None:
    """Print the exact text every reserve key signs for a period (format por-reserves-challenge-v1).

    \b
    Example:
      por reserves challenge --period 2026-11 --exchange "Example Exchange" --archive s3://por/archive
    """
    text = _challenge(period, exchange, archive, None, run)
    typer.echo(text)


@command("verify", group=reserves_app)
@with_run_options()
def reserves_verify(
    reserves: Annotated[str, typer.Argument(metavar="RESERVES", help="Reserves Parquet file/directory, or a CSV with --format okx-csv.")],
    run: RunOptions,
    fmt: Annotated[str, typer.Option("--format", metavar="parquet|okx-csv", help="The input layout.")] = "parquet",
    period: Annotated[Optional[str], typer.Option("--period", metavar="YYYY-MM", help="Bind to this period's challenge.")] = None,
    exchange: ExchangeOpt = None,
    archive: ChallengeArchiveOpt = None,
    challenge: Annotated[Optional[str], typer.Option("--challenge", metavar="SENTENCE", help="The challenge text itself.")] = None,
    out: Annotated[Optional[str], typer.Option("--out", metavar="FILE", help="Per-row results: .parquet or .jsonl.")] = None,
    rpc: RpcOpt = None,
) -> None:
    """Verify the ownership proof of every reserve row on the cluster: counts per status and per
    asset; exit 1 when any row is invalid (up to five named). A contract wallet is bound only when
    --rpc gives its chain's node, which confirms its owners and threshold at the snapshot height.
    Without a challenge nothing is bound, and a row that names no message (it signs the challenge)
    is missing, not checked.

    \b
    Example:
      por reserves verify reserves.csv --format okx-csv --period 2026-11 --exchange "Example Exchange" \\
          --archive s3://por/archive --out results.parquet --workers 2
    """
    from ..cluster import client_mapper
    from ..ownership.check import STATUSES
    from ..reserves.input import FORMATS
    from ..reserves.ownership import verify_reserves, write_results

    _check_result_options(fmt, FORMATS, out)
    text = _challenge(period, exchange, archive, challenge, run)
    nodes, _ = _nodes_and_tokens(rpc, None)
    with run.client() as client:
        result = verify_reserves(client_mapper(client), reserves, text, fmt, run.storage, nodes=nodes, period=period,
                                 keep_proofs=False)
    unchecked = result.not_checked()
    typer.echo(f"challenge: {text}" if text else "challenge: none given: nothing can be bound; a valid proof over the "
               "message a row names is reported as unbound" + (
                   f"; {len(unchecked)} row(s) name no message (they sign the period's challenge) and are reported "
                   "missing, not checked: give --period and --exchange (with --archive), or --challenge, to check "
                   "them" if unchecked else ""))
    counts = result.counts()
    typer.echo(f"{result.rows} rows: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES))
    units = "whole units" if fmt == "okx-csv" else "as written in the file"
    for asset, per in sorted(result.per_asset().items()):
        typer.echo(f"  {asset} ({units}): " + ", ".join(f"{s} {per[s]}" for s in STATUSES if per[s] or s == "bound"))
    for line in result.totals_disagreements:
        typer.echo(f"TOTALS DISAGREE: {line}", err=True)
    if out is not None:
        write_results(result, out, run.storage)
        typer.echo(f"per-row results: {out}")
    invalid = result.invalid()
    if invalid:
        from ..reserves.results import named_rows

        for line in named_rows(invalid, file=True):
            typer.echo(f"INVALID {line}", err=True)
        raise typer.Exit(1)


def echo_balances(check: Any, decimals: dict[str, int]) -> None:
    """Counts per status, totals per asset (whole units when the decimals are known), failing rows."""
    from ..formats.numbers import amount
    from ..onchain.compare import STATUSES

    counts = check.counts()
    typer.echo(f"{len(check.records)} rows: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES))
    for chain, c in check.per_chain().items():
        node = f"node {check.nodes[chain]}" if chain in check.nodes else "no node"
        heights = ", ".join(map(str, c["heights"])) or "-"
        typer.echo(f"  {chain} ({node}; heights {heights}): " + ", ".join(f"{c['counts'][s]} {s}" for s in STATUSES if c["counts"][s]))
        if c.get("block"):
            typer.echo(f"    block {c['height']} {c['block']['hash']} at {c['block']['time']}; chain id {c['chain_id']}")
    unconverted = {r["asset"] for r in check.records if r.get("units") is None}
    for asset, t in sorted(check.totals().items()):
        d = decimals.get(asset)
        if asset in unconverted:
            typer.echo(f"  {asset}: not totalled: some amounts cannot be put in smallest units (decimals unknown: "
                       "give --assets FILE, or --token for a token, whose contract reports them)")
            continue
        def shown(v: int, d: int | None = d) -> str:
            return amount(v, d) if d is not None else f"{v} (smallest units)"

        typer.echo(f"  {asset}: published {shown(t['published'])}, checked {shown(t['checked'])}, "
                   f"matching {shown(t['matching'])}")
    echo_sampling(check, decimals)
    from ..reserves.results import named_rows

    failing = check.failing()
    for r, line in zip(failing, named_rows(failing, file=True, height=True), strict=False):
        typer.echo(f"{r['status'].upper()} {line}", err=True)


def echo_sampling(check: Any, decimals: dict[str, int]) -> None:
    """The month's sampled heights per chain, and per asset the sampled rows' sum at the snapshot and the
    minimum over the sampled heights."""
    from ..formats.numbers import amount

    if check.sampling_note:
        typer.echo(check.sampling_note)
    s = check.sampling
    if s is None:
        return
    if s.count == 0:
        typer.echo("sampled heights: none asked for (--sample-heights 0): balances were read at the snapshot only")
        return
    typer.echo(f"sampled heights ({s.count} per chain, after the month, from the hash of its last block):")
    for chain, c in s.chains.items():
        if not c["sampled"]:
            typer.echo(f"  {chain}: not sampled: {c['why']}")
            continue
        where = ("after the previous month's snapshot" if c["first_rule"] == "previous-snapshot"
                 else "from the period's first block")
        heights = ", ".join(f"{h:,}" for h in c["heights"]) or "-"
        typer.echo(f"  {chain}: {len(c['heights'])} height(s) of blocks {c['first']:,} to {c['last']:,} ({where} "
                   f"to the one before the snapshot), chosen by the hash of block {c['seed']['height']:,}, the "
                   f"period's last, {c['seed']['hash']}: {heights}")

    def shown(v: int, d: int | None) -> str:
        return amount(v, d) if d is not None else f"{v} (smallest units)"

    for asset, (snap, low) in s.held().items():
        d = decimals.get(asset)
        typer.echo(f"  {asset}: at the snapshot {shown(snap, d)}, minimum over the sampled heights {shown(low, d)}"
                   + ("" if low == snap else f" ({shown(snap - low, d)} less)"))
    for chain in s.failed:
        typer.echo(f"NOT SAMPLED {chain}: {s.chains[chain]['why']}", err=True)


@command("check-balances", group=reserves_app)
@with_run_options()
def reserves_check_balances(
    reserves: Annotated[str, typer.Argument(metavar="RESERVES", help="Reserves Parquet file/directory, or a CSV with --format okx-csv.")],
    run: RunOptions,
    rpc: RpcOpt = None,
    token: TokenOpt = None,
    fmt: Annotated[str, typer.Option("--format", metavar="parquet|okx-csv", help="The input layout.")] = "parquet",
    assets: Annotated[Optional[str], typer.Option(
        "--assets", metavar="FILE", help="Asset file (decimals of tokens; default: the chain's coin, or the contract).")] = None,
    out: Annotated[Optional[str], typer.Option("--out", metavar="FILE", help="Per-row results: .parquet or .jsonl.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64, metavar="N",
                                             help="JSON-RPC batches in flight per worker (EVM).")] = 4,
    period: Annotated[Optional[str], typer.Option(
        "--period", metavar="YYYY-MM", help="Each chain's snapshot block must be in the window before this month's end.")] = None,
    sample_heights: SampleHeightsOpt = 8,
    archive: Annotated[Optional[str], typer.Option(
        "--archive", metavar="URL", help="The publication archive: the sampled heights start after the previous "
        "month's snapshot block it records, as por publish's do.")] = None,
) -> None:
    """Compare every reserve row's balance with its chain at the chain's snapshot height: match,
    mismatch, unchecked (no node for the chain) or error (the node's answer); exit 1 when a row
    mismatches or could not be read from its node (up to five named). With --period, every row of a
    chain whose node answers at past heights is also read at --sample-heights heights of the month
    (the minimum held); exit 1 when such a chain could not be sampled.

    \b
    Example:
      por reserves check-balances public/reserves.parquet --rpc ethereum=http://127.0.0.1:8545 \\
          --rpc bitcoin=http://user:pass@127.0.0.1:8332 --token USDT@ethereum=0xdAC17F958D2ee523a2206206994597C13D831ec7 \\
          --out balances.parquet --workers 2
    """
    from ..cluster import client_mapper
    from ..formats.assets import parse_assets
    from ..reserves.balances import check_balances, write_results
    from ..reserves.input import FORMATS

    _check_result_options(fmt, FORMATS, out)
    nodes, tokens = _nodes_and_tokens(rpc, token)
    if not nodes:
        raise typer.BadParameter("give at least one --rpc CHAIN=URL")
    from ..protocol.period import is_valid_period

    if period is not None and not is_valid_period(period):
        raise typer.BadParameter(f"--period must be YYYY-MM, not {period!r}")
    decimals: dict[str, int] = {}
    if assets is not None:
        from ..storage import fs as storage

        fs, path = storage.open_fs(assets, run.storage)
        decimals = {a.symbol: a.decimals for a in parse_assets(storage.read_bytes(fs, path, assets), assets)}
    since: dict[str, int] = {}
    if archive is not None:
        if period is None:
            raise typer.BadParameter("--archive needs --period")
        from ..publication.archive import open_archive
        from ..publication.history import previous_snapshot_heights

        a = open_archive(archive, run.storage)
        since = previous_snapshot_heights(a, a.read_index()[0], period)
    with run.client() as client:
        check = check_balances(client_mapper(client), reserves, nodes, tokens, fmt, decimals or None, run.storage,
                               concurrency=concurrency, period=period, sample=sample_heights, since=since)
    from ..ownership.chains import CHAINS

    echo_balances(check, {**{c.native[0]: c.native[1] for c in CHAINS if c.native}, **check.decimals(), **decimals})
    if out is not None:
        write_results(check, out, run.storage)
        typer.echo(f"per-row results: {out}")
    if check.failing() or (check.sampling is not None and check.sampling.failed):
        raise typer.Exit(1)
