"""The metrics export without services: counts from separate processes add up through the
multiprocess folder, `make run` gives the fleet an empty one, and the Grafana dashboard graphs
exactly the series the dialer exports."""

import json
import re
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from dialer.adapters import metrics
from dialer.flows.dialing import DialOutcome
from dialer.flows.gauges import StoreGauges
from dialer.ops.launcher import prepare_environment

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dialer.json"
COUNT = "from dialer.adapters import metrics; metrics.count_results({'BUSY': 2}); metrics.observe_tick('beat', 0.2, 7)"
EXPORT = "import sys; from dialer.adapters import metrics; sys.stdout.write(metrics.exposition(None)[0].decode())"


def run_in_a_process(code, folder):
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True,
                          text=True, timeout=60).stdout


def test_counts_of_separate_processes_add_up_in_the_export_of_another(tmp_path):
    run_in_a_process(COUNT, tmp_path)
    run_in_a_process(COUNT, tmp_path)
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(run_in_a_process(EXPORT, tmp_path))
               for s in family.samples}
    assert samples[("dialer_results_total", frozenset({("disposition", "BUSY")}))] == 4
    assert samples[("dialer_allocation_claim_size_sum", frozenset({("trigger", "beat")}))] == 14
    assert samples[("dialer_allocation_tick_seconds_count", frozenset({("trigger", "beat")}))] == 2


def test_make_run_gives_the_fleet_a_metrics_folder_emptied_of_the_last_run_s_counts(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old counts")
    (folder / "notes.txt").write_text("not ours")
    env = {"DIALER_STATE_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r:1/0"}
    prepare_environment(env)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_an_originate_batch_is_counted_by_outcome():
    outcome = DialOutcome(dialed=["a", "b"], failed={"c": "INVALID_GATEWAY", "d": "SWITCH_DOWN", "e": "SWITCH_DOWN"},
                          retry=["f"])
    assert {k: v for k, v in outcome.by_outcome().items() if v} == {
        "accepted": 2, "invalid_gateway": 1, "switch_down": 2, "gateway_down": 1}


def exported_names():
    """Every family the dialer exports, as PromQL names it (counters with `_total`)."""
    families = [m.describe()[0] for m in (metrics.ORIGINATES, metrics.RESULTS, metrics.TICK_SECONDS,
                                          metrics.CLAIM_SIZE, metrics.HANGUP_TO_RECORDED, metrics.LISTENER_READ,
                                          metrics.LISTENER_PUBLISHED)]
    families += metrics.StoreCollector(StoreGauges, switches=()).collect()
    return {f.name + "_total" if f.type == "counter" else f.name for f in families}


def graphed_names():
    exprs = [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel.get("targets", [])]
    names = {name for expr in exprs for name in re.findall(r"\bdialer_[a-z_]+", expr)}
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}


def test_the_grafana_dashboard_graphs_every_series_the_dialer_exports_and_no_other():
    assert graphed_names() == exported_names()
