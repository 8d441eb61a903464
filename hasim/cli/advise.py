"""``hasim advise``: the skip forward and sync interval a cluster needs, from the closed-form model.

Why: RFC 6311 section 5.2 asks the new member to skip its ESP counter forward by an amount
"estimated from the outgoing IPsec bandwidth and the frequency of synchronization"; this command
makes that estimate for a survival target and says what it costs (docs/model.md). Bad input
raises ConfigError, which ``hasim.cli.main`` prints as one line with exit code 2.
"""

from __future__ import annotations

import json
import math
from typing import Any

import click

from hasim.analysis.advice import FORMULAS, Advice
from hasim.analysis.advice import advise as compute_advice
from hasim.analysis.detection import DetectionFigures, HeartbeatLoss, detection_figures
from hasim.analysis.failover_model import FailoverParams
from hasim.analysis.skip_policies import master_down_interval
from hasim.errors import ConfigError
from hasim.protocol.membership import DetectionConfig, DetectionStyle


class _Number(click.ParamType):
    """A float or int option whose bad values raise ConfigError (one line, exit 2), not a usage screen."""

    def __init__(self, kind: type[int] | type[float]) -> None:
        self.kind = kind
        self.name = kind.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            return value
        key = param.name if param is not None and param.name else "value"
        try:
            return self.kind(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected a number, got {value!r}") from None


class _Choice(click.ParamType):
    """A choice whose bad values raise ConfigError naming the allowed values."""

    name = "choice"

    def __init__(self, *choices: str) -> None:
        self.choices = choices

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in self.choices:
            return value
        key = param.name if param is not None and param.name else "value"
        raise ConfigError(key, f"must be one of {', '.join(self.choices)}, got {value!r}")


_FLOAT = _Number(float)
_INT = _Number(int)


def _fmt(x: float, digits: int = 6) -> str:
    if isinstance(x, int):
        return str(x)
    if math.isinf(x):
        return "unbounded"
    return f"{x:.{digits}g}"


def render(advice: Advice) -> str:
    """The human-readable answer: figures first, then the formulas they come from."""
    p = advice.params
    s = advice.skip_forward
    esn = "ESN" if p.esn else "no ESN"
    lines = [
        f"inputs: rate {_fmt(p.rate)} pps ({p.traffic}), sync interval {_fmt(p.sync_interval)} s, "
        f"latency {_fmt(p.latency)} s, sync loss {_fmt(p.sync_loss)}, detection {_fmt(p.detection)} s, "
        f"replay window {p.replay_window}, {esn}, target {advice.target_survival}",
        f"staleness at the crash: E[A] = {_fmt(advice.staleness_mean_s)} s; "
        f"packets sent after the last update: E[N] = {_fmt(advice.expected_packets)}",
        f"minimal skip forward: {advice.min_skip_forward}  "
        f"(P(no replay drop) = {advice.survival_at_min_skip:.6f} >= {advice.target_survival})",
        f"margin: {_fmt(advice.margin_packets)} packets over E[N] = {_fmt(advice.margin_s)} s of traffic",
        f"maximal sync interval for skip {s}: {_fmt(advice.max_sync_interval_s)} s",
        f"expected replay drops at skip {s}: {_fmt(advice.expected_drops)} "
        f"(duplicate {_fmt(advice.expected_duplicate_drops)}, too old {_fmt(advice.expected_too_old_drops)})",
        f"counter space: {_fmt(advice.counter_fraction)} of the sequence space per failover; "
        f"{_fmt(advice.failovers_until_rekey)} failovers until a rekey is forced "
        f"(RFC 6311 fallback 2**30: {_fmt(advice.rfc_fallback_failovers)})",
        f"Message IDs ({'periodic' if p.ike_process == 'constant' else 'Poisson'} cluster IKE requests "
        f"{_fmt(p.ike_rate)}/s): "
        f"P(stale) = {_fmt(advice.mid_stale_probability)}; "
        f"strict R5.1-5: P(sync accepted, M1 + {p.ike_window}) = {_fmt(advice.strict_survival_at_window)}, "
        f"minimal M1 increment {advice.strict_min_mid_increment}; "
        f"sync_only: {_fmt(advice.sync_only_survival)}",
        f"inbound ({_fmt(p.rate_in)} pps): E[N_in] = {_fmt(advice.inbound_expected_unseen)} unseen packets "
        f"(lenient: replayable during the grace period); minimal IPSEC_REPLAY_COUNTER_SYNC delta "
        f"{advice.inbound_min_delta}",
        f"estimate policy (skip = rate x time since last sync x {_fmt(advice.estimate_factor)}): "
        f"E[skip] = {_fmt(advice.estimate_expected_skip)}, P(replay drop) = {_fmt(advice.estimate_p_drop)}, "
        f"{_fmt(advice.estimate_failovers_until_rekey)} failovers until a rekey is forced",
        *(_detection_lines(advice.detection_model) if advice.detection_model is not None else []),
        "formulas:",
        *(f"  {name}: {text}" for name, text in FORMULAS.items()),
    ]
    return "\n".join(lines)


def _detection_lines(d: DetectionFigures) -> list[str]:
    """The heartbeat detector: loss-free detection time, and what advertisement loss costs."""
    if d.style == DetectionStyle.VRRP:
        how = f"VRRPv3, RFC 5798 6.1: priority {d.priority}, skew {_fmt(d.skew_s, 8)} s"
    else:
        how = "strongSwan HA heartbeat timeout"
    lines = [
        f"detection ({how}): a crash is detected at the last advertisement received + "
        f"{_fmt(d.master_down_s, 8)} s; crash -> takeover "
        f"{_fmt(d.detection_min_s)}..{_fmt(d.detection_max_s)} s (mean {_fmt(d.detection_mean_s)} s, "
        f"advertisement every {_fmt(d.interval_s)} s)",
    ]
    if d.heartbeat_loss > 0:
        lines.append(
            f"heartbeat loss {_fmt(d.heartbeat_loss)}: {d.losses_to_fail} lost in a row make a false "
            f"failover: {_fmt(d.false_failovers_per_hour)} per hour, split brain "
            f"{_fmt(d.split_brain_mean_s)} s each ({_fmt(d.split_brain_s_per_hour)} s per hour)"
        )
    return lines


# Options that are scenario keys take the scenario's limits (hasim.sim.scenario.sections).
SCENARIO_KEYS = {
    "rate": "traffic.esp_out_pps",
    "inbound_rate": "traffic.esp_in_pps",
    "sync_interval": "cluster.sync_interval_s",
    "latency": "cluster.sync_latency_s",
    "sync_loss": "cluster.sync_loss",
    "advertisement": "cluster.advertisement_interval_s",
    "multiplier": "cluster.master_down_multiplier",
    "window": "policy.replay_window",
    "ike_window": "peer.ike_window_size",
    "estimate_factor": "policy.increment_margin",
    "skip": "policy.skip_packets",
}
_MAX_DETECTION_S = 86400.0
_MAX_IKE_RATE = 1000.0  # cluster-initiated IKE exchanges per second per IKE SA
_MAX_POISSON_MEAN = 5e7  # the Poisson sums take about 12 sqrt(mean) terms per evaluation


def check_like_scenario(values: dict[str, Any], esn: bool) -> None:
    """ConfigError naming the option when a value is outside what its scenario key allows."""
    from hasim.sim.scenario.config import scenario_from_dict, with_overrides

    overrides: dict[str, Any] = {"policy.esn": esn}
    overrides.update({key: values[opt] for opt, key in SCENARIO_KEYS.items() if values.get(opt) is not None})
    try:
        scenario_from_dict(with_overrides({}, overrides))
    except ConfigError as exc:
        option = next((o for o, k in SCENARIO_KEYS.items() if k == exc.key), None)
        if option is None:
            raise
        raise ConfigError(
            f"--{option.replace('_', '-')}", f"{exc.message} (as {exc.key} in a scenario)"
        ) from None


def _required(name: str, value: float | None) -> float:
    if value is None:
        hint = " (or give --advertisement)" if name == "detection" else ""
        raise ConfigError(name, "required" + hint)
    return value


@click.command(name="advise")
@click.option("--rate", type=_FLOAT, default=None, help="Outgoing ESP packets/s per Child SA (required).")
@click.option("--sync-interval", type=_FLOAT, default=None, help="Seconds between sync updates (required).")
@click.option(
    "--detection",
    type=_FLOAT,
    default=None,
    help="Failure detection time in s (required unless --advertisement is given).",
)
@click.option(
    "--advertisement",
    type=_FLOAT,
    default=None,
    help="VRRP advertisement interval in s: detection = multiplier x it + skew (RFC 5798 6.1).",
)
@click.option("--multiplier", type=_INT, default=3, show_default=True, help="VRRP master-down multiplier.")
@click.option("--priority", type=_INT, default=100, show_default=True, help="VRRP priority (for the skew).")
@click.option(
    "--detection-style",
    type=_Choice("vrrp", "strongswan"),
    default="vrrp",
    show_default=True,
    help="VRRPv3 master-down (RFC 5798 6.1) or strongSwan's HA heartbeat timeout.",
)
@click.option(
    "--heartbeat-timeout",
    type=_FLOAT,
    default=2.1,
    show_default=True,
    help="strongSwan HA heartbeat_timeout in s (--detection-style strongswan).",
)
@click.option(
    "--heartbeat-loss", type=_FLOAT, default=0.0, show_default=True, help="P(an advertisement is lost)."
)
@click.option(
    "--heartbeat-burst",
    type=(_FLOAT, _FLOAT),
    default=None,
    help="Gilbert-Elliott advertisement loss instead: P(good->bad) P(bad->good), all lost while bad.",
)
@click.option(
    "--target-survival", type=_FLOAT, default=0.999, show_default=True, help="P(no replay drop) target."
)
@click.option("--window", type=_INT, default=32, show_default=True, help="ESP anti-replay window.")
@click.option("--esn", is_flag=True, help="Child SAs use Extended Sequence Numbers (64-bit).")
@click.option("--latency", type=_FLOAT, default=0.0, show_default=True, help="Sync-channel latency in s.")
@click.option("--sync-loss", type=_FLOAT, default=0.0, show_default=True, help="P(a sync update is lost).")
@click.option(
    "--traffic",
    type=_Choice("constant", "poisson"),
    default="constant",
    show_default=True,
    help="Traffic model.",
)
@click.option(
    "--in-flight",
    type=_Choice("delivered", "lost"),
    default="delivered",
    show_default=True,
    help="Whether sync updates in flight at the crash still reach the standby.",
)
@click.option("--skip", type=_INT, default=None, help="Skip forward to evaluate (default: the minimal one).")
@click.option("--inbound-rate", type=_FLOAT, default=None, help="The peer's ESP packets/s (default: --rate).")
@click.option(
    "--ike-rate", type=_FLOAT, default=0.0, show_default=True, help="Cluster-initiated IKE exchanges/s."
)
@click.option(
    "--ike-process",
    type=_Choice("poisson", "periodic"),
    default="poisson",
    show_default=True,
    help="Cluster IKE requests: a Poisson process, or periodic liveness checks every 1/--ike-rate s.",
)
@click.option("--ike-window", type=_INT, default=1, show_default=True, help="IKE sender window (R5.1-2).")
@click.option(
    "--estimate-factor",
    type=_FLOAT,
    default=2.0,
    show_default=True,
    help="Safety factor of the rate x time-since-sync skip policy shown for comparison.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def advise(
    rate: float | None,
    sync_interval: float | None,
    detection: float | None,
    advertisement: float | None,
    multiplier: int,
    priority: int,
    detection_style: str,
    heartbeat_timeout: float,
    heartbeat_loss: float,
    heartbeat_burst: tuple[float, float] | None,
    target_survival: float,
    window: int,
    esn: bool,
    latency: float,
    sync_loss: float,
    traffic: str,
    in_flight: str,
    skip: int | None,
    inbound_rate: float | None,
    ike_rate: float,
    ike_process: str,
    ike_window: int,
    estimate_factor: float,
    as_json: bool,
) -> None:
    """Recommend the skip forward and sync interval for a replay-drop survival target (RFC 6311 5.2)."""
    check_like_scenario(
        {
            "rate": rate,
            "inbound_rate": inbound_rate,
            "sync_interval": sync_interval,
            "latency": latency,
            "sync_loss": sync_loss,
            "advertisement": advertisement,
            "multiplier": multiplier,
            "window": window,
            "ike_window": ike_window,
            "estimate_factor": estimate_factor,
            "skip": skip,
        },
        esn,
    )
    for name, value, top in (
        ("detection", detection, _MAX_DETECTION_S),
        ("latency", latency, _MAX_DETECTION_S),  # no bound as a scenario key; here it adds to a count
        ("ike_rate", ike_rate, _MAX_IKE_RATE),
    ):
        if value is not None and not (math.isfinite(value) and 0 <= value <= top):
            raise ConfigError(
                f"--{name.replace('_', '-')}", f"got {value}; expected a number in [0, {top:g}]"
            )
    if traffic == "poisson" and rate is not None and sync_interval is not None:
        span = sync_interval + (detection or 0.0) + latency
        mean = max(rate, inbound_rate or 0.0) * span
        if mean > _MAX_POISSON_MEAN:
            raise ConfigError(
                "--rate, --sync-interval, --detection",
                f"a Poisson count with mean {mean:.3g} packets is beyond the exact sums (at most "
                f"{_MAX_POISSON_MEAN:g}); use --traffic constant, which differs by about 1/sqrt(mean)",
            )
    model = None
    if advertisement is not None or detection_style == "strongswan":
        interval = 1.0 if advertisement is None else advertisement
        master_down_interval(interval, multiplier, priority)  # one line naming a bad value
        cfg = DetectionConfig(
            DetectionStyle(detection_style), interval, multiplier, heartbeat_timeout, preempt=True
        )
        if heartbeat_burst is not None:
            loss = HeartbeatLoss(
                model="gilbert_elliott", ge_good_to_bad=heartbeat_burst[0], ge_bad_to_good=heartbeat_burst[1]
            )
        else:
            loss = HeartbeatLoss(heartbeat_loss)
        model = detection_figures(cfg, priority, latency, loss)
        if detection is None:
            detection = model.master_down_s
    params = FailoverParams(
        rate=_required("rate", rate),
        sync_interval=_required("sync_interval", sync_interval),
        detection=_required("detection", detection),
        latency=latency,
        sync_loss=sync_loss,
        traffic="poisson" if traffic == "poisson" else "constant",
        in_flight="lost" if in_flight == "lost" else "delivered",
        inbound_rate=inbound_rate,
        ike_rate=ike_rate,
        ike_process="constant" if ike_process == "periodic" else "poisson",
        ike_window=ike_window,
        replay_window=window,
        esn=esn,
    )
    try:
        result = compute_advice(params, target_survival, skip, estimate_factor, model)
    except ValueError as exc:  # a figure the closed form cannot reach, e.g. a quantile beyond 2**70
        key = "--target-survival" if "target" in str(exc) else "advise"
        raise ConfigError(key, str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
    else:
        click.echo(render(result))
