"""``xsmom meta report`` opens in headless Chromium: no console error, every static PNG chart
(calibration, feature importance) decoded to a picture, no request leaves the machine; the
figures it shows are the manifest's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from report_browser import open_report
from xsmom.cli.main import cli


@pytest.fixture(scope="module")
def report(meta_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("meta_report") / "meta.html"
    res = CliRunner().invoke(cli, ["meta", "report", str(meta_model), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"wrote {out}"
    return out


def test_meta_report_renders_offline(report: Path, meta_model: Path) -> None:
    check = open_report(report)
    assert check.errors == [], check.errors
    assert check.external == [], check.external
    assert check.title == f"xsmom meta-model {meta_model.name}"
    members = json.loads((meta_model / "manifest.json").read_text())["members"]
    # one calibration chart and one feature-importance chart per member, all decoded
    assert len(check.images) == 2 * len(members), check.images
    for img in check.images:
        assert img["complete"] is True, img
        assert str(img["src"]).startswith("data:image/png;base64,"), img
        assert int(str(img["width"])) >= 200 and int(str(img["height"])) >= 200, img


def test_meta_report_shows_the_manifest_figures(report: Path, meta_model: Path) -> None:
    html = report.read_text()
    (member,) = json.loads((meta_model / "manifest.json").read_text())["members"]
    assert f"(threshold {member['threshold']:.2f})" in html
    assert f"{member['samples']} entries; gates closes from {member['apply_from']}" in html
    for m in member["learners"].values():
        # lift over the primary signal is the precision of the taken entries over the base rate
        if m["precision"] is not None and m["base_rate"]:
            assert m["lift"] == pytest.approx(m["precision"] / m["base_rate"])
        assert f"<td>{m['auc']:.4f}</td>" in html
        assert f"<td>{m['base_rate']:.4f}</td>" in html
