"""A chain family is one module behind one interface (``pipeline.ownership.family.ChainFamily``),
registered once: every place that needs a family's rules asks the registry, and a chain whose family
is not registered is one clear error naming the family at every such place, never another family's
rules. A fake family ("cosmos") is planted to show both: unregistered, then registered."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import bench_reserves
from pipeline.testing import synth
from pipeline.errors import InputError
from pipeline.formats.assets import Asset
from pipeline.onchain.compare import UNCHECKED, NotChecked
from pipeline.ownership import chains
from pipeline.testing import sign
from pipeline.ownership.chains import CHAINS, Chain, Family, Refused
from pipeline.ownership.check import (
    BOUND,
    INVALID,
    STATUSES,
    UNSUPPORTED,
    ProofRow,
    Status,
    canonical_address,
    check_row,
)
from pipeline.ownership.family import FAMILIES, UnknownFamily, family_of
from pipeline.ownership.rules import one_signature
from pipeline.reserves import nodes
from pipeline.reserves.balances import check_balances, parse_token
from pipeline.reserves.nodes import BALANCE_CLIENTS, CHECKED_FAMILIES, Node, parse_rpc, probe
from pipeline.reserves.ownership import verify_reserves
from pipeline.reserves.rpc import JsonRpc

COSMOS = cast(Family, "cosmos")
"""A family nothing registers (a plain string where a ``Family`` member belongs)."""
HUB = Chain("cosmoshub", COSMOS, ("atom-hub",), native=("ATOM", 6))
ADDRESS = "cosmos1" + "ab" * 19
CHALLENGE = "the period's challenge"


def in_process(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [fn(x) for x in items]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Chain:
    """A chain on the list whose family ("cosmos") nothing registers."""
    for key in (HUB.name, *HUB.aliases):
        monkeypatch.setitem(chains._BY_NAME, key, HUB)
    monkeypatch.setattr(synth, "CHAINS_OF", {**synth.CHAINS_OF, "ATOM": (HUB.name,)})
    return HUB


def write_rows(path: str, rows: list[tuple[str, str, str, int, list[str]]],
               heights: dict[str, int] | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(pa.table({
        "chain": pa.array([r[0] for r in rows], pa.string()),
        "address": pa.array([r[1] for r in rows], pa.string()),
        "asset": pa.array([r[2] for r in rows], pa.string()),
        "balance": pa.array([r[3] for r in rows], pa.int64()),
        "signatures": pa.array([r[4] for r in rows], pa.list_(pa.string())),
    }), path)
    if heights is not None:
        with open(os.path.join(os.path.dirname(path), "heights.json"), "w") as f:
            json.dump(heights, f)


# ---------------------------------------------------------------- the registry

def test_every_chain_on_the_list_has_its_family_registered_everywhere() -> None:
    assert {c.family for c in CHAINS} == set(Family) == set(FAMILIES) == set(sign.SYNTH_SIGNERS)
    for name, rules in FAMILIES.items():
        assert rules.name == name
        assert callable(rules.canonical) and callable(rules.prove)
    for name, signer in sign.SYNTH_SIGNERS.items():
        assert signer.name == name
    assert set(BALANCE_CLIENTS) == set(CHECKED_FAMILIES) == {Family.EVM, Family.BITCOIN}
    for name, client in BALANCE_CLIENTS.items():
        assert client.name == name
    assert [c.contract_wallets for c in BALANCE_CLIENTS.values()] == [True, False]
    assert [c.tokens for c in BALANCE_CLIENTS.values()] == [True, False]


def test_family_and_status_names_are_the_strings_files_hold() -> None:
    assert [str(f) for f in Family] == ["bitcoin", "evm", "tron", "solana", "aptos", "xrpl", "cardano", "polkadot", "ton",
                                        "filecoin", "sui"]
    assert Family.EVM == "evm" and f"{Family.BITCOIN}" == "bitcoin" and {"evm": 1}[Family.EVM] == 1
    assert list(STATUSES) == ["bound", "unbound", "invalid", "missing", "unsupported"] == [str(s) for s in Status]
    assert json.dumps({BOUND: [INVALID]}) == '{"bound": ["invalid"]}'
    assert pa.array([UNSUPPORTED], pa.string()).to_pylist() == ["unsupported"]


def test_the_dispatch_is_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every family's rules are reached through FAMILIES: a stand-in for EVM's is the one check_row uses."""
    calls: list[tuple[str, str]] = []

    class Spy:
        name = Family.EVM

        def canonical(self, chain: Chain, address: str) -> str:
            calls.append(("canonical", chain.name))
            return address.lower()

        def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
            calls.append(("prove", chain.name))
            return "spy", ""

    monkeypatch.setitem(FAMILIES, Family.EVM, Spy())
    v = check_row(ProofRow("base", "0xABC", ("s",)), CHALLENGE)
    assert (v.status, v.reason, v.canonical) == (BOUND, "spy over this period's challenge", "0xabc")
    assert calls == [("canonical", "base"), ("prove", "base")]


