"""``por publish``: the monthly publication job.

Steps, in order: validate → build → audit → reserves → ratios → report → sign → publish.
Everything is assembled in a hidden staging directory of the archive
(``.publish-<period>-<id>``); the publish step moves it to ``ARCHIVE/<dir>`` and
then, last, rewrites ``index.json``. A failure at any step removes what the run
wrote, so the archive is exactly as it was.

The inputs are copied into the staging directory first (with the blake3 of every
file) and the build reads the copies: what is archived is what was built.

por-v3 months: the audit step also checks every user's collateral against their debt
(``liabilities.collateral``, at the month's prices and haircuts) and refuses the month if any user
fails, printing only how many; the first failing rows (user file, row, shortfall in dollars) go to the
owner-only private log (``PublishRequest.private_log``), never to the terminal or a public file.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
import uuid
from dataclasses import KW_ONLY, dataclass
from typing import Any, Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline import __version__
from pipeline.cluster import client_mapper
from pipeline.errors import BuildInterrupted, BundleError, InputError, PublishError
from pipeline.formats import layout
from pipeline.formats.canonical import canonical_json, digest
from pipeline.formats.numbers import amount
from pipeline.formats.haircuts import Haircuts, parse_haircuts
from pipeline.formats.prices import Prices, parse_prices, prices_time_problem, zero_price_problems
from pipeline.formats.verifier_page import page_parts, render_page
from pipeline.liabilities.audit import audit_bundle
from pipeline.liabilities import collateral as collateral_rule
from pipeline.liabilities.build import BuildResult, Watch, build_bundle
from pipeline.liabilities.snapshot import SnapshotPlan, assets_location, plan_snapshot
from pipeline.ownership.challenge import challenge_text
from pipeline.protocol.jsonread import parse_json
from pipeline.protocol.keys import SecretKey, secret_id
from pipeline.protocol.period import is_valid_period, snapshot_time
from pipeline.protocol.versions import DEFAULT as DEFAULT_PROTOCOL
from pipeline.protocol.versions import VERSIONS, per_asset
from pipeline.publication import archive
from pipeline.publication.history import previous_snapshot_heights, signed_history
from pipeline.publication.recheck import history_row
from pipeline.publication.report import (
    collateral_section,
    month_root,
    render_reports,
    report_doc,
    reserves_status,
    usd_figures,
)
from pipeline.publication.signing import (
    load_signing_key,
    public_key_pem,
    sign_manifest,
    verify_manifest_signature,
)
from pipeline.reserves import public as public_reserves
from pipeline.reserves import ratios
from pipeline.onchain.sampling import DEFAULT_COUNT as DEFAULT_SAMPLES
from pipeline.reserves.balances import Node, check_balances
from pipeline.reserves.input import Reserves, check_reserves, load_reserves
from pipeline.reserves.ownership import Ownership, verify_reserves
from pipeline.reserves.results import named_rows
from pipeline.storage import bundle, private
from pipeline.storage import fs as storage
from pipeline.storage.secret_file import read_secret
from pipeline.webmodule import ensure_browser_module

STEPS = ("validate", "build", "audit", "reserves", "ratios", "report", "sign", "publish")
TOOL = f"por-pipeline {__version__}"


@dataclass(frozen=True)
class PublishRequest:
    period: str
    snapshot: str
    reserves: str
    archive: str
    secret_file: str
    signing_key: str
    _: KW_ONLY
    assets: str | None = None
    republish: bool = False
    storage_options: Mapping[str, Any] | None = None
    exchange: str | None = None
    """The exchange's name as its reserve keys sign it (the challenge); None: no reserve row can be bound."""
    nodes: tuple[Node, ...] = ()
    """Chain nodes to compare every reserve balance with at its snapshot height (``--rpc``)."""
    tokens: Mapping[tuple[str, str], bytes] | None = None
    """(asset, chain) -> ERC-20 contract (``--token``)."""
    sample_heights: int = DEFAULT_SAMPLES
    """With nodes: further heights of the month every row is read at, on chains whose node answers at past
    heights (``pipeline.onchain.sampling``; ``--sample-heights``, 0: none). The report shows per asset the
    minimum over them beside the snapshot."""
    prices: str | None = None
    """The prices file (``schemas/prices.md``): US-dollar figures in the report."""
    haircuts: str | None = None
    """The haircuts file (``schemas/haircuts.md``): with the prices, the per-user collateral rule of a
    por-v3 month; needed when any user has debt."""
    private_log: str | None = None
    """Where the run's private log goes (owner-only; the first failing rows of the collateral rule). None:
    ``ARCHIVE/.logs/publish-<period>-<run id>.json``, which a refused month leaves behind on purpose."""
    allow_open_period: bool = False
    """Publish a period whose snapshot time is still in the future (tests only: ``--allow-open-period``)."""
    new_master_secret: bool = False
    """Accept a master secret other than the previous month's (``--new-master-secret``); the report says so."""
    now: dt.datetime | None = None
    """The current time (None: the clock); the open-period check compares the snapshot time with it."""
    protocol: str = DEFAULT_PROTOCOL
    """The protocol of the month's bundle (por-v3 by default); never older than the previous month's."""


