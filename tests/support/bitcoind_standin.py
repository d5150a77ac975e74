"""STAND-IN for a Bitcoin Core node: no Bitcoin node can be installed from the package registries
here, so the Bitcoin balance client is tested against this small JSON-RPC server on 127.0.0.1.

It answers ``scantxoutset "start" [descriptors]`` the way Bitcoin Core documents it (the result
object: ``success``, ``txouts``, ``height``, ``bestblock``, ``unspents`` with ``txid``, ``vout``,
``scriptPubKey``, ``desc``, ``amount`` in coins as a JSON number with 8 decimals, ``coinbase``,
``height``, and ``total_amount``), behind HTTP basic authentication like ``rpcuser``/``rpcpassword``.
Output scripts are derived from the addresses with embit, independently of the code under test.
It can be told to scan at another height than the snapshot's, to answer "Scan already in
progress" (error -8) or HTTP 503 a few times first (transient failures the client retries).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from embit.script import address_to_scriptpubkey

USER, PASSWORD = "por", "stand-in-password"


class BitcoindStandIn:
    def __init__(self, height: int) -> None:
        self.height = height
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
                answer = standin.answer(request)
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

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        if request.get("method") != "scantxoutset":
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
        result = {"success": True, "txouts": 1000, "height": self.height, "bestblock": "ab" * 32,
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
