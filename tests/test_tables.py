"""Tests for humanclap.plots.tables: the one formatter of the book's tables."""

from __future__ import annotations

import base64

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from humanclap.plots import SIMULATED_TAG, csv_download, format_table, mark_simulated, table_text


@pytest.fixture
def report() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["audiocaps", "tango", "audioldm"],
            "n_pairs": [1200.0, 80.0, 3.0],
            "srcc": [0.29912, -0.05, np.nan],
            "srcc_lo": [0.18549, -0.2, np.nan],
            "srcc_hi": [0.4, 0.1049, np.nan],
            "p_holm": [3.035e-276, 0.04561, 1.0],
            "n_boot_valid": [1000, 1000, 0],
        }
    )


def test_headers_intervals_counts_and_p_values(report):
    text = table_text(report)
    assert list(text.columns) == ["source", "pairs", "SRCC [95% CI]", "p (Holm)"]
    assert text["pairs"].tolist() == ["1,200", "80", "3"]  # float counts shown as integers
    assert text["SRCC [95% CI]"].tolist() == [
        "0.299 [0.185, 0.400]",
        "−0.050 [−0.200, 0.105]",
        "–",
    ]
    assert text["p (Holm)"].tolist() == ["< 0.001", "0.046", "1.000"]
    assert list(text.index) == [0, 1, 2]


def test_decimals_and_p_threshold_follow_each_other(report):
    text = table_text(report, decimals=2)
    assert text["SRCC [95% CI]"].iloc[0] == "0.30 [0.19, 0.40]"
    assert text["p (Holm)"].tolist() == ["< 0.01", "0.05", "1.00"]
    with pytest.raises(ValueError, match="decimals must be 0..6"):
        table_text(report, decimals=9)


def test_chosen_columns_bring_their_interval_and_can_be_renamed(report):
    text = table_text(report, columns={"source": "system", "srcc": "SRCC (simulated)"})
    assert list(text.columns) == ["system", "SRCC (simulated) [95% CI]"]
    # an internal column is shown when named
    assert "n boot valid" in table_text(report, columns=["source", "n_boot_valid"]).columns
    with pytest.raises(KeyError, match=r"\['nope'\] not in the table"):
        table_text(report, columns=["source", "nope"])
    with pytest.raises(TypeError, match="expected a DataFrame"):
        table_text(report["srcc"])


def test_bare_lo_hi_and_index_handling():
    named = pd.DataFrame(
        {"mean": [0.5, 0.25], "sd": [0.1, 0.2], "lo": [0.4, 0.1], "hi": [0.6, 0.4]},
        index=pd.Index(["wsce", "mae"], name="loss"),
    )
    text = table_text(named)
    assert list(text.columns) == ["loss", "mean [95% CI]", "SD"]
    assert text.iloc[1].tolist() == ["mae", "0.250 [0.100, 0.400]", "0.200"]
    # no estimate or mean column: lo/hi belong to the column before them
    diff = pd.DataFrame({"gap": [0.1], "lo": [0.0], "hi": [0.2]}, index=[7])
    assert table_text(diff).columns.tolist() == ["gap [95% CI]"]  # integer index dropped
    unnamed = pd.DataFrame({"x": [1.5]}, index=["row"])
    assert table_text(unnamed).columns.tolist() == ["", "x"]
    multi = pd.DataFrame(
        {"x": [1.0]}, index=pd.MultiIndex.from_tuples([("a", "b")], names=["u", "v"])
    )
    assert table_text(multi).columns.tolist() == ["u", "v", "x"]


def test_unknown_names_lose_underscores_and_other_values():
    table = pd.DataFrame(
        {"rows_before": [10, 20], "mean_cosine": [0.12345, 1.0], "flag": [True, False]}
    )
    text = table_text(table)
    assert list(text.columns) == ["rows before", "mean cosine", "flag"]
    assert text["rows before"].tolist() == ["10", "20"]
    assert text["mean cosine"].tolist() == ["0.123", "1.000"]
    assert text["flag"].tolist() == ["yes", "no"]
    inf = table_text(pd.DataFrame({"ratio": [np.inf, -np.inf]}))
    assert inf["ratio"].tolist() == ["∞", "−∞"]


def test_styler_has_no_index_aligns_numbers_and_is_deterministic(report):
    styler = format_table(report, caption="Agreement by source")
    html = styler.to_html()
    assert html == format_table(report, caption="Agreement by source").to_html()
    assert "Agreement by source" in html and 'class="dataframe humanclap-table"' in html
    assert "row_heading" not in html  # no index column
    assert "n_boot_valid" not in html and "p_holm" not in html
    assert "text-align: right" in html
    assert styler.data.equals(table_text(report))
    other = report.assign(srcc=report["srcc"] + 0.01)
    assert format_table(other).table_attributes == styler.table_attributes
    assert format_table(other).uuid != styler.uuid


def test_csv_download_carries_the_full_table() -> None:
    table = pd.DataFrame({"srcc": [0.123456, 0.5], "n_pairs": [10, 20]}, index=["a", "b"])
    link = csv_download(table, "agreement").data
    assert 'download="agreement.csv"' in link and "(2 rows)" in link
    payload = link.split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(payload).decode() == ",srcc,n_pairs\na,0.123456,10\nb,0.5,20\n"
    with pytest.raises(ValueError, match="plain file name"):
        csv_download(table, "../x.csv")


def test_mark_simulated_tags_a_figure_once() -> None:
    fig, _ = plt.subplots()
    mark_simulated(mark_simulated(fig))
    assert [t.get_text() for t in fig.texts] == [SIMULATED_TAG]
    plt.close(fig)


def test_names_with_digits_are_words_and_numbers_align_right() -> None:
    table = pd.DataFrame({"source": ["audioldm2", "tango"], "srcc": [0.1, -0.25],
                          "p_value": [1e-9, 0.2], "n_pairs": [1311, 12]})  # fmt: skip
    styles = {s["selector"]: dict(s["props"]) for s in format_table(table).table_styles}
    assert styles["td.col0"]["text-align"] == "left"
    assert styles["td.col1, td.col2, td.col3"]["text-align"] == "right"


def test_an_empty_table_formats() -> None:
    empty = pd.DataFrame(
        {"source": pd.Series([], dtype=object), "srcc": pd.Series([], dtype=float)}
    )
    assert list(table_text(empty).columns) == ["source", "SRCC"]
    format_table(empty).to_html()


def test_the_resampling_unit_is_said_in_the_interval_header() -> None:
    table = pd.DataFrame({"metric": ["srcc"], "estimate": [0.3], "lo": [0.2], "hi": [0.4],
                          "n": [12], "resampled": ["captions"]})  # fmt: skip
    assert list(table_text(table).columns) == [
        "metric",
        "estimate [95% CI, captions resampled]",
        "n",
    ]
    mixed = pd.concat([table, table.assign(resampled="pairs")])
    assert "estimate [95% CI, captions or pairs resampled]" in table_text(mixed).columns
    assert "estimate [95% CI]" in table_text(table.drop(columns="resampled")).columns
    # Only the bootstrap's own intervals: a ceiling's interval is not resampled.
    ceiling = table.assign(ceiling=0.8, ceiling_lo=0.7, ceiling_hi=0.9)
    assert list(table_text(ceiling).columns)[1:4:2] == [
        "estimate [95% CI, captions resampled]", "ceiling [95% CI]"
    ]  # fmt: skip
