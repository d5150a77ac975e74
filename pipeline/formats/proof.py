"""The proof document a user receives, in the protocol version of its period."""

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