@dataclass(frozen=True)
class PublishResult:
    period: str
    revision: int
    directory: str
    manifest: dict[str, Any]
    manifest_digest: str
    positions: list[ratios.AssetPosition]
    seconds: dict[str, float]
    """Wall time per step (the copy of the inputs counts under validate; the move and index under publish)."""
    usd: dict[str, Any] | None = None
    """The report's dollar figures (with ``--prices``)."""
    collateral: collateral_rule.CollateralResult | None = None
    """por-v3: the collateral rule over every user (every one passed, or the month was refused)."""


@dataclass(frozen=True)
class _Validated:
    """What the validate step hands on."""

    index: Mapping[str, Any]
    index_raw: bytes | None
    slot: archive.Slot
    secret: SecretKey
    signing_key: Ed25519PrivateKey
    plan: SnapshotPlan
    """The archived copy of the snapshot, as the build reads it."""
    inputs_bytes: bytes
    prices: Prices | None
    haircuts: Haircuts | None
    challenge: str | None
    ownership: Ownership
    balances_doc: dict[str, Any] | None


@dataclass(frozen=True)
class _Built:
    result: BuildResult
    out: str
    """The fresh bundle in the staging directory (a path of the archive's file system)."""
    out_url: str


@dataclass(frozen=True)
class _Held:
    """The month's reserves: totals, sums by ownership status, and the public reserve files (written into
    the fresh bundle as they were made: here the blake3 of the bytes written)."""

    reserves: Reserves
    by_status: dict[str, dict[str, int]]
    files: dict[str, str]


@dataclass(frozen=True)
class _Report:
    files: dict[str, str]
    """The report files and the public reserve files, as written: name -> blake3 of the bytes written."""
    usd: dict[str, Any] | None
    published_at: str


