"""The exported API of xsmom.reports, and the output checks every command shares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import xsmom.reports as reports
from cli_run import run_xsmom
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


def _can_create_in(folder: Path) -> bool:
    try:
        (folder / "probe").mkdir()
    except PermissionError:
        return False
    (folder / "probe").rmdir()
    return True


def test_out_dir_not_writable_agrees_with_the_os(tmp_path: Path) -> None:
    # a 0500 folder: a user cannot write in it, root can; the check must say what mkdir does
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if _can_create_in(ro):
        check_out_dir(ro / "run", force=False)
    else:
        with pytest.raises(ConfigError, match=re.escape(f"--out {ro}/run: {ro} is not writable")):
            check_out_dir(ro / "run", force=False)


def test_out_under_a_file_is_refused_even_for_root(tmp_path: Path) -> None:
    # no permission bit to bypass: a regular file cannot hold a folder, whoever asks
    (tmp_path / "notes.txt").write_text("x")
    out = tmp_path / "notes.txt" / "run" / "deeper"
    with pytest.raises(
        ConfigError, match=re.escape(f"--out {out}: {tmp_path}/notes.txt is a file, not")
    ):
        check_out_dir(out, force=False)
    with pytest.raises(NotADirectoryError):  # what the run would have hit, after its work
        out.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"notes\.txt is a file, not a folder"):
        check_out_file(tmp_path / "notes.txt" / "day.html", force=False)


@pytest.mark.parametrize(
    "args",
    [
        ["backtest", "--store", "sample", "--out", "{f}/run"],
        ["report", "daily", "--home", "{t}/home", "--date", "2026-01-01", "--out", "{f}/d.html"],
    ],
)
def test_cli_out_under_a_file_is_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("x")
    argv = [a.format(f=f, t=tmp_path) for a in args]
    proc = run_xsmom(*argv, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"error: --out {argv[-1]}: {f} is a file, not a folder\n"
    assert f.read_text() == "x" and not (tmp_path / "home").exists()  # refused before any work


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
