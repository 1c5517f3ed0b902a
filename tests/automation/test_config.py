"""The ``automation:`` section of rasad.yaml: a mistake is refused with the key that holds
it, before any agent runs (rasad.config.AutomationConfig)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from rasad.config import FileChannel, ProjectConfig
from rasad.errors import ConfigError

FILES = "  sources: {incoming: {kind: files, dataset: loans, path: 'incoming/*.csv'}}\n"
LOG = "  sources: {live: {kind: prediction_log, model: credit}}\n"


def load(section: str) -> ProjectConfig:
    return ProjectConfig.from_yaml_text(f"name: demo\nautomation:\n{section}")


@pytest.mark.parametrize(("section", "key", "why"), [
    (FILES + "  monitors: {m: {kind: drift, source: incomming}}\n",
     "automation.monitors.m.source", "names 'incomming', not one of sources (incoming)"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, schedule: 'every day'}}\n",
     "automation.monitors.m.schedule", "not a five-field cron expression"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, schedule: '0 6 * * * *'}}\n",
     "automation.monitors.m.schedule", "not a five-field cron expression"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, shedule: '0 6 * * *'}}\n",
     "automation.monitors.m.shedule", "not a known key"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, window_rows: 0}}\n",
     "automation.monitors.m.window_rows", "greater than or equal to 1"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, cooldown_hours: -1}}\n",
     "automation.monitors.m.cooldown_hours", "greater than or equal to 0"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, actions: [page]}}\n",
     "automation.monitors.m.actions", "'alert' or 'retrain'"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, actions: [retrain]}}\n",
     "automation.monitors.m.actions", "add automation.retraining.MODEL"),
    (FILES + "  monitors: {m: {kind: drift, source: incoming, channels: [pager]}}\n",
     "automation.monitors.m.channels", "names 'pager', not one of alerts.channels (file)"),
    (FILES + "  monitors: {m: {kind: performance, source: incoming, "
             "metrics: {accuracy: {min: 0.8}}}}\n",
     "automation.monitors.m", "realized performance needs a prediction_log source"),
    (LOG + "  monitors: {m: {kind: performance, source: live, schedule: '0 * * * *'}}\n",
     "automation.monitors.m.metrics", "is empty"),
    (LOG + "  monitors: {m: {kind: performance, source: live, "
           "metrics: {accuracy: {min: 0.8}}}}\n",
     "automation.monitors.m.schedule", "a prediction_log source has no arrivals"),
    (LOG + "  monitors: {m: {kind: estimated_performance, source: live, schedule: '0 * * * *', "
           "metrics: {accuracy: {min: 0.8}}}}\n",
     "automation.monitors.m", "give window_rows or window_days"),
    (FILES + "  monitors: {m: {kind: estimated_performance, source: incoming, "
             "window_rows: 100, metrics: {accuracy: {min: 0.8}}}}\n",
     "automation.monitors.m", "judges a prediction_log source's recent window"),
    ("automation:\n  alerts:\n    channels:\n      'bad name': {kind: file}\n",
     "automation.alerts.channels key", "is not a name"),
    ("automation:\n  alerts:\n    channels:\n      mail: {kind: email, host: smtp, "
     "sender: a@b.c, to: [x@y.z], username: u, starttls: false, password_env: P}\n",
     "automation.alerts.channels.mail", "a password is never sent in clear"),
    (LOG + "  monitors: {m: {kind: performance, source: live, "
           "metrics: {accuracy: {min: 0.8, max: 0.9}}}}\n",
     "automation.monitors.m.metrics.accuracy", "exactly one of min"),
    (LOG + "  monitors: {m: {kind: validation, source: live}}\n",
     "automation.monitors.m", "a validation monitor watches a files source"),
    ("  sources: {a: {kind: ftp, dataset: d, path: x}}\n",
     "automation.sources.a", "'files', 'prediction_log'"),
    ("  sources: {a: {kind: files, dataset: '', path: x}}\n",
     "automation.sources.a.files.dataset", "at least 1 character"),
    ("  alerts: {channels: {x: {kind: pager, url: u}}}\n",
     "automation.alerts.channels.x", "'webhook', 'slack', 'email', 'file'"),
    ("  alerts: {channels: {x: {kind: email, host: smtp.example, sender: a@b.c, to: []}}}\n",
     "automation.alerts.channels.x.email.to", "at least 1 item"),
    ("  alerts: {retries: -1}\n", "automation.alerts.retries", "greater than or equal to 0"),
    ("  agent: {checkpoints: '61 * * * *'}\n", "automation.agent.checkpoints",
     "not a five-field cron expression"),
    ("  agent: {lease_seconds: 1}\n", "automation.agent.lease_seconds",
     "greater than or equal to 5"),
])
def test_a_mistake_names_its_key(section: str, key: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(section)
    message = str(caught.value)
    assert message.startswith("rasad.yaml: automation")
    assert key in message, message
    assert why in message, message


def test_defaults_a_project_gets_without_the_section() -> None:
    config = ProjectConfig.from_yaml_text("name: demo\n")
    automation = config.automation
    assert (automation.sources, automation.monitors, automation.retraining) == ({}, {}, {})
    assert automation.alerts.channels == {"file": FileChannel(kind="file")}
    assert automation.agent.checkpoints is None and automation.agent.lease_seconds == 300.0


def test_a_full_section_loads() -> None:
    config = load(FILES[:-2] + ", live: {kind: prediction_log, model: credit}}\n" + """\
  monitors:
    income-drift: {kind: drift, source: incoming, model: credit, actions: [alert, retrain]}
    live-accuracy: {kind: performance, source: live, schedule: '0 * * * *',
                    metrics: {accuracy: {min: 0.8}}, cooldown_hours: 6, severity: critical}
  alerts:
    channels:
      ops: {kind: webhook, url: 'https://hooks.example/rasad', secret_env: HOOK_SECRET}
      sink: {kind: file}
  retraining: {credit: {combine: all}}
  agent: {checkpoints: '0 0 * * *', interval_seconds: 30}
""")
    monitors = config.automation.monitors
    assert monitors["income-drift"].schedule == "on_arrival"
    assert monitors["live-accuracy"].metrics["accuracy"].min == 0.8
    assert sorted(config.automation.alerts.channels) == ["ops", "sink"]


DOC = Path(__file__).resolve().parents[2] / "docs" / "automation.md"


def test_the_documented_section_loads_as_written() -> None:
    block = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)[0]
    config = ProjectConfig.from_yaml_text("name: demo\n" + block)
    automation = config.automation
    assert list(automation.monitors) == ["income-drift", "files-valid", "live-accuracy",
                                         "live-estimate"]
    assert automation.monitors["live-estimate"].metrics["accuracy"].basis == "bound"
    assert sorted(automation.alerts.channels) == ["ops", "sink", "team"]
    assert automation.agent.checkpoints == "0 0 * * *"


def test_the_documented_receiver_check_accepts_rasads_signature_only() -> None:
    from rasad.automation.channels import signature

    block = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[0]
    namespace: dict[str, Any] = {}
    exec(compile(textwrap.dedent(block), str(DOC), "exec"), namespace)
    genuine = namespace["genuine"]
    body = b'{"alert_id":3,"monitor":"income-drift"}'
    signed = signature("s3cret", "1796551200", body)
    assert genuine(b"s3cret", "1796551200", body, signed)
    assert not genuine(b"s3cret", "1796551201", body, signed)
    assert not genuine(b"other", "1796551200", body, signed)
    assert not genuine(b"s3cret", "1796551200", body + b" ", signed)
