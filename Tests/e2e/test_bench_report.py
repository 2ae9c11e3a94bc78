"""scripts/bench-report.py: the table's cells, the WindowRelay ÷ C relay ratios and the SVG (no relay needed)."""
import importlib.util
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "bench-report.py"
spec = importlib.util.spec_from_file_location("bench_report", SCRIPT)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def run(target, label, dps, micros, p50=100_000, p99=2_000_000, pace="paced", lost=0):
    return {
        "run": {"label": f"{target}/{label}", "target": target, "sessions": 100, "parties": 2, "pace": pace,
                "inFlight": 4, "connections": 200},
        "sent": 1000, "expected": 1000, "delivered": 1000 - lost, "lost": lost, "measuredSeconds": 10,
        "deliveriesPerSecond": dps, "generatorCPUSeconds": 5,
        "latencyNanos": {"p50": p50, "p99": p99, "p999": 3_000_000, "max": 12_000_000},
        "server": {"cpuShare": 0.5, "microsPerDelivery": micros, "rssBeforeBytes": 1 << 20,
                   "rssAfterBytes": 3 << 20, "connections": 200},
    }


RESULTS = {"runs": [
    run("windowrelay", "paced-100", 10_000, 40.0),
    run("c-relay-libev", "paced-100", 10_000, 20.0, lost=10),
    run("c-relay", "paced-100", 10_000, 25.0),
    run("windowrelay", "flood", 45_000, 22.0, pace="flood"),
    run("c-relay-libev", "flood", 90_000, 8.0, pace="flood"),
    {"run": {"label": "idle", "target": "windowrelay", "connections": 5000}, "rssBeforeBytes": 40 << 20,
     "rssAfterBytes": 90 << 20, "rssPerConnectionBytes": 10486},
    {"run": {"label": "start-empty", "target": "windowrelay"}, "startSeconds": 0.2, "allStartSeconds": [0.3, 0.2, 0.1]},
]}


def test_durations_read_like_the_generators():
    assert report.duration(412_000) == "412 µs"
    assert report.duration(1_830_000) == "1.83 ms"
    assert report.duration(21_700_000_000) == "21.70 s"


def test_a_row_gives_rates_latencies_loss_and_memory_per_connection():
    cells = report.row(RESULTS["runs"][1])
    assert cells[0] == "C relay"
    assert cells[3] == "10,000"
    assert cells[6:8] == ["100 µs", "2.00 ms"]
    assert cells[10] == "10 (1.0 %)"
    assert cells[11] == "3.0 MiB (10 KiB)"


def test_ratios_divide_windowrelay_by_each_c_relay_that_ran_the_same_load():
    ratios = report.ratios(RESULTS)
    assert ratios["CPU per delivery, paced-100, ÷ C relay"] == 2.0
    assert ratios["flood ceiling ÷ C relay"] == 0.5
    assert ratios["CPU per delivery, paced-100, ÷ C relay, poll"] == 1.6
    assert "flood ceiling ÷ C relay, poll" not in ratios  # no poll flood in these results


def test_the_table_has_the_idle_and_start_up_figures():
    text = report.table(RESULTS)
    assert "5,000: 10.2 KiB each" in text
    assert "median 200 ms (runs: 300, 200, 100 ms)" in text


def test_the_svg_plots_only_paced_runs():
    svg = report.svg(RESULTS)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "WindowRelay p99" in svg and "C relay p50" in svg
    assert "C relay, poll p99" in svg
    assert svg.count("<circle") == 6  # three paced runs, p50 and p99 each


def test_the_doc_blocks_get_the_tables_and_the_text_around_them_stays():
    doc = ("intro\n<!-- bench:runs -->\nold rows\n<!-- /bench:runs -->\nbetween\n"
           "<!-- bench:ratios -->\n<!-- /bench:ratios -->\n<!-- bench:extra -->\nold extra\n<!-- /bench:extra -->\nend\n")
    text = report.update_doc(doc, RESULTS)
    assert text.startswith("intro\n<!-- bench:runs -->\n| server |") and text.endswith("<!-- /bench:extra -->\nend\n")
    assert "old rows" not in text and "old extra" not in text and "\nbetween\n" in text
    assert "| CPU per delivery, paced-100, ÷ C relay | 2.00 |" in text
    assert "5,000: 10.2 KiB each" in text
    # Results of a `make bench` alone (no idle or start-up runs) leave the extra block as it was.
    runs_only = {"runs": [r for r in RESULTS["runs"] if "server" in r]}
    assert "old extra" in report.update_doc(doc, runs_only)
