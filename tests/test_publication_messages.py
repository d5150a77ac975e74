"""Messages of the publication side that agree with each other (issue 24, item 6): synth announces the
ratios publish reports (one rounding rule), history verify names values as the archive's files write them
(JSON, never Python's dicts), and names a month once ("2026-09 revision 1", not "2026-09 revision 1
(2026-09)")."""

from __future__ import annotations

import json
import os
import random
import re

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.formats.canonical import canonical_json
from pipeline.reserves.ratios import percent
from pipeline.testing.synth import reserve_total
from tests.test_recheck import copy, history_verify, report_edit, resign, signed_archive  # noqa: F401 (fixtures)

runner = CliRunner()


def por(*args: str):
    return runner.invoke(app, list(args))


def test_synths_reserves_give_the_ratio_it_asks_for_by_the_reports_rule():
    rng = random.Random(24)
    for _ in range(2_000):
        liabilities, bp = rng.randrange(10_000, 10**30), rng.randrange(0, 30_000)
        total = reserve_total(liabilities, bp)
        assert percent(total, liabilities) == f"{bp // 100}.{bp % 100:02d}", (liabilities, bp)
        assert total == 0 or percent(total - 1, liabilities) != percent(total, liabilities)  # the least such amount
    assert percent(reserve_total(7, 9_990), 7) <= "99.90"  # too few units to hit it: never above the ratio asked


@pytest.mark.integration
def test_the_ratios_synth_prints_are_the_ones_publish_reports(tmp_path, scheduler2):
    from tests.support.snapshots import write_secret

    secret = write_secret(str(tmp_path))
    assert por("keygen", "--signing", str(tmp_path / "sign.key")).exit_code == 0
    synth = por("synth", str(tmp_path / "snap"), "--users", "300", "--assets", "4", "--seed", "5", "--period", "2026-10",
                "--reserves", str(tmp_path / "res"), "--exchange", "Example Exchange")
    assert synth.exit_code == 0, synth.output
    printed = dict(re.findall(r"([A-Z]+) ([0-9]+\.[0-9]{2})%", synth.output.split("(ratios: ", 1)[1]))
    assert len(printed) == 4
    result = por("publish", "--period", "2026-10", "--snapshot", str(tmp_path / "snap"), "--reserves",
                 str(tmp_path / "res"), "--archive", str(tmp_path / "archive"), "--secret-file", secret,
                 "--signing-key", str(tmp_path / "sign.key"), "--exchange", "Example Exchange", "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output + result.stderr
    report = json.load(open(tmp_path / "archive" / "2026-10" / "public" / "report.json"))
    assert {a["symbol"]: a["ratio_percent"] for a in report["assets"]} == printed


PYTHON_SPELLING = re.compile(r"\{'|\['|': |\bNone\b|\bTrue\b|\bFalse\b")
"""What Python's repr of a dict, a list or a constant looks like, and JSON never does."""


@pytest.mark.integration
def test_history_verify_names_values_as_the_files_write_them_and_each_month_once(copy):  # noqa: F811
    arch = copy["archive"]
    index = json.load(open(os.path.join(arch, "index.json")))
    index["publications"][0]["liabilities"] = {"BTC": "1"}  # the index's copy of the figures, altered
    open(os.path.join(arch, "index.json"), "wb").write(canonical_json(index))

    symbol = json.load(open(os.path.join(arch, "2026-09", "public", "report.json")))["assets"][0]["symbol"]

    def change(r):
        r["assets"][0]["ratio_percent"] = "12.34"

    resign(copy, "2026-09", {"report.json": report_edit(change)})
    result = history_verify(copy)
    assert result.exit_code == 1
    text = result.output
    assert 'index.json: liabilities {"BTC": "1"} differ from the signed report\'s {' in text, text
    assert f'assets[{symbol}].ratio_percent: signed "12.34", re-derived "' in text, text
    assert PYTHON_SPELLING.search(text) is None, PYTHON_SPELLING.search(text)
    assert "2026-08 revision 1: " in text and "2026-09 revision 1: " in text
    assert "(2026-08)" not in text and "(2026-09)" not in text


def test_a_month_in_a_directory_of_another_name_is_named_with_it():
    from pipeline.publication.history import month_label

    assert month_label({"period": "2026-11", "revision": 1, "directory": "2026-11"}) == "2026-11 revision 1"
    assert month_label({"period": "2026-11", "revision": 2, "directory": "2026-11-r2"}) == "2026-11 revision 2"
    assert month_label({"period": "2026-11", "revision": 2, "directory": "x"}) == '2026-11 revision 2 (directory "x")'
