"""Soak settings: every option of the plugin, read from the command line or its ini twin.

One table (`OPTIONS`) declares each option once: its flag, ini name, type, default and help.
plugin.py turns the table into `addoption` + `addini` pairs; `SoakSettings.from_config` reads
them back with the precedence command line > ini/pyproject > default. Bad values raise
`SoakUsageError`, whose message names the option and the accepted values.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.replay_feed.market import PROFILES
from pytest_soak_evidence.carried import carried

# the fault schedules shipped with the plugin, by name (`--soak-schedule kill_only`)
SCHEDULES_DIR = carried(__file__, "fixtures/faults")
DEFAULT_SCHEDULE = SCHEDULES_DIR / "default.yaml"
NO_PIPELINE = ("no pipeline to soak: pass --soak-config FILE (or set soak_config in the ini "
               "file); the reference pipeline runs only from a pytest-soak checkout")
SINKS = ("jsonl", "sqlite", "dual")
FEEDS = ("replay", "exchange")
# influxdb-v2: the 2.x write API, served by VictoriaMetrics (pytest_soak/victoria_metrics.py)
STORES = ("prometheus", "influxdb", "influxdb-v2", "none")
MODES = ("replay", "live")
MIN_REPLAY_SPEED = 20.0
PROGRESS_S = {"replay": 10.0, "live": 60.0}   # progress line cadence without --soak-progress-s


class SoakUsageError(ValueError):
    """A soak option has a value the harness cannot use; the message names the option."""


@dataclass(frozen=True)
class Option:
    name: str                 # dest / ini name, e.g. "soak_minutes"
    type: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def parse_bool(text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _shipped_schedules() -> list[str]:
    return sorted(p.stem for p in SCHEDULES_DIR.glob("*.yaml"))


def _schedule_path(text: str, root: Path) -> Path | None:
    """A schedule option's file: `none`, a shipped schedule's name, or a path."""
    if text in ("", "none"):
        return None
    shipped = SCHEDULES_DIR / f"{text}.yaml"
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        return shipped
    return _abs(text, root)


def _seed(text: str) -> int | str | None:
    if text in (None, ""):
        return None
    return "last" if str(text).strip() == "last" else int(text)


def parse_campaign(text: str) -> int | tuple[int, ...] | None:
    """`--soak-campaign`: a count (`4`: that many seeds, counting up from the run's seed) or a
    comma list of seeds (`11,12,13`, a trailing comma makes one seed a list); `none` is no
    campaign (a command line's way to switch off an ini file's campaign)."""
    value = str(text).strip()
    if value in ("", "none"):
        return None
    if "," not in value:
        count = int(value)
        if count < 1:
            raise ValueError("a campaign runs at least 1 seed")
        return count
    seeds = tuple(int(part) for part in value.split(",") if part.strip())
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError("each seed of a seed list must be an integer >= 0")
    if len(set(seeds)) != len(seeds):
        raise ValueError("a seed is listed twice: each seed runs once")
    return seeds


def _threshold(name: str, type_: Callable[[str], Any], help_: str) -> Option:
    """A DoD threshold option: its default is the checks' `Thresholds` field of the same name
    (pytest_soak/checks/thresholds.py owns the seed's figures); the option is `soak_<field>`."""
    found = [f for f in fields(Thresholds) if f.name == name and f.default is not MISSING]
    if not found:
        raise LookupError(f"soak_{name}: Thresholds has no field {name!r} with a default")
    return Option(f"soak_{name}", type_, found[0].default, help_)


THRESHOLD_OPTIONS = (
    _threshold("health_min_pct", float,
               "D2: each stage healthy in at least this % of the harness's polls"),
    _threshold("max_rss_mb", float, "D8: max RSS of any pipeline process, MB"),
    _threshold("max_open_files", int, "D8: max open files of any process"),
    _threshold("rss_agreement_pct", float,
               "D8: harness-measured vs manifest max RSS agreement, %"),
    _threshold("leak_max_mb_per_h", float, "D8: max robust RSS slope after warm-up"),
    _threshold("restart_max_s", float, "D9: a killed stage healthy again within, s"),
    _threshold("parity_max_pct", float, "D5: JSONL vs SQLite difference, %"),
    _threshold("max_reconnects", int, "D7: reconnects not induced by the harness"),
    _threshold("queue_depth_max_pct", float,
               "D7: harvest's queue depth outside fault windows, % of its queue_max"),
    _threshold("settle_s", float, "market seconds after a fault window still counted as induced"),
    _threshold("alert_lag_s", float,
               "D3: market seconds of report lateness beyond its declared lateness_s and "
               "status poll"),
)

RUN_OPTIONS = (
    Option("soak_mode", str, None, "replay (time-compressed, default) or live (1x); "
           "'-m live' selects live", MODES),
    Option("soak_minutes", float, 60.0, "market minutes of the run"),
    Option("soak_speed", float, 30.0, f"REPLAY pacing, market seconds per wall second "
           f"(>= {MIN_REPLAY_SPEED:g}); LIVE is always 1"),
    Option("soak_sink", str, "dual", "jsonl, sqlite or dual; a comma list runs one soak per value"),
    Option("soak_config", str, None,
           "YAML describing the pipeline under test (command, level, claims, health, overlay)"),
    Option("soak_schedule", str, DEFAULT_SCHEDULE.stem, "fault schedule YAML (market time): a "
           f"file, or the name of a shipped one ({', '.join(_shipped_schedules())}), or none"),
    Option("soak_seed", _seed, None, "seed of the fault schedule's random elements; 'last' "
           "reuses the previous run's seed"),
    Option("soak_campaign", parse_campaign, None, "a campaign: N seeds (counting up from "
           "--soak-seed, else the schedule's seed) or a comma list of seeds; one soak per seed, "
           "side by side with -n N --dist loadgroup; campaign.json and a table at the end"),
    Option("soak_model", parse_bool, False, "D13: also run (or take from the cache) the "
           "fault-free model of this soak (the same market and feed faults, no process or "
           "store faults) and compare the signals by row"),
    Option("soak_feed", str, "replay", "replay (local replay feed) or exchange", FEEDS),
    Option("soak_recording", str, None, "replay this recording (.jsonl or .jsonl.gz, the replay "
           "feed's format) as the market instead of the generator, looped to the soak's length"),
    Option("soak_market_profile", str, None, "how busy the seeded generator's market is "
           "(docs/data-sources.md, 'Generator profiles'): light, or real (the real exchange's "
           "per-stream rates); default: the fault schedule's market_profile, else light; "
           "ignored with --soak-recording", tuple(sorted(PROFILES))),
    Option("soak_timeseries", str, "prometheus", "time-series store the pipeline exports to",
           STORES),
    Option("soak_timeseries_url", str, None,
           "use this running store instead of starting one (reachability is prechecked)"),
    Option("soak_run_dir", str, "artifacts/soak", "parent folder; each run gets its own folder"),
    Option("soak_keep", parse_bool, False, "keep earlier passing runs in the run dir (by default a "
           "session starts by removing them; failing ones and this session's runs are kept)"),
    Option("soak_health_interval_s", float, 10.0, "market seconds between health polls"),
    Option("soak_sample_interval_s", float, None,
           "wall seconds between psutil samples (default: the health poll interval)"),
    Option("soak_progress_s", float, None,
           "seconds between plain progress lines when stdout is not a TTY (default "
           f"{PROGRESS_S['replay']:g} in REPLAY, {PROGRESS_S['live']:g} in LIVE)"),
    Option("soak_report_tz", str, "Asia/Tokyo", "REPORT_TZ the harness gives the pipeline (an "
           "IANA zone, non-UTC by default so a report ignoring it shows); D11 checks the "
           "reports' offsets against it"),
    Option("soak_alert_path", parse_bool, None, "the live alert path: a real Prometheus with the "
           "shipped rules and Alertmanager over the run's Pushgateway, notifications recorded "
           "(default: on in LIVE; in REPLAY the rules' durations are scaled by the speed)"),
    Option("soak_startup_timeout_s", float, 90.0, "wall seconds for the pipeline to be healthy"),
    Option("soak_stop_timeout_s", float, 90.0, "wall seconds after SIGINT before SIGKILL"),
)

OPTIONS = RUN_OPTIONS + THRESHOLD_OPTIONS


@dataclass
class SoakSettings:
    """Everything one soak session needs to know; built once per pytest session by
    `from_values` (every default is its option's, in OPTIONS)."""

    mode: str
    minutes: float
    speed: float
    sinks: list[str]
    pipeline_config: Path | None          # None: no pipeline named (NO_PIPELINE)
    schedule: Path | None
    seed: int | None
    feed: str
    timeseries: str
    timeseries_url: str | None
    run_dir: Path
    keep: bool
    health_interval_s: float
    sample_interval_s: float | None
    progress_s: float | None
    startup_timeout_s: float
    stop_timeout_s: float
    report_tz: str
    recording: Path | None = None         # None: the seeded generator is the market
    alert_path: bool = False              # Prometheus + Alertmanager (pytest_soak/alert_path.py)
    market_profile: str | None = None     # the option; market_source.soak_profile decides
    worker_id: str | None = None
    # --soak-campaign as given (a count or seeds), the seeds it resolves to (the plugin fills
    # them in once the schedule's seed is known) and the campaign's folder in run_dir
    campaign: int | tuple[int, ...] | None = None
    campaign_seeds: list[int] = field(default_factory=list)
    campaign_id: str | None = None
    model: bool = False                   # --soak-model: D13's model run
    # only the thresholds set by option/ini; the checks fill in the rest from Thresholds
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def campaign_dir(self) -> Path | None:
        """Where a campaign's run folders and its campaign.json go (None: no campaign)."""
        return None if self.campaign_id is None else self.run_dir / self.campaign_id

    @property
    def replay(self) -> bool:
        return self.mode == "replay"

    @property
    def health_wall_interval_s(self) -> float:
        return self.health_interval_s / self.speed

    @property
    def run_wall_s(self) -> float:
        """Wall seconds the market session itself lasts."""
        return self.minutes * 60.0 / self.speed

    @property
    def timeout_s(self) -> float:
        """A pytest-timeout budget for one run: its length plus start, settle and stop margins."""
        return self.run_wall_s * 1.5 + self.startup_timeout_s + self.stop_timeout_s + 60.0

    @property
    def progress_interval_s(self) -> float:
        if self.progress_s:
            return self.progress_s
        return PROGRESS_S[self.mode]

    @classmethod
    def from_values(cls, values: dict[str, Any], *, live_selected: bool = False,
                    root: Path | None = None, worker_id: str | None = None) -> SoakSettings:
        """Build settings from raw option values (name -> str/None), validating each."""
        parsed = {opt.name: _parse(opt, values.get(opt.name)) for opt in OPTIONS}
        mode = parsed["soak_mode"] or ("live" if live_selected else "replay")
        speed = 1.0 if mode == "live" else parsed["soak_speed"]
        if mode == "replay" and speed < MIN_REPLAY_SPEED:
            raise SoakUsageError(f"--soak-speed / soak_speed = {speed:g}: REPLAY mode needs at "
                                 f"least {MIN_REPLAY_SPEED:g}x to fit its wall-time budget")
        if parsed["soak_minutes"] <= 0:
            raise SoakUsageError("--soak-minutes / soak_minutes must be > 0")
        sinks = _sinks(parsed["soak_sink"])
        root = root or Path.cwd()
        seed = parsed["soak_seed"]
        if seed == "last":
            seed = last_seed(_abs(parsed["soak_run_dir"], root))
        campaign = parsed["soak_campaign"]
        if isinstance(campaign, tuple) and seed is not None:
            raise SoakUsageError(f"--soak-campaign / soak_campaign = {values['soak_campaign']!r}: "
                                 "a seed list names every seed; drop --soak-seed / soak_seed "
                                 "(or give a count: --soak-campaign 3 --soak-seed 11)")
        if isinstance(campaign, tuple):     # a seed list: its first is the session's seed
            seed = campaign[0]
        thresholds = {o.name.removeprefix("soak_"): parsed[o.name] for o in THRESHOLD_OPTIONS
                      if values.get(o.name) not in (None, "", [])}
        schedule = parsed["soak_schedule"]
        return cls(
            mode=mode, minutes=parsed["soak_minutes"], speed=speed, sinks=sinks,
            pipeline_config=None if not parsed["soak_config"] else _abs(parsed["soak_config"],
                                                                         root),
            schedule=_schedule_path(str(schedule), root),
            seed=seed, feed=parsed["soak_feed"], timeseries=parsed["soak_timeseries"],
            timeseries_url=parsed["soak_timeseries_url"] or None,
            run_dir=_abs(parsed["soak_run_dir"], root), keep=parsed["soak_keep"],
            health_interval_s=parsed["soak_health_interval_s"],
            sample_interval_s=parsed["soak_sample_interval_s"],
            progress_s=parsed["soak_progress_s"],
            startup_timeout_s=parsed["soak_startup_timeout_s"],
            stop_timeout_s=parsed["soak_stop_timeout_s"],
            report_tz=_zone(parsed["soak_report_tz"]),
            recording=_recording(parsed["soak_recording"], parsed["soak_feed"], root),
            market_profile=parsed["soak_market_profile"],
            worker_id=worker_id, thresholds=thresholds, campaign=campaign,
            model=parsed["soak_model"],
            alert_path=mode == "live" if parsed["soak_alert_path"] is None
            else parsed["soak_alert_path"],
        )


def _parse(opt: Option, raw: Any) -> Any:
    if raw is None or raw == "" or raw == []:
        return opt.default
    try:
        value = raw if not isinstance(raw, str) else opt.type(raw)
        if opt.type in (float, int) and not isinstance(value, bool):
            value = opt.type(value)
    except (TypeError, ValueError) as exc:
        raise SoakUsageError(f"{opt.flag} / {opt.name} = {raw!r}: {exc}") from None
    if opt.choices and value not in opt.choices:
        raise SoakUsageError(f"{opt.flag} / {opt.name} = {value!r}: choose one of "
                             f"{', '.join(opt.choices)}")
    return value


def _recording(text: str | None, feed: str, root: Path) -> Path | None:
    if not text:
        return None
    if feed != "replay":
        raise SoakUsageError(f"--soak-recording / soak_recording = {text!r}: a recording is "
                             "replayed by the replay feed; it needs --soak-feed replay")
    path = _abs(text, root)
    if not path.is_file():
        raise SoakUsageError(f"--soak-recording / soak_recording = {text!r}: no such file "
                             f"({path})")
    return path


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SoakUsageError(f"--soak-report-tz / soak_report_tz = {name!r}: not an IANA time "
                             "zone (e.g. Asia/Tokyo)") from None
    return name


def _sinks(text: str) -> list[str]:
    sinks = [s.strip() for s in str(text).split(",") if s.strip()]
    bad = [s for s in sinks if s not in SINKS]
    if not sinks or bad:
        raise SoakUsageError(f"--soak-sink / soak_sink = {text!r}: each value must be one of "
                             f"{', '.join(SINKS)}")
    return list(dict.fromkeys(sinks))


def _abs(path: str, root: Path) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else (root / p)


LAST_SEED_FILE = ".last_seed"


def last_seed(run_dir: Path) -> int:
    """The seed the previous session used (`--soak-seed last`)."""
    try:
        return int((run_dir / LAST_SEED_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        raise SoakUsageError(f"--soak-seed last: no previous seed in {run_dir / LAST_SEED_FILE}; "
                             "run once without it first") from None


def remember_seed(run_dir: Path, seed: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / LAST_SEED_FILE).write_text(f"{seed}\n", encoding="utf-8")
