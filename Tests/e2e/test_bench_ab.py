"""scripts/bench.py's A/B summary: pair by pair figures, the mean difference and its standard error (no relay needed)."""
import importlib.util
import math
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
spec = importlib.util.spec_from_file_location("bench", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def runs(a, b, rate=25_000, recorder=0.5):
    out = {}
    for key, values in (("a", a), ("b", b)):
        for i, micros in enumerate(values):
            out[f"ab/{key}/{i}"] = {
                "server": {"microsPerDelivery": micros, "threadCPUSeconds": {"wr-recorder": recorder * (i + 1)}},
                "deliveriesPerSecond": rate + i, "delivered": 100_000}
    return out


def test_difference_is_the_mean_of_the_pairs_with_its_standard_error():
    summary = bench.ab_summary(runs([10.0, 12.0, 14.0], [9.0, 10.0, 13.0]), 3)
    assert summary["per"] == {"a": [10.0, 12.0, 14.0], "b": [9.0, 10.0, 13.0]}
    assert summary["rate"]["b"] == [25_000, 25_001, 25_002]
    # Differences -1, -2, -1: mean -4/3; sample standard deviation sqrt(1/3); / sqrt(3) = 1/3.
    assert math.isclose(summary["difference"], -4 / 3)
    assert math.isclose(summary["percent"], 100 * (-4 / 3) / 12.0)
    assert math.isclose(summary["standardError"], 1 / 3)


def test_one_pair_has_no_standard_error():
    summary = bench.ab_summary(runs([10.0], [12.0]), 1)
    assert summary["difference"] == 2.0 and summary["percent"] == 20.0
    assert math.isnan(summary["standardError"])


def test_a_thread_is_charged_its_own_cpu_per_delivery():
    summary = bench.ab_summary(runs([10.0, 12.0], [9.0, 10.0]), 2, "wr-recorder")
    # 0.5 s and 1.0 s over 100,000 deliveries: 5 and 10 µs, the same for both builds.
    assert summary["per"] == {"a": [5.0, 10.0], "b": [5.0, 10.0]}
    assert summary["difference"] == 0.0 and summary["standardError"] == 0.0
    assert bench.ab_summary(runs([10.0], [9.0]), 1, "wr-none")["per"]["a"] == [0.0]
