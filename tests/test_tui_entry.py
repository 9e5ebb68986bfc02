"""The console script's fast path: app options start the app, anything else is the CLI."""

from __future__ import annotations

import pytest

from linkwork import tui_entry


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {}),
        (["--db", "sqlite:///x.db"], {"db": "sqlite:///x.db"}),
        (["--db=sqlite:///x.db", "--user", "sam"], {"db": "sqlite:///x.db", "user": "sam"}),
        (["codes", "search", "debt"], None),
        (["--db", "sqlite:///x.db", "person", "list"], None),
        (["--version"], None),
        (["--db"], None),
    ],
)
def test_app_options(args: list[str], expected: dict[str, str] | None) -> None:
    assert tui_entry.app_options(args) == expected


def test_other_arguments_go_to_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        tui_entry.main(["--version"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert capsys.readouterr().out.startswith("linkwork ")


def test_bad_config_is_one_line_exit_2(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "bad.toml"
    config.write_text("followup_days = 'soon'\n")
    monkeypatch.setenv("LINKWORK_CONFIG", str(config))
    with pytest.raises(SystemExit, match=r"^2$") as exit_info:
        tui_entry.main([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("linkwork: ") and err.count("\n") == 1
