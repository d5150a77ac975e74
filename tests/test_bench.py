"""The benchmark runs end to end on a small snapshot (a real LocalCluster) and reports what it claims."""

from __future__ import annotations

from jobs.bench import run_bench


def test_the_benchmark_reports_both_floors_stages_and_memory(tmp_path):
    lines: list[str] = []
    v2, v3 = run_bench([3000], 3, [1], str(tmp_path), echo=lines.append, export="none")
    assert (v2.protocol, v3.protocol) == ("por-v2", "por-v3")
    for row in (v2, v3):
        assert row.users == 3000 and row.workers == 1
        assert 0 < row.batch_floor and 0 < row.floor and 0 < row.build <= row.wall
        assert row.ratio == row.wall / row.floor and row.batch_ratio == row.wall / row.batch_floor
        assert {"read", "buckets", "merge"} <= set(row.stages) and row.export == 0.0
        assert 0 < row.rss_mib < 4096 and row.proof_bytes > 1000
    assert {"users", "padding"} <= set(v3.stages)
    assert v2.messages == 4 * 3000 and v3.messages > 2 * 3000 + 4096 * 3  # por-v3's own messages: every tree padded
    assert any(line.startswith("por-v3 ns per message, per call / batch:") for line in lines)
    table = [line for line in lines if line.startswith("| 3,000 |")]
    assert len(table) == 2 and all(line.rstrip().endswith("| – |") for line in table)  # no export column value
    assert any(line.startswith("por-v3 / por-v2 build time at 3,000 users") for line in lines)
    assert any(line.startswith("batch hasher start-up") for line in lines)


def test_por_v3s_message_counts_are_what_the_reference_builder_hashes(tmp_path, client2, monkeypatch):
    """The bench's por-v3 floors count each kind of message from the bundle (`v3_message_counts`); the
    plain-Python reference builder, its protocol calls counted, hashes exactly as many (splits: the
    reference draws them for both sides of every holding; the count is of the non-zero sides)."""
    import collections

    from jobs.bench import v3_message_counts
    from pipeline.protocol import v3
    from tests.support import ref_v3
    from tests.test_build_v3 import ASSETS, SECRET, PERIOD, build, medium_users, write_snapshot

    users = medium_users(1500, seed=9)
    snap = write_snapshot(str(tmp_path / "snap"), users, ASSETS, files=2, seed=1)
    build(client2, snap, str(tmp_path / "bundle"), 1)
    counted: collections.Counter[str] = collections.Counter()
    building = []  # padding nodes hashed while a tree is built (proofs' paths hash them again)
    for name in ("user_nonce", "user_key", "fragment_key", "padding_leaf_key", "leaf_hash", "node_hash",
                 "padding_hash"):
        real = getattr(v3, name)

        def counting(*a, _real=real, _name=name):
            if _name != "padding_hash" or building:
                counted.update([_name])
            return _real(*a)

        monkeypatch.setattr(v3, name, counting)
    real_tree = ref_v3.build_tree

    def build_tree(*a, **kw):
        building.append(1)
        try:
            return real_tree(*a, **kw)
        finally:
            building.pop()

    monkeypatch.setattr(ref_v3, "build_tree", build_tree)
    ref_v3.build_v3(users, ASSETS, SECRET, PERIOD, bucket_bits=1)
    counts = v3_message_counts(str(tmp_path / "bundle"))
    assert counts.nonces == counts.user_keys == counted["user_nonce"] == counted["user_key"] == len(users)
    assert counts.fragment_keys == counted["fragment_key"]
    assert counts.padding_keys == counted["padding_leaf_key"]
    assert counts.leaves == counted["leaf_hash"]
    assert counts.nodes == counted["node_hash"]
    assert counts.padding_nodes == counted["padding_hash"]
    held = sum(1 for h in users.values() for e, d in h.values() if e or d)
    assert counts.splits == held * (v3.Parameters().fragments - 1)


def test_the_peer_comparison_feeds_the_peer_its_own_format_and_times_both(tmp_path):
    """`por bench --peer SCRIPT`: the peer gets the same accounts as `account,amount` (smallest units) with
    `--liabilities CSV --blockheight 1`, in a directory of its own without a nonce file left by an earlier
    run. The peer here is a stand-in script (the real one is BitMEX's, fetched by hand: docs/PERFORMANCE.md)
    that checks exactly that and fails otherwise; a missing script is refused."""
    import pytest

    from jobs.bench import peer_comparison

    peer = tmp_path / "peer.py"
    peer.write_text(
        "import argparse, csv, os, sys\n"
        "p = argparse.ArgumentParser(); p.add_argument('--liabilities'); p.add_argument('--blockheight', type=int)\n"
        "a = p.parse_args()\n"
        "assert a.blockheight == 1 and not os.path.exists('nonces.txt')\n"
        "rows = list(csv.reader(open(a.liabilities)))\n"
        "assert rows[0] == ['account', 'amount'] and len(rows) == 1 + 2000\n"
        "assert all(int(r[0]) >= 0 and int(r[1]) >= 0 for r in rows[1:])\n"
        "open('nonces.txt', 'w').write('x')\n")
    lines: list[str] = []
    ours, theirs = peer_comparison(str(peer), 2000, str(tmp_path / "w"), echo=lines.append, repeats=2)
    assert ours > 0 and theirs > 0
    assert len(lines) == 1 and lines[0].startswith("peer comparison, 2,000 accounts of one asset")
    with pytest.raises(FileNotFoundError, match="no such file"):
        peer_comparison(str(tmp_path / "missing.py"), 10, str(tmp_path / "w"))
