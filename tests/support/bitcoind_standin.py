"""STAND-IN for a Bitcoin Core node: no Bitcoin node can be installed from the package registries
here, so the Bitcoin balance client is tested against this small JSON-RPC server on 127.0.0.1.

It answers ``scantxoutset "start" [descriptors]`` the way Bitcoin Core documents it (the result
object: ``success``, ``txouts``, ``height``, ``bestblock``, ``unspents`` with ``txid``, ``vout``,
``scriptPubKey``, ``desc``, ``amount`` in coins as a JSON number with 8 decimals, ``coinbase``,
``height``, and ``total_amount``), behind HTTP basic authentication like ``rpcuser``/``rpcpassword``,
and the block calls the balance checks use to know which chain and which block they read:
``getblockhash height`` (the hash as a hex string; error -8 "Block height out of range"),
``getblockheader "hash" true`` (the header object: ``hash``, ``confirmations``, ``height``,
``version``, ``versionHex``, ``merkleroot``, ``time``, ``mediantime``, ``nonce``, ``bits``,
``difficulty``, ``chainwork``, ``nTx``, ``previousblockhash``, ``nextblockhash``; error -5 "Block not
found") and ``getblockchaininfo`` (``chain``, ``blocks``, ``headers``, ``bestblockhash``, …), singly
or in a JSON-RPC batch (an array of requests answered by an array), as Bitcoin Core does. Block 0 is
the configured genesis (Bitcoin's by default), the configured fork blocks have their real hashes
(Bitcoin's block 478559 by default), other blocks a made-up hash; block times are ``tip_time`` at
the tip and ``spacing`` seconds apart below it.
Output scripts are derived from the addresses with embit, independently of the code under test.
It can be told to scan at another height than the snapshot's, to answer "Scan already in
progress" (error -8) or HTTP 503 a few times first (transient failures the client retries), or to
give a dishonest scan (``tamper``: the same outpoint twice, or a ``total_amount`` that is not the sum).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from embit.script import address_to_scriptpubkey

USER, PASSWORD = "por", "stand-in-password"
BITCOIN_GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
BITCOIN_478559 = "00000000000000000019f112ec0a9982926f1258cdcc558dd7c3b7e5dc7fa148"


class BitcoindStandIn:
    def __init__(self, height: int, tip_time: int = 1_796_083_200 - 3_600, genesis: str = BITCOIN_GENESIS,
                 forks: dict[int, str] | None = None, chain: str = "main") -> None:
        self.height = height
        self.tip_time = tip_time
        self.spacing = 600
        self.genesis = genesis
        self.forks = {478_559: BITCOIN_478559} if forks is None else forks
        self.chain = chain
        self.tamper: str | None = None  # "outpoint twice" | "total"
        self.utxos: dict[str, list[int]] = {}  # address -> output amounts in satoshis
        self.busy_first = 0  # answer "Scan already in progress" this many times
        self.unavailable_first = 0  # answer HTTP 503 this many times
        self.scans: list[list[str]] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                if standin.unavailable_first:
                    standin.unavailable_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                request = json.loads(body)
                answer = ([standin.answer(r) for r in request] if isinstance(request, list)
                          else standin.answer(request))
                data = dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://{USER}:{PASSWORD}@127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def block_hash(self, height: int) -> str:
        if height == 0:
            return self.genesis
        return self.forks.get(height) or hashlib.sha256(f"stand-in block {height}".encode()).hexdigest()

    def block_time(self, height: int) -> int:
        return self.tip_time - self.spacing * (self.height - height)

    def header(self, height: int) -> dict[str, Any]:
        out = {"hash": self.block_hash(height), "confirmations": self.height - height + 1, "height": height,
               "version": 536870912, "versionHex": "20000000", "merkleroot": hashlib.sha256(b"m%d" % height).hexdigest(),
               "time": self.block_time(height), "mediantime": self.block_time(height) - 3000, "nonce": 0,
               "bits": "17034219", "difficulty": "@coins:1.00000000@", "chainwork": "00" * 32, "nTx": 1}
        if height > 0:
            out["previousblockhash"] = self.block_hash(height - 1)
        if height < self.height:
            out["nextblockhash"] = self.block_hash(height + 1)
        return out

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        method, params = request.get("method"), request.get("params") or []
        if method == "getblockhash":
            (height,) = params
            if not isinstance(height, int) or not 0 <= height <= self.height:
                return {"result": None, "error": {"code": -8, "message": "Block height out of range"}, "id": rid}
            return {"result": self.block_hash(height), "error": None, "id": rid}
        if method == "getblockheader":
            wanted = params[0]
            found = [h for h in ([0, self.height] + list(self.forks) + list(range(max(0, self.height - 50), self.height)))
                     if 0 <= h <= self.height and self.block_hash(h) == wanted]
            if not found:
                return {"result": None, "error": {"code": -5, "message": "Block not found"}, "id": rid}
            return {"result": self.header(found[0]), "error": None, "id": rid}
        if method == "getblockchaininfo":
            return {"result": {"chain": self.chain, "blocks": self.height, "headers": self.height,
                               "bestblockhash": self.block_hash(self.height), "difficulty": "@coins:1.00000000@",
                               "time": self.block_time(self.height), "mediantime": self.block_time(self.height) - 3000,
                               "verificationprogress": 1, "initialblockdownload": False, "chainwork": "00" * 32,
                               "size_on_disk": 1, "pruned": False, "warnings": ""}, "error": None, "id": rid}
        if method != "scantxoutset":
            return {"result": None, "error": {"code": -32601, "message": "Method not found"}, "id": rid}
        action, descriptors = request["params"]
        if action != "start":
            return {"result": None, "error": {"code": -8, "message": "Invalid action"}, "id": rid}
        if self.busy_first:
            self.busy_first -= 1
            return {"result": None, "error": {"code": -8, "message": "Scan already in progress, use action \"abort\" or \"status\""},
                    "id": rid}
        addresses = [d[len("addr("):-1] for d in descriptors]
        self.scans.append(addresses)
        unspents = []
        for n, address in enumerate(addresses):
            script = address_to_scriptpubkey(address).data.hex()
            for vout, sats in enumerate(self.utxos.get(address, [])):
                unspents.append({"txid": f"{n:02x}{vout:02x}" * 16, "vout": vout, "scriptPubKey": script,
                                 "desc": f"addr({address})#standin", "amount": _coins(sats), "coinbase": False,
                                 "height": self.height - 10, "blockhash": "00" * 32, "confirmations": 11})
        total = sum(sats for a in addresses for sats in self.utxos.get(a, []))
        if self.tamper == "outpoint twice" and unspents:
            unspents.append(dict(unspents[0]))
            total += round(Decimal(unspents[0]["amount"][len("@coins:"):-1]).scaleb(8))
        elif self.tamper == "total":
            total += 1
        result = {"success": True, "txouts": 1000, "height": self.height, "bestblock": self.block_hash(self.height),
                  "unspents": unspents, "total_amount": _coins(total)}
        return {"result": result, "error": None, "id": rid}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _coins(sats: int) -> str:
    return f"@coins:{format(Decimal(sats).scaleb(-8), '.8f')}@"


def dumps(answer: Any) -> str:
    """JSON with every amount written as a number with exactly 8 decimals (as Bitcoin Core does)."""
    return re.sub(r'"@coins:([0-9.]+)@"', r"\1", json.dumps(answer))
