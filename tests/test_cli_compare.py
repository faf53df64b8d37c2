"""``humanclap score --summary`` (systems by folder or column, ``--model`` twice) and
``humanclap compare`` end to end on Tux-Paint-like folders of clips, with the fast
``tiny:random`` model: the command prints and writes exactly the library's numbers
(:func:`humanclap.score.systems.system_summary`,
:func:`humanclap.score.comparison.compare_systems`) (issue 22)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import test_cli_score_folder as folder_tests

from humanclap.cli import main
from humanclap.score.comparison import compare_systems
from humanclap.score.csvfile import read_pairs_csv
from humanclap.score.systems import system_summary

PROMPTS, SR = folder_tests.PROMPTS, folder_tests.SR
#: The Tux-Paint-like folder of clips of tests/test_cli_score_folder.py (a fixture).
clips = folder_tests.clips
COL = "clapscore_tiny_random"
COL3 = "clapscore_tiny_random_3"


@pytest.fixture
def systems(clips, tmp_path):
    """Two systems' outputs for the same prompts, one folder each (``sysA/``, ``sysB/``, laid
    out as the ``clips`` fixture: ``dog.wav``, ``rain.flac``, ``car.wav``, ``x/birds.wav``;
    sysB's clips are other noise), and a prompts file keyed by path below the root."""
    root = tmp_path / "systems"
    shutil.copytree(clips, root / "sysA")
    shutil.copytree(clips, root / "sysB")
    rng = np.random.default_rng(7)
    for path in sorted((root / "sysB").rglob("*.*")):
        if path.suffix in (".wav", ".flac") and path.stat().st_size:
            sf.write(path, (0.2 * rng.standard_normal(SR // 2)).astype(np.float32), SR)
    keys = {f"{s}/{k}": text for s in ("sysA", "sysB") for k, text in PROMPTS.items()}
    (tmp_path / "prompts.json").write_text(json.dumps(keys))
    return root


def _score(*argv) -> int:
    return main(["score", "--cache-dir", "none", *map(str, argv)])


def _read(path) -> pd.DataFrame:
    """A CSV as ``humanclap compare`` reads it (text cells, indexed by line)."""
    table, lines = read_pairs_csv(path)
    table.index = pd.Index(lines, name="line")
    return table


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", double_precision=15))


# ----------------------------------------------------------------------------- score --summary
def test_summary_by_folder_two_models_equals_the_library(systems, tmp_path, capsys):
    out, facts = tmp_path / "out.csv", tmp_path / "s.json"
    status = _score(systems, "--prompts", tmp_path / "prompts.json", "--model", "tiny:random",
                    "--model", "tiny:random:3", "--out", out, "--json", facts, "--summary",
                    "--system-by-folder", "--n-boot", 300, "--seed", 4)  # fmt: skip
    assert status == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out, float_precision="round_trip", keep_default_na=False)
    assert [c for c in table.columns if c.startswith("clapscore_")] == [COL, COL3]
    assert set(table["model"]) == {"tiny:random; tiny:random:3"}
    summary = json.loads(facts.read_text())
    assert summary["n"] == 8 and [m["column"] for m in summary["models"]] == [COL, COL3]
    for entry in summary["models"]:
        expected = system_summary(table, entry["column"], folder_col="file", n_boot=300, seed=4)
        assert list(expected["system"]) == ["sysA", "sysA/x", "sysB", "sysB/x"]
        assert entry["systems"] == expected.to_dict("records")  # the same numbers, exactly
        assert entry["model"]["spec"] in ("tiny:random", "tiny:random:3")
        for row in expected.itertuples():
            line = next(x for x in printed.splitlines() if f"[{row.lo:.4f}, {row.hi:.4f}]" in x)
            assert line.split()[:4] == [
                row.system,
                str(row.n),
                str(row.n_scored),
                f"{row.mean:.4f}",
            ]
            assert line.split()[-1] == f"{row.median:.4f}"
    assert printed.count("systems by folder; 95% bootstrap CI of the mean") == 2


def test_summary_by_column_and_json_to_stdout(systems, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    rows = [f"{t},{s}/{k}.wav,{s}" for s in ("sysA", "sysB") for k, t in
            (("dog", "a dog barks"), ("car", "a car passes"))]  # fmt: skip
    pairs.write_text("text,audio,system\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out.csv"
    status = _score("--pairs", pairs, "--audio-dir", systems, "--model", "tiny:random",
                    "--out", out, "--json", "-", "--summary", "--system-col", "system")  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0
    facts = json.loads(captured.out)  # stdout is the JSON alone; the table went to stderr
    assert "systems from column 'system'" in captured.err
    table = pd.read_csv(out, float_precision="round_trip", keep_default_na=False)
    expected = system_summary(table, COL, system_col="system", n_boot=1000, seed=0)
    assert facts["systems"] == expected.to_dict("records")
    assert facts["column"] == COL and [s["n"] for s in facts["systems"]] == [2, 2]


def test_summary_one_system_without_a_rule(clips, tmp_path, capsys):
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps(PROMPTS))
    out = tmp_path / "out.csv"
    assert _score(clips, "--prompts", prompts, "--model", "tiny:random", "--out", out,
                  "--summary") == 0  # fmt: skip
    printed = capsys.readouterr().out
    table = pd.read_csv(out, float_precision="round_trip", keep_default_na=False)
    row = system_summary(table, COL, text_col="text").iloc[0]
    assert row["system"] == "all" and row["n"] == 4
    assert f"{row['mean']:.4f}" in printed and f"[{row['lo']:.4f}, {row['hi']:.4f}]" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--system-col", "nope", "--summary"], "pairs.csv: no column 'nope' (--system-col)"),
        (["--system-col", "system"], "--system-col: only with --summary"),
        (["--system-by-folder", "--system-col", "system", "--summary"], "not both"),
        (["--model", "tiny:random"], "two models would write the same column"),
    ],
)
def test_summary_input_errors_exit_2(systems, tmp_path, capsys, extra, message):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("text,audio,system\na dog barks,sysA/dog.wav,A\n")
    status = _score("--pairs", pairs, "--audio-dir", systems, "--model", "tiny:random",
                    "--out", tmp_path / "o.csv", *extra)  # fmt: skip
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


# ----------------------------------------------------------------------------- compare
@pytest.fixture
def scored(systems, tmp_path):
    """sysA and sysB scored by ``humanclap score`` into a.csv and b.csv."""
    out = {}
    for name in ("sysA", "sysB"):
        prompts = tmp_path / f"{name}.json"
        prompts.write_text(json.dumps(PROMPTS))
        out[name] = tmp_path / f"{name}.csv"
        assert _score(systems / name, "--prompts", prompts, "--model", "tiny:random",
                      "--out", out[name]) == 0  # fmt: skip
    return out["sysA"], out["sysB"]


def test_compare_end_to_end_equals_the_library(scored, tmp_path, capsys):
    a, b = scored
    capsys.readouterr()
    facts, per_prompt = tmp_path / "c.json", tmp_path / "pp.csv"
    assert main(["compare", str(a), str(b), "--json", str(facts), "--per-prompt",
                 str(per_prompt), "--n-boot", "400", "--seed", "2"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    done = compare_systems(_read(a), _read(b), COL, n_boot=400, seed=2, names=(str(a), str(b)))
    assert printed.splitlines() == done.lines()
    written = json.loads(facts.read_text())
    assert {k: v for k, v in written.items() if k not in ("command", "written")} == done.to_dict()
    assert written["n_prompts"] == 4 and written["difference"]["of"] == "B - A"
    table_a = pd.read_csv(a, float_precision="round_trip")
    table_b = pd.read_csv(b, float_precision="round_trip")
    diff = table_b[COL].to_numpy() - table_a[COL].to_numpy()  # one clip per prompt, same order
    assert written["difference"]["mean"] == pytest.approx(diff.mean(), abs=1e-15)
    assert written["wins"] == (diff > 0).sum() and written["losses"] == (diff < 0).sum()
    pp = pd.read_csv(per_prompt, float_precision="round_trip")
    np.testing.assert_array_equal(pp["difference"], done.per_prompt["difference"])


def test_compare_json_to_stdout_and_the_column_of_b(scored, tmp_path, capsys):
    a, b = scored
    renamed = tmp_path / "b2.csv"
    renamed.write_text(b.read_text().replace(COL, "clapscore_other", 1))
    capsys.readouterr()
    assert main(["compare", str(a), str(renamed), "--column-b", "clapscore_other",
                 "--json", "-"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    facts = json.loads(captured.out)
    assert facts["b"]["column"] == "clapscore_other"
    assert "mean difference B - A" in captured.err


def test_compare_unpaired_prompts_refused_then_dropped_and_counted(scored, tmp_path, capsys):
    a, b = scored
    fewer = tmp_path / "fewer.csv"
    lines = b.read_text().splitlines()
    fewer.write_text("\n".join(lines[:-1]) + "\n")  # sysB without its last prompt ("birds")
    capsys.readouterr()
    assert main(["compare", str(a), str(fewer)]) == 2
    err = capsys.readouterr().err
    assert f"humanclap compare: {a} and {fewer}: prompts ('text') not in both tables" in err
    assert f"1 only in {a}: 'birds'" in err and "--drop-missing" in err
    assert main(["compare", str(a), str(fewer), "--drop-missing", "--json", "-"]) == 0
    captured = capsys.readouterr()
    facts = json.loads(captured.out)
    assert facts["n_prompts"] == 3 and facts["dropped"]["prompts_only_in_a"] == ["birds"]
    assert f"dropped: 1 prompts only in {a}: birds" in captured.err


def test_compare_bad_input_exits_2_naming_file_and_column(scored, tmp_path, capsys):
    a, b = scored
    empty, header_only = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header_only.write_text(a.read_text().splitlines()[0] + "\n")
    failed = tmp_path / "failed.csv"
    table = pd.read_csv(b, dtype=str, keep_default_na=False)
    table.loc[1, COL] = ""
    table.to_csv(failed, index=False)
    cases = [
        ([str(a), str(b), "--column", "nope"], f"{a}: no column 'nope' (--column)"),
        ([str(a), str(b), "--text-col", "prompt"], f"{a}: no column 'prompt' (--text-col)"),
        ([str(a), str(b), "--column-b", "nope"], f"{b}: no column 'nope' (--column-b)"),
        ([str(a), str(tmp_path / "none.csv")], "none.csv: no such scores file"),
        ([str(a), str(empty)], "empty.csv: cannot read the CSV (no header line"),
        ([str(a), str(header_only)], f"{header_only}: no rows"),
        ([str(header_only), str(b)], f"{header_only}: no rows"),
        ([str(a), str(failed)], f"{failed} line 3: no score in '{COL}'"),
        ([str(a), str(b), "--json", str(tmp_path / "no" / "c.json")], "--json"),
    ]
    for argv, message in cases:
        assert main(["compare", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)


def test_compare_help_and_input_errors_load_no_pandas_or_torch(tmp_path):
    """As ``humanclap score`` does (tests/test_cli_startup.py), ``compare`` checks its input
    before pandas, scipy or torch load."""
    (tmp_path / "a.csv").write_text("text,clapscore_m\ndog,0.1\n")
    probe = (
        "import sys, contextlib, io\n"
        "from humanclap.cli import main\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        code = main(sys.argv[1:])\n"
        "    except SystemExit as done:\n"
        "        code = done.code\n"
        "heavy = [m for m in ('pandas', 'scipy', 'torch') if m in sys.modules]\n"
        "print(code, heavy, err.getvalue().strip().splitlines()[-1:] )\n"
    )
    for argv, code, said in [
        (["compare", "--help"], 0, ""),
        (["compare", "a.csv", "b.csv"], 2, "b.csv: no such scores file"),
        (["compare", "a.csv", "a.csv", "--column", "x"], 2, "a.csv: no column 'x' (--column)"),
        (["score", "--model", "tiny:random", "--pairs", "a.csv", "--out", "o.csv",
          "--audio-col", "text", "--system-col", "s"], 2, "--system-col: only with --summary"),
    ]:  # fmt: skip
        done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)  # fmt: skip
        assert done.stdout.startswith(f"{code} [] "), (argv, done.stdout, done.stderr)
        assert said in done.stdout