def write_public(fresh: bundle.Bundle, public: public_reserves.PublicFiles) -> dict[str, str]:
    """Both public reserve files written into the fresh bundle as they are made (``Bundle.write_stream``), at
    once in two threads (their making is Arrow's and zstd's work, outside the GIL; the workers are idle
    by then); returns name -> blake3 of the bytes written. The first error is raised once both are done."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # what the totals' checks freed, given back before both files
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="public-file") as pool:
        made = {name: pool.submit(fresh.write_stream, name, functools.partial(public.write, name)) for name in public}
        return {name: future.result() for name, future in made.items()}


def previous_period(today: dt.date | None = None) -> str:
    """The month before ``today`` (local date): what the monthly trigger publishes."""
    today = today or dt.date.today()
    return (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def publish_period(client: Any, req: PublishRequest, echo: Callable[[str], None] = print,
                   watch: Watch | None = None, before_step: Callable[[str], None] | None = None) -> PublishResult:
    """Run every step for ``req.period``. ``before_step(name)`` is called as each step
    (and the final index write, ``"index"``) begins: a fault-injection point for tests.

    Raises ``PublishError`` (the archive unchanged) on any failure.
    """
    run = _Publication(client, req, echo, watch, before_step or (lambda name: None))
    return run.execute()


class _Publication:
    def __init__(self, client: Any, req: PublishRequest, echo: Callable[[str], None], watch: Watch | None,
                 before_step: Callable[[str], None]) -> None:
        self.client, self.req, self.echo, self.watch, self.before_step = client, req, echo, watch, before_step
        self.opts = dict(req.storage_options or {})
        self.step_name = "start"
        self.seconds: dict[str, float] = {}
        self.clock = time.perf_counter()

    def step(self, name: str) -> None:
        """Enter step ``name`` (``index``: the index write, timed under publish; ``done``: the end)."""
        now = time.perf_counter()
        timed = "publish" if self.step_name == "index" else self.step_name
        if timed in STEPS:
            self.seconds[timed] = self.seconds.get(timed, 0.0) + now - self.clock
        self.clock = now
        self.step_name = name
        if name in STEPS:
            self.echo(f"[{STEPS.index(name) + 1}/{len(STEPS)}] {name}")
        if name != "done":
            self.before_step(name)

    def execute(self) -> PublishResult:
        req = self.req
        if not is_valid_period(req.period):
            raise InputError("is not YYYY-MM; nothing was written", parameter="period", value=repr(req.period))
        end, now = snapshot_time(req.period), req.now or dt.datetime.now(dt.timezone.utc)
        if end > now and not req.allow_open_period:
            raise InputError(f"has not ended: its snapshot time {end:%Y-%m-%dT%H:%M:%SZ} is after now "
                             f"({now:%Y-%m-%dT%H:%M:%SZ}); nothing was written", parameter="period",
                             value=repr(req.period))
        a = archive.open_archive(req.archive, self.opts)
        existed = storage.retrying(lambda: a.fs.exists(a.path))
        self.archive = a
        self.stage_name = f"{archive.STAGING_PREFIX}{req.period}-{uuid.uuid4().hex[:12]}"
        self.moved_to: str | None = None
        try:
            return self._steps()
        except BaseException as exc:
            self._clean_up(existed)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            if isinstance(exc, BuildInterrupted) and exc.__cause__ is not None:
                exc = exc.__cause__  # its advice to --resume does not apply: the staging is gone
            raise PublishError(req.period, self.step_name, req.archive, exc) from None

    def _clean_up(self, existed: bool) -> None:
        a = self.archive
        try:
            if self.moved_to is not None:
                a.remove(self.moved_to)
            a.remove(self.stage_name)
            if not existed and storage.is_local(a.fs) and a.fs.exists(a.path) and not a.entries():
                a.fs.rmdir(a.path)
        except Exception as exc:  # noqa: BLE001 - report, then let the original error surface
            self.echo(f"warning: could not remove {self.stage_name} ({type(exc).__name__}: {exc})")

    def _steps(self) -> PublishResult:
        """The eight steps in order, each one method; what a step hands on is its result record."""
        self.step("validate")
        v = self._validate()
        self.step("build")
        built = self._build(v)
        self.step("audit")
        fresh, checked = self._audit(v, built)
        self.step("reserves")
        held = self._reserves(v, fresh)
        self.step("ratios")
        manifest, positions = self._ratios(v, built, held)
        self.step("report")
        report = self._report(v, held, manifest, positions, fresh)
        self.step("sign")
        manifest_digest = self._sign(v, built, manifest, report, fresh)
        self.step("publish")
        self._publish(v, built, manifest, manifest_digest, positions, report)
        self.step("done")
        return PublishResult(self.req.period, v.slot.revision, v.slot.directory, manifest, manifest_digest, positions,
                             self.seconds, report.usd, checked)

    def _validate(self) -> _Validated:
        """1. Everything cheap, before any copy or build; the inputs copied into the staging directory
        (what is archived is what is built); every reserve row's ownership proof (an invalid one refuses
        the month) and, with nodes, every balance."""
        req, a, opts = self.req, self.archive, self.opts
        stage = a.file(self.stage_name)
        ensure_browser_module()  # the month's verifier.html embeds it: fail now, not after the build
        private.make_dirs(a.fs, a.path, private=False)
        private.make_dirs(a.fs, stage, private=True)  # the run's inputs and proof store until published
        index, index_raw = a.read_index()
        slot = archive.plan_slot(index, req.period, req.republish)
        if a.exists(slot.directory):
            raise InputError(f"{req.archive}/{slot.directory} exists but is not in {archive.INDEX} "
                             "(left by an interrupted publication?); inspect it and remove it")
        stale = [e for e in a.staging_leftovers() if e != self.stage_name]
        if stale:
            self.echo(f"warning: staging directories of interrupted publications in {req.archive}: {stale[:5]}; "
                      f"they are not publications: 'por clean {req.archive}' removes them once no publication "
                      "is running")
        secret = read_secret(req.secret_file)
        previous = self._previous_manifest(a, index, slot)
        self._check_protocol(slot, previous)
        self.secret_changed = self._check_secret(slot, previous, secret_id(secret))
        signing_key = load_signing_key(req.signing_key)
        inputs_bytes, prices, haircuts = self._copy_inputs(stage)
        plan = plan_snapshot(a.url(self.stage_name, "inputs/snapshot"),
                             a.url(self.stage_name, "inputs/assets.json"), opts)
        challenge = (challenge_text(req.exchange, req.period, slot.previous["manifest"] if slot.previous else None)
                     if req.exchange else None)
        ownership = verify_reserves(client_mapper(self.client), a.url(self.stage_name, "inputs/reserves"),
                                    challenge, "parquet", opts, nodes=req.nodes, period=req.period)
        counts = ownership.counts()
        self.echo("      reserve ownership: " + ", ".join(f"{counts[s]} {s}" for s in counts)
                  + ("" if challenge else " (no --exchange: nothing can be bound)"))
        invalid = ownership.invalid()
        if invalid:
            named = "; ".join(named_rows(invalid))
            raise InputError(f"{len(invalid)} reserve row(s) with an invalid ownership proof: {named}")
        balances_doc = (self._check_balances(a.url(self.stage_name, "inputs/reserves"), plan.assets,
                                             previous_snapshot_heights(a, index, req.period)) if req.nodes else None)
        return _Validated(index, index_raw, slot, secret, signing_key, plan, inputs_bytes, prices, haircuts, challenge,
                          ownership, balances_doc)

    def _copy_inputs(self, stage: str) -> tuple[bytes, Prices | None, Haircuts | None]:
        """The snapshot, asset file, reserves, prices and haircuts copied into ``stage/inputs`` with the
        blake3 of every file (``inputs/inputs.json``); every reserve row, the prices and the haircuts
        checked first."""
        req, a, opts = self.req, self.archive, self.opts
        source_plan = plan_snapshot(req.snapshot, req.assets, opts)
        reserve_files = check_reserves(req.reserves, opts)
        load_reserves(req.reserves, source_plan.assets, opts)  # every row checked now, not after the build
        for what, names in (("snapshot", source_plan.ignored), ("reserves", reserve_files.ignored)):
            if names:
                self.echo(f"      {what}: passed over (hidden names, recorded in inputs.json): {', '.join(names)}")
        assets_fs, assets_path, _ = assets_location(req.snapshot, req.assets, opts)
        inputs: dict[str, Any] = {
            "format": archive.INPUTS_FORMAT,
            "snapshot": {"source": req.snapshot, "files": archive.copy_tree(
                req.snapshot, list(source_plan.files), a.fs, stage, "inputs/snapshot", opts),
                "ignored": list(source_plan.ignored)},
            "assets": {"source": req.assets or "assets.json beside the snapshot", "files": {
                "inputs/assets.json": archive.copy_file(assets_fs, assets_path, a.fs, storage.join(stage, "inputs/assets.json"))}},
            "reserves": {"source": req.reserves, "files": archive.copy_tree(
                req.reserves, reserve_files.files, a.fs, stage, "inputs/reserves", opts),
                "ignored": reserve_files.ignored},
        }
        prices = None
        if req.prices is not None:
            prices_fs, prices_path = storage.open_fs(req.prices, opts)
            prices = parse_prices(storage.read_bytes(prices_fs, prices_path, req.prices), req.prices,
                                  [x.symbol for x in source_plan.assets])
            late = prices_time_problem(prices, req.period)
            if late:
                raise InputError(f"{req.prices}: {late}")
            inputs["prices"] = {"source": req.prices, "files": {archive.PRICES: archive.copy_file(
                prices_fs, prices_path, a.fs, storage.join(stage, archive.PRICES))}}
        haircuts = None
        if req.haircuts is not None:
            cuts_fs, cuts_path = storage.open_fs(req.haircuts, opts)
            haircuts = parse_haircuts(storage.read_bytes(cuts_fs, cuts_path, req.haircuts), req.haircuts,
                                      [x.symbol for x in source_plan.assets])
            inputs["haircuts"] = {"source": req.haircuts, "files": {archive.HAIRCUTS: archive.copy_file(
                cuts_fs, cuts_path, a.fs, storage.join(stage, archive.HAIRCUTS))}}
        inputs_bytes = canonical_json(inputs)
        private.write_file(a.fs, storage.join(stage, archive.INPUTS_DOC), inputs_bytes, private=True)
        return inputs_bytes, prices, haircuts

    def _build(self, v: _Validated) -> _Built:
        """2. The tree, from the archived copy, into the staging directory."""
        a = self.archive
        out = storage.join(a.file(self.stage_name), v.slot.directory)
        out_url = a.url(self.stage_name, v.slot.directory)
        # the month's verifier page embeds the signed manifest: it is written after signing (step 7)
        result = build_bundle(self.client, v.plan, self.req.period, v.secret, out_url, storage_options=self.opts,
                              verifier_page=False, watch=self.watch, public_dir=layout.PUBLIC_DIR,
                              protocol=self.req.protocol)
        storage.move_tree(a.fs, storage.join(a.file(self.stage_name), archive.INPUTS_DIR),
                          storage.join(out, archive.INPUTS_DIR))
        word = "announced value" if per_asset(result.manifest.get("version")) else "root"
        self.echo(f"      {word} {month_root(result.manifest)} over {result.users} users")
        return _Built(result, out, out_url)

    def _audit(self, v: _Validated, built: _Built) -> tuple[bundle.Bundle, collateral_rule.CollateralResult | None]:
        """3. The fresh bundle audited: every bucket re-folded from private/; por-v3: every tree, every user's
        fragments and every user's collateral against their debt (``audit_bundle`` with the rule's terms,
        one pass over the user files; a month with a failing user is refused)."""
        fresh = bundle.open_bundle(built.out_url, self.opts)
        manifest = built.result.manifest
        v3 = per_asset(manifest.get("version"))
        if not v3 and v.haircuts is not None:
            raise InputError(f"is for the collateral rule of por-v3; this month is {manifest.get('version')}, "
                             "which has no debt", parameter="haircuts", value=self.req.haircuts)
        terms = self._collateral_terms(v, manifest) if v3 else None
        audit = audit_bundle(fresh, client_mapper(self.client), terms)  # por-v3: one pass over the user files
        self.echo(f"      audit OK: {audit.buckets} buckets, {audit.users} users")
        if not v3:
            return fresh, None
        if terms is None:
            self.echo("      collateral: no user has debt")
            return fresh, collateral_rule.CollateralResult(audit.users)
        result = getattr(audit, "collateral", None)
        if result is None:
            raise BundleError("the audit returned no collateral result although it was given the rule's terms")
        self._refuse_failures(result)
        return fresh, result

    def _collateral_terms(self, v: _Validated, manifest: Mapping[str, Any]) -> collateral_rule.Terms | None:
        """The collateral rule's terms for the audit (None: no user has debt and no tables were given).
        Refused: a month with debt but without prices or haircuts, a zero price for an asset anybody owes
        or holds."""
        owed = [t["asset"] for t in manifest["trees"] if int(t["root"]["debt"])]
        if owed:
            for name, given in (("prices", v.prices), ("haircuts", v.haircuts)):
                if given is None:
                    raise InputError(f"is needed: users owe {', '.join(owed)}, and the per-user collateral rule values "
                                     "their collateral and debt with the prices and the haircuts", parameter=name)
        if v.prices is None or v.haircuts is None:
            return None
        held = {t["asset"]: int(t["root"]["equity"]) + int(t["root"]["debt"]) for t in manifest["trees"]}
        zero = zero_price_problems(v.prices, held)
        if zero:
            raise InputError(f"{self.req.prices}: " + "; ".join(zero))
        return collateral_rule.collateral_terms([(x["symbol"], x["decimals"]) for x in manifest["assets"]],
                                                v.prices.prices, v.haircuts.haircuts)

    def _refuse_failures(self, result: collateral_rule.CollateralResult) -> None:
        """Any user failing the rule refuses the month: the count here, the first failing rows (user file,
        row, shortfall in dollars) in the private log only."""
        if result.failures:
            log = self._private_log({"collateral": {
                "users_checked": result.users_checked, "users_with_debt": result.users_with_debt,
                "failures": result.failures,
                "first_failures": [{"file": f.file, "row": f.row, "shortfall_usd": collateral_rule.usd_text(f.shortfall)}
                                   for f in result.first_failures]}})
            raise InputError(f"{result.failures} of {result.users_with_debt} user(s) with debt fail the collateral rule "
                             "(their collateral at this month's prices and haircuts does not cover their debt); the "
                             f"first failing rows are in the private log {log}; nothing was published")
        self.echo(f"      collateral OK: {result.users_with_debt} user(s) with debt, every one covered")

    def _private_log(self, content: Mapping[str, Any]) -> str:
        """Write the run's private log (owner-only; kept when the month is refused); returns where."""
        a, req = self.archive, self.req
        run = self.stage_name.removeprefix(f"{archive.STAGING_PREFIX}{req.period}-")
        if req.private_log is not None:
            fs, path, shown = *storage.open_fs(req.private_log, self.opts), req.private_log
        else:
            fs, path = a.fs, a.file(archive.LOGS_DIR, f"publish-{req.period}-{run}.json")
            shown = f"{req.archive}/{archive.LOGS_DIR}/publish-{req.period}-{run}.json"
        doc = {"format": "por-publish-log-v1", "period": req.period, "run": run,
               "at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
               **content}
        private.make_dirs(fs, path.rsplit("/", 1)[0], private=True)
        private.write_file(fs, path, json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n", private=True)
        return shown

    def _reserves(self, v: _Validated, fresh: bundle.Bundle) -> _Held:
        """4. The reserves, from the batches verified in step 1 (the archived copy is not read again): totals,
        sums by status, and the public files, written into the fresh bundle as they are made."""
        reserves, by_status, public = public_reserves.verified_reserves(v.ownership, v.plan.assets)
        return _Held(reserves, by_status, write_public(fresh, public))

    def _ratios(self, v: _Validated, built: _Built, held: _Held) -> tuple[dict[str, Any], list[ratios.AssetPosition]]:
        """5. Every asset's position; a zero price for an asset owed or held refuses the month."""
        manifest = {k: val for k, val in built.result.manifest.items() if k != "files"}
        positions = ratios.manifest_positions(manifest, held.reserves.totals)
        if v.prices is not None:
            zero = zero_price_problems(v.prices, {p.symbol: p.liabilities + (p.debt or 0) + p.reserves
                                                  for p in positions})
            if zero:
                raise InputError(f"{self.req.prices}: " + "; ".join(zero))
        return manifest, positions

    def _report(self, v: _Validated, held: _Held, manifest: dict[str, Any], positions: list[ratios.AssetPosition],
                fresh: bundle.Bundle) -> _Report:
        """6. The report, with the history of the earlier months from their signed manifests and reports
        (never from the index's copies of the figures), written into the fresh bundle."""
        req = self.req
        manifest["previous"] = v.slot.previous
        manifest["publication"] = {"revision": v.slot.revision, "supersedes": v.slot.supersedes,
                                   "inputs": digest(v.inputs_bytes), "tool": TOOL, "secret": secret_id(v.secret)}
        history = signed_history(self.archive, v.index, v.signing_key.public_key(), req.period) + [
            history_row(manifest, None)]
        history.sort(key=lambda h: h["period"])
        this_month = next(h for h in history if h["period"] == req.period)
        usd = None
        if v.prices is not None:
            usd = usd_figures(v.prices, positions, held.reserves.totals,
                              {s: per.get("bound", 0) for s, per in held.by_status.items()} if v.challenge else None)
            this_month["reserves_usd"] = usd["total"]["reserves"]
        this_month["ratios"] = {p.symbol: p.ratio for p in positions}
        this_month["flagged"] = [p.symbol for p in positions if p.flagged]
        published_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        doc = report_doc(manifest, positions, held.reserves, history,
                         reserves_status(v.ownership, held.by_status, req.exchange, v.challenge), usd, v.balances_doc,
                         published_at, req.exchange, collateral_section(v.haircuts) if per_asset(manifest["version"]) else None)
        doc["master_secret"] = {"id": manifest["publication"]["secret"], "changed": self.secret_changed}
        files = render_reports(doc, positions)
        for name, data in files.items():
            fresh.write(name, data)
        return _Report({**{n: digest(d) for n, d in files.items()}, **held.files}, usd, published_at)

    def _sign(self, v: _Validated, built: _Built, manifest: dict[str, Any], report: _Report,
              fresh: bundle.Bundle) -> str:
        """7. The publication manifest signed (RFC 8785 bytes), the public key and the verifier page
        beside it; returns the manifest's digest."""
        public_pem = public_key_pem(v.signing_key.public_key())
        fresh.write(layout.PUBLIC_KEY, public_pem)
        manifest["files"] = {**built.result.manifest["files"], **report.files,
                             layout.PUBLIC_KEY: digest(public_pem)}
        manifest["publication"]["verifier"] = digest(page_parts(render_page()).code)  # the page's code, signed
        manifest_bytes = canonical_json(manifest)
        signature = sign_manifest(v.signing_key, manifest)
        verify_manifest_signature(v.signing_key.public_key(), manifest, signature, "fresh signature")
        fresh.write(layout.MANIFEST, manifest_bytes)
        fresh.write(layout.SIGNATURE, canonical_json(signature))
        fresh.write(layout.VERIFIER_PAGE, render_page(manifest, signature, public_pem.decode("ascii")))
        return digest(manifest_bytes)

    def _publish(self, v: _Validated, built: _Built, manifest: Mapping[str, Any], manifest_digest: str,
                 positions: list[ratios.AssetPosition], report: _Report) -> None:
        """8. Moved into place, then (last) the index."""
        req, a = self.req, self.archive
        now_raw = a.read(archive.INDEX) if a.exists(archive.INDEX) else None
        if now_raw != v.index_raw:
            raise BundleError(f"{req.archive}/{archive.INDEX} changed while this publication ran "
                              "(another publication?); nothing was published")
        if a.exists(v.slot.directory):
            raise InputError(f"{req.archive}/{v.slot.directory} appeared while this publication ran")
        self.moved_to = v.slot.directory
        storage.move_tree(a.fs, built.out, a.file(v.slot.directory))
        self.step("index")
        entry = {
            "period": req.period,
            "revision": v.slot.revision,
            "directory": v.slot.directory,
            "manifest": manifest_digest,
            "root": month_root(manifest),
            "protocol": manifest["version"],
            "tool": TOOL,
            "liabilities": {p.symbol: str(p.liabilities) for p in positions},
            "reserves": {p.symbol: str(p.reserves) for p in positions},
            "ratios": {p.symbol: p.ratio for p in positions},
            "under_100_percent": [p.symbol for p in positions if p.flagged],
            "published_at": report.published_at,
        }
        a.write_index({"format": archive.INDEX_FORMAT, "publications": [*v.index["publications"], entry]})
        self.moved_to = None
        a.remove(self.stage_name)

    def _previous_manifest(self, a: archive.Archive, index: Mapping[str, Any], slot: archive.Slot) -> Any:
        """The previous month's manifest (None for the archive's first month)."""
        if slot.previous is None:
            return None
        entry = archive.current(index)[slot.previous["period"]]
        return parse_json(a.read(entry["directory"], layout.PUBLIC_DIR, layout.MANIFEST), entry["directory"])

    def _check_protocol(self, slot: archive.Slot, previous: Any) -> None:
        """The protocol is one this tool builds and not older than the previous month's: a month cannot drop
        the protections its predecessors had (por-v3 hides portfolios and carries debt)."""
        req = self.req
        if req.protocol not in VERSIONS:
            raise InputError(f"is not one of {', '.join(VERSIONS)}", parameter="protocol", value=repr(req.protocol))
        before = previous.get("version") if isinstance(previous, Mapping) else None
        if before in VERSIONS and VERSIONS.index(req.protocol) < VERSIONS.index(before):
            raise InputError(f"is older than {before}, the protocol {slot.previous['period'] if slot.previous else ''} "
                             "was published with: a month cannot drop what its predecessors had", parameter="protocol",
                             value=req.protocol)

    def _check_secret(self, slot: archive.Slot, previous: Any, this_id: str) -> bool:
        """Whether this month's master secret is another than the previous month's (as its signed
        manifest names it); refused unless ``new_master_secret``."""
        if slot.previous is None or not isinstance(previous, Mapping):
            return False
        before = (previous.get("publication") or {}).get("secret")
        if before is None or before == this_id:
            return False
        if not self.req.new_master_secret:
            raise InputError(f"the master secret is not the one {slot.previous['period']} was built with (secret id "
                             f"{this_id}, {slot.previous['period']}'s {before}): the wrong --secret-file? A deliberate "
                             "change needs --new-master-secret, and the report will say so")
        self.echo(f"      master secret: a new one (id {this_id}; {slot.previous['period']} used {before})")
        return True

    def _check_balances(self, reserves_url: str, assets: Any, since: Mapping[str, int]) -> dict[str, Any]:
        """Every reserve balance against its chain's node at the chain's one snapshot height; a
        mismatch, a row whose node could not answer, a node on another chain, or a snapshot block
        outside the window before the period's end refuses the month. ``report.json`` records per
        chain the height, the block's hash and time and the node's chain id; and ``sampling``, every
        row read again at the month's sampled heights after ``since`` (the previous month's snapshot
        heights) where the node answers at past heights. A chain that could not be sampled does not
        refuse the month: the report says why, and shows no minimum for what it holds."""
        req = self.req
        check = check_balances(client_mapper(self.client), reserves_url, req.nodes, req.tokens or {}, "parquet",
                               {x.symbol: x.decimals for x in assets}, self.opts, period=req.period,
                               sample=req.sample_heights, since=since)
        counts = check.counts()
        self.echo("      reserve balances on chain: " + ", ".join(f"{counts[s]} {s}" for s in counts))
        failing = check.failing()
        if failing:
            named = "; ".join(named_rows(failing, height=True, status=True))
            raise InputError(f"{len(failing)} reserve balance(s) do not match the chain: {named}")
        doc: dict[str, Any] = {"chains": check.per_chain(),
                               "result": "match" if counts["match"] and not counts["unchecked"] else
                                         "match, some chains unchecked" if counts["match"] else "nothing checked"}
        if check.sampling is not None:
            doc["sampling"] = check.sampling.as_json()
            for chain, c in doc["sampling"]["chains"].items():
                self.echo(f"      sampled heights on {chain}: " + (", ".join(f"{h:,}" for h in c["heights"]) or "none in range")
                          if c["sampled"] else f"      sampled heights on {chain}: not sampled ({c['why']})")
            decimals = {x.symbol: x.decimals for x in assets}
            for symbol, (snap, low) in check.sampling.held().items():
                d = decimals.get(symbol)
                low_text, snap_text = ((amount(low, d), amount(snap, d)) if d is not None else
                                       (f"{low} (smallest units)", f"{snap} (smallest units)"))
                self.echo(f"      held through the month ({symbol}, sampled chains): minimum {low_text} of "
                          f"{snap_text} at the snapshot")
        return doc