# ---------------------------------------------------------------- an unregistered family, at every dispatch site

def test_unregistered_family_is_one_clear_error_in_the_pure_core(hub: Chain) -> None:
    with pytest.raises(UnknownFamily, match="cosmoshub belongs to the 'cosmos' family, which has no registered rules"):
        family_of(hub)
    with pytest.raises(Refused, match="'cosmos' family"):  # UnknownFamily is a Refused: callers that refuse an address refuse it
        canonical_address(hub, ADDRESS)
    v = check_row(ProofRow("ATOM-HUB", ADDRESS, ("sig",)), CHALLENGE)
    assert v.status == UNSUPPORTED and v.chain == "cosmoshub" and v.canonical == ""
    assert "'cosmos' family" in v.reason and "no registered rules" in v.reason
    with pytest.raises(UnknownFamily, match="'cosmos' family, which has no synthetic signer"):
        sign.synth_signer(hub)


def test_unregistered_family_in_reserves_verify_and_duplicate_detection(hub: Chain, tmp_path: Path) -> None:
    """Two rows of one cosmos wallet: both unsupported with the family named; with no canonical
    spelling there is no duplicate to name (never another family's canonical form)."""
    path = str(tmp_path / "res" / "r.parquet")
    write_rows(path, [("cosmoshub", ADDRESS, "ATOM", 5, ["sig"]), ("atom-hub", ADDRESS, "ATOM", 5, ["sig"])],
               {"cosmoshub": 100})
    result = verify_reserves(in_process, str(tmp_path / "res"), CHALLENGE)
    assert [r["status"] for r in result.records] == [UNSUPPORTED, UNSUPPORTED]
    assert all("'cosmos' family" in r["reason"] for r in result.records)


def test_unregistered_family_in_balance_checks(hub: Chain, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cosmoshub \(cosmos family\) has no balance client yet; "
                                         "EVM chains and the Bitcoin family do"):
        parse_rpc("cosmoshub=http://127.0.0.1:1")
    with pytest.raises(InputError, match="is not an EVM chain on the supported list"):
        parse_token("ATOM@cosmoshub=0x" + "11" * 20)
    with pytest.raises(NotChecked, match="no balance client for the cosmos family"):
        probe(JsonRpc("http://127.0.0.1:1"), hub, 100)
    path = str(tmp_path / "res" / "r.parquet")
    write_rows(path, [("cosmoshub", ADDRESS, "ATOM", 5, [])], {"cosmoshub": 100})
    check = check_balances(in_process, str(tmp_path / "res"), [Node(hub, "http://127.0.0.1:1")], {}, decimals={"ATOM": 6})
    (rec,) = check.records
    assert rec["status"] == UNCHECKED and rec["reason"] == "no balance client for the cosmos family yet"
    assert check.blocks == {}  # the node was never asked anything


