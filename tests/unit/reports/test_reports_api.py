"""The exported API of xsmom.reports, and the output checks every command shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import xsmom.reports as reports
from xsmom.cli.options import check_out_dir
from xsmom.cli.report import check_out_file
from xsmom.errors import ConfigError
from xsmom.reports.html import Page, table_html


def test_exported_names() -> None:
    assert sorted(reports.__all__) == [
        "DailyReport",
        "SymbolDay",
        "compute_daily",
        "daily_message",
        "day_bounds",
        "ended_day",
        "publish_daily_report",
        "render_daily_html",
    ]
    for name in reports.__all__:
        assert getattr(reports, name).__doc__


def test_out_dir_rules(tmp_path: Path) -> None:
    check_out_dir(tmp_path / "new" / "deeper", force=False)  # created later: fine
    check_out_dir(tmp_path, force=False)  # empty: fine
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(ConfigError, match=r"already holds files \(a.csv\); pass --force"):
        check_out_dir(tmp_path, force=False)
    check_out_dir(tmp_path, force=True)
    (tmp_path / "study.db").write_text("")
    check_out_dir(tmp_path, force=False, keep=("study.db",))  # a study to resume
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_out_dir(tmp_path / "a.csv", force=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_out_dir_not_writable(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(ConfigError, match="not writable"):
        check_out_dir(ro / "run", force=False)


def test_out_file_rules(tmp_path: Path) -> None:
    check_out_file(tmp_path / "day.html", force=False)
    with pytest.raises(ConfigError, match="is a folder"):
        check_out_file(tmp_path, force=False)
    (tmp_path / "day.html").write_text("old")
    with pytest.raises(ConfigError, match="exists; pass --force"):
        check_out_file(tmp_path / "day.html", force=False)
    check_out_file(tmp_path / "day.html", force=True)


def test_page_without_charts_has_no_library_and_escapes() -> None:
    import pandas as pd

    page = Page("a <b>", {"k": "<v>"})
    page.raw(table_html(pd.DataFrame({"x": [1.5]}, index=pd.Index(["<s>"], name="n"))))
    text = page.render()
    assert "<script" not in text and "&lt;b&gt;" in text and "&lt;s&gt;" in text
    assert "<td>1.50</td>" in text
