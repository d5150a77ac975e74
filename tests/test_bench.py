"""The benchmark runs end to end on a small snapshot (a real LocalCluster) and reports what it claims."""

from __future__ import annotations

from jobs.bench import run_bench


def test_the_benchmark_reports_both_floors_stages_and_memory(tmp_path):
    lines: list[str] = []
    [row] = run_bench([3000], 3, [1], str(tmp_path), echo=lines.append, export="none")
    assert row.users == 3000 and row.workers == 1
    assert 0 < row.batch_floor and 0 < row.floor and 0 < row.build <= row.wall
    assert row.ratio == row.wall / row.floor and row.batch_ratio == row.wall / row.batch_floor
    assert {"read", "buckets", "merge"} <= set(row.stages) and row.export == 0.0
    assert 0 < row.rss_mib < 4096
    table = [line for line in lines if line.startswith("| 3,000 |")]
    assert len(table) == 1 and table[0].rstrip().endswith("| – |")  # no export column value
    assert any(line.startswith("batch hasher start-up") for line in lines)