def test_unregistered_family_in_synth_and_the_benchmark(hub: Chain, tmp_path: Path) -> None:
    with pytest.raises(UnknownFamily, match="'cosmos' family, which has no synthetic signer"):
        synth.write_synth_reserves(str(tmp_path / "s" / "r.parquet"), [Asset("ATOM", 6)], {"ATOM": 10**9},
                                   {"ATOM": 10_000}, addresses_per_asset=2, challenge=CHALLENGE)
    path = str(tmp_path / "b" / "r.parquet")
    os.makedirs(os.path.dirname(path))
    pq.write_table(pa.table({"chain": ["cosmoshub"], "address": [ADDRESS], "signatures": [["sig"]],
                             "script": pa.array([None], pa.string())}), path)
    with pytest.raises(UnknownFamily, match="'cosmos' family"):
        bench_reserves._bare_checks(path)


# ---------------------------------------------------------------- a new family: one module, one registry line

@dataclass(frozen=True)
class CosmosRules:
    """A toy family: the address is canonical in lower case; the signature is "ok:" + the message."""

    name: Family = COSMOS

    def canonical(self, chain: Chain, address: str) -> str:
        if not address.lower().startswith("cosmos1"):
            raise Refused("not a cosmos address")
        return address.lower()

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        if one_signature(row) != "ok:" + message:
            raise Refused("the toy signature does not verify")
        return "toy signature", ""


@dataclass(frozen=True)
class CosmosSigner:
    name: Family = COSMOS

    def proof(self, chain: Chain, secret: sign.Secret, i: int, text: str | None) -> sign.SynthProof:
        return sign.SynthProof("cosmos1" + secret(0).hex()[:38], None, [] if text is None else ["ok:" + text])

    def bare_checks(self, chain: Chain, proof: sign.SynthProof, message: str) -> sign.BareChecks:
        return sign.BareChecks(kind="toy")


def test_a_registered_family_is_checked_everywhere(hub: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FAMILIES, COSMOS, CosmosRules())
    monkeypatch.setitem(sign.SYNTH_SIGNERS, COSMOS, CosmosSigner())
    assert check_row(ProofRow("cosmoshub", ADDRESS.upper(), ("ok:" + CHALLENGE,)), CHALLENGE).status == BOUND
    v = check_row(ProofRow("cosmoshub", ADDRESS, ("ok:another",)), CHALLENGE)
    assert (v.status, v.reason) == (INVALID, "the toy signature does not verify")
    out = str(tmp_path / "s" / "r.parquet")
    synth.write_synth_reserves(out, [Asset("ATOM", 6)], {"ATOM": 10**9}, {"ATOM": 10_000}, addresses_per_asset=3,
                               challenge=CHALLENGE)
    result = verify_reserves(in_process, str(tmp_path / "s"), CHALLENGE)
    assert [r["status"] for r in result.records] == [BOUND] * 3
    # the same wallet twice, spelled twice: the family's canonical form finds it
    write_rows(str(tmp_path / "d" / "r.parquet"), [("cosmoshub", ADDRESS, "ATOM", 5, ["ok:" + CHALLENGE]),
                                                   ("atom-hub", ADDRESS.upper(), "ATOM", 5, ["ok:" + CHALLENGE])],
               {"cosmoshub": 100})
    first, second = verify_reserves(in_process, str(tmp_path / "d"), CHALLENGE).records
    assert first["status"] == BOUND and second["status"] == INVALID and "the same wallet as row 0" in second["reason"]
    assert bench_reserves._bare_checks(out)[2] == {"cosmoshub toy": 3}
    # no balance client registered: unchecked, naming the family, not read as EVM or Bitcoin
    check = check_balances(in_process, str(tmp_path / "s"), [], {}, decimals={"ATOM": 6})
    assert {r["reason"] for r in check.records} == {"no balance client for the cosmos family yet"}
    assert nodes.balance_client(hub) is None
