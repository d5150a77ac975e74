"""The proof document a user receives, in the protocol version of its period (por-v1/v2: one leaf;
por-v3: every fragment of every holding)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..protocol import v2


def proof_document(published: Mapping[str, Any], user_id: str, nonce: bytes, balances: Sequence[str],
                   position: int, path: list[dict[str, Any]]) -> dict[str, Any]:
    """One user's proof. ``published`` holds the period's published fields: ``version``, ``period``,
    ``assets`` (``[{symbol, decimals}]``), ``tree`` (``bucket_bits``, ``bucket_height``), ``root`` and,
    for por-v2, ``commitment``. A por-v1 proof lists the symbols only; a por-v2 proof carries the
    decimals, the shape and the announced value it is read with."""
    por_v2 = published["version"] == v2.VERSION
    doc: dict[str, Any] = {
        "version": published["version"],
        "period": published["period"],
        "assets": ([{"symbol": a["symbol"], "decimals": a["decimals"]} for a in published["assets"]] if por_v2
                   else [a["symbol"] for a in published["assets"]]),
        "user_id": user_id,
        "nonce": nonce.hex(),
        "balances": list(balances),
        "position": position,
        "path": path,
        "root": {"hash": published["root"]["hash"], "sums": list(published["root"]["sums"])},
    }
    if por_v2:
        doc["tree"] = {"bucket_bits": published["tree"]["bucket_bits"],
                       "bucket_height": published["tree"]["bucket_height"]}
        doc["commitment"] = published["commitment"]
    return doc


def proof_document_v3(published: Mapping[str, Any], user_id: str, nonce: bytes,
                      holdings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One user's por-v3 proof (schemas/por-v3.md section 7). ``published`` is the period's manifest
    (``version``, ``period``, ``assets``, ``parameters``, ``trees``, ``commitment``); ``holdings`` the
    user's non-zero holdings in asset order, each ``{asset, equity, debt, fragments: [{equity, debt,
    position, path}]}``."""
    return {
        "version": published["version"],
        "period": published["period"],
        "assets": [{"symbol": a["symbol"], "decimals": a["decimals"]} for a in published["assets"]],
        "parameters": {"fragments": published["parameters"]["fragments"],
                       "padding": published["parameters"]["padding"]},
        "trees": [{"bucket_bits": t["bucket_bits"], "bucket_height": t["bucket_height"],
                   "root": {"hash": t["root"]["hash"], "equity": t["root"]["equity"], "debt": t["root"]["debt"]}}
                  for t in published["trees"]],
        "user_id": user_id,
        "nonce": nonce.hex(),
        "holdings": [dict(h) for h in holdings],
        "commitment": published["commitment"],
    }
