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
    table = [line for line in lines if line.startswith("| 3,000 |")]
    assert len(table) == 2 and all(line.rstrip().endswith("| – |") for line in table)  # no export column value
    assert any(line.startswith("por-v3 / por-v2 build time at 3,000 users") for line in lines)
    assert any(line.startswith("batch hasher start-up") for line in lines)
