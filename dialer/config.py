"""Settings read from the environment, in one place.

Every process (web, worker, beat, listener, CLI) calls `load_settings()` once at start-up. A
required value that is missing or malformed stops start-up with a message naming it.
"""

import json
import os
from dataclasses import dataclass, field

from dialer.rules.validation import HOST_RULE, SAFE_ID_RULE, is_extension, is_host, is_safe_id


class ConfigError(Exception):
    """The environment does not describe a runnable dialer; the message says what to set."""


@dataclass(frozen=True)
class SwitchConfig:
    name: str
    host: str
    port: int
    password: str
    capacity: int
    cps: float


@dataclass(frozen=True)
class VcPaths:
    """Paths on the voice connector; the spec names only startprocess."""

    startprocess: str = "/fs-message/startprocess"
    call_result: str = "/fs-message/call-result"
    end_chat: str = "/fs-message/end-chat"
    recording: str = "/fs-message/recording"
    agents: str = "/fs-message/agents"  # ours: GET ?queue=<q> -> {"loggedIn", "ready", "busy", "wrapUp"}


@dataclass(frozen=True)
class PredictiveConfig:
    """Predictive dialing on the switch: where an answered customer waits, where an abandoned one
    hears the safe-harbour message, how long an agent may take, how a machine answer shows."""

    hold_extension: str = "dialer-hold"  # answers and parks (a real switch: a dialplan extension)
    abandon_extension: str = "dialer-abandon"  # plays the message naming the caller, then hangs up
    abandon_seconds: float = 2.0  # answer -> agent deadline (US and UK: 2 s after the greeting)
    machine_variables: tuple = (("amd_result", "MACHINE"), ("avmd_detect", "TRUE"))
    pacing_seconds: float = 2.0  # how often each predictive campaign's pacing is worked out
    # after its dial, when an attempt's outcome is surely known (None: the originate timeout + 5 s)
    settle_seconds: float | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    api_token: str
    connector_token: str
    switches: tuple[SwitchConfig, ...]
    vc_url: str
    default_ivr: str
    dialplan_context: str
    tick_seconds: float = 1.0
    vc_paths: VcPaths = field(default_factory=VcPaths)
    vc_timeout_seconds: float = 5.0
    reservation_timeout_seconds: float = 120.0
    originate_timeout_seconds: int = 60
    queued_lease_seconds: float = 30.0
    service_identifier: str = ""
    recording_url_template: str = "/recordings/{uuid}.wav"
    instance: str = "dialer"
    reconcile_grace_seconds: float = 15.0
    cdr_user: str = ""  # HTTP basic credentials of the switches' mod_json_cdr; empty = CDR intake off
    cdr_password: str = ""
    read_token: str = ""  # optional: may read every route and change nothing
    secret_key: str = ""  # signs the dashboard's session cookies; empty: derived from the API token
    cookie_secure: bool = False  # the session cookie only over HTTPS (set it behind TLS)
    default_region: str = "US"  # of numbers without a country code (ISO 3166)
    default_policy: dict = field(default_factory=dict)  # campaign policy of campaigns without settings
    predictive: "PredictiveConfig" = field(default_factory=lambda: PredictiveConfig())

    @property
    def capacity(self):
        return sum(s.capacity for s in self.switches)

    def switch(self, name):
        for candidate in self.switches:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


REQUIRED = ("DATABASE_URL", "REDIS_URL", "DIALER_API_TOKEN", "DIALER_CONNECTOR_TOKEN", "DIALER_SWITCHES",
            "DIALER_VC_URL")


def load_settings(environ=None):
    env = os.environ if environ is None else environ
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    if missing:
        raise ConfigError("missing required environment variables: " + ", ".join(missing))
    return Settings(
        database_url=env["DATABASE_URL"],
        redis_url=env["REDIS_URL"],
        api_token=env["DIALER_API_TOKEN"],
        connector_token=env["DIALER_CONNECTOR_TOKEN"],
        switches=parse_switches(env["DIALER_SWITCHES"]),
        vc_url=env["DIALER_VC_URL"].rstrip("/"),
        default_ivr=_extension(env, "DIALER_DEFAULT_IVR", "6666"),
        dialplan_context=_host(env, "DIALER_DIALPLAN_CONTEXT", "default"),
        tick_seconds=_number(env, "DIALER_TICK_SECONDS", 1.0, minimum=0.05),
        vc_paths=VcPaths(
            startprocess=env.get("DIALER_VC_STARTPROCESS_PATH", VcPaths.startprocess),
            call_result=env.get("DIALER_VC_CALL_RESULT_PATH", VcPaths.call_result),
            end_chat=env.get("DIALER_VC_END_CHAT_PATH", VcPaths.end_chat),
            recording=env.get("DIALER_VC_RECORDING_PATH", VcPaths.recording),
            agents=env.get("DIALER_VC_AGENTS_PATH", VcPaths.agents),
        ),
        vc_timeout_seconds=_number(env, "DIALER_VC_TIMEOUT_SECONDS", 5.0, minimum=0.1),
        reservation_timeout_seconds=_number(env, "DIALER_RESERVATION_TIMEOUT_SECONDS", 120.0, minimum=1),
        originate_timeout_seconds=int(_number(env, "DIALER_ORIGINATE_TIMEOUT_SECONDS", 60, minimum=1)),
        queued_lease_seconds=_number(env, "DIALER_QUEUED_LEASE_SECONDS", 30.0, minimum=1),
        service_identifier=env.get("DIALER_SERVICE_IDENTIFIER", ""),
        recording_url_template=env.get("DIALER_RECORDING_URL_TEMPLATE", "/recordings/{uuid}.wav"),
        instance=_safe(env, "DIALER_INSTANCE", "dialer"),
        reconcile_grace_seconds=_number(env, "DIALER_RECONCILE_GRACE_SECONDS", 15.0, minimum=0.5),
        read_token=env.get("DIALER_READ_TOKEN", "").strip(),
        secret_key=env.get("DIALER_SECRET_KEY", "").strip(),
        cookie_secure=_flag(env, "DIALER_COOKIE_SECURE"),
        default_region=_region(env),
        default_policy=_default_policy(env),
        predictive=_predictive(env),
        **_cdr_credentials(env),
    )


def _cdr_credentials(env):
    user, password = env.get("DIALER_CDR_USER", ""), env.get("DIALER_CDR_PASSWORD", "")
    if bool(user) != bool(password):
        raise ConfigError("DIALER_CDR_USER and DIALER_CDR_PASSWORD must be set together (or neither: no CDRs)")
    if ":" in user:
        raise ConfigError("DIALER_CDR_USER must not contain ':' (HTTP basic credentials are user:password)")
    return {"cdr_user": user, "cdr_password": password}


def parse_switches(text):
    """`DIALER_SWITCHES`: a JSON list of {"name", "host", "port", "password", "capacity", "cps"}."""
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"DIALER_SWITCHES is not valid JSON: {exc}") from exc
    if not isinstance(items, list) or not items:
        raise ConfigError("DIALER_SWITCHES must be a non-empty JSON list of switches")
    switches = tuple(_switch(item, index) for index, item in enumerate(items))
    names = [s.name for s in switches]
    if len(set(names)) != len(names):
        raise ConfigError("DIALER_SWITCHES has two switches with the same name")
    return switches


def _switch(item, index):
    where = f"DIALER_SWITCHES[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be an object")
    missing = [k for k in ("name", "host", "port", "password", "capacity", "cps") if k not in item]
    if missing:
        raise ConfigError(f"{where} is missing: {', '.join(missing)}")
    if not is_safe_id(str(item["name"])):
        raise ConfigError(f"{where}.name: {SAFE_ID_RULE}")
    if not is_host(str(item["host"])):
        raise ConfigError(f"{where}.host: {HOST_RULE}")
    try:
        switch = SwitchConfig(name=str(item["name"]), host=str(item["host"]), port=int(item["port"]),
                              password=str(item["password"]), capacity=int(item["capacity"]),
                              cps=float(item["cps"]))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: port and capacity must be integers, cps a number ({exc})") from exc
    if switch.capacity < 0 or switch.cps <= 0 or not 0 < switch.port < 65536:
        raise ConfigError(f"{where}: capacity must be >= 0, cps > 0 and port 1..65535")
    return switch


def _flag(env, name):
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _number(env, name, default, minimum):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _extension(env, name, default):
    value = env.get(name, "").strip() or default
    if not is_extension(value):
        raise ConfigError(f"{name} must be a dialplan extension (letters, digits, * # + . _ -), got {value!r}")
    return value


def _safe(env, name, default):
    value = env.get(name, "").strip() or default
    if not is_safe_id(value):
        raise ConfigError(f"{name}: {SAFE_ID_RULE}, got {value!r}")
    return value


def _host(env, name, default):
    value = env.get(name, "").strip() or default
    if not is_host(value):
        raise ConfigError(f"{name}: {HOST_RULE}, got {value!r}")
    return value


def _region(env):
    import phonenumbers

    region = env.get("DIALER_DEFAULT_REGION", "US").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"DIALER_DEFAULT_REGION must be a region code such as US or GB, not {region!r}")
    return region


def _default_policy(env):
    """DIALER_DEFAULT_POLICY: the house rules, the same JSON shape as a campaign's settings."""
    raw = env.get("DIALER_DEFAULT_POLICY", "").strip()
    if not raw:
        return {}
    from dialer.rules.policy import InvalidPolicy, parse_policy

    try:
        return parse_policy(json.loads(raw))
    except (ValueError, InvalidPolicy) as exc:
        raise ConfigError(f"DIALER_DEFAULT_POLICY is not a valid campaign policy: {exc}") from exc


def _predictive(env):
    return PredictiveConfig(
        hold_extension=_extension(env, "DIALER_PREDICTIVE_HOLD_EXTENSION", PredictiveConfig.hold_extension),
        abandon_extension=_extension(env, "DIALER_ABANDON_EXTENSION", PredictiveConfig.abandon_extension),
        abandon_seconds=_number(env, "DIALER_ABANDON_SECONDS", PredictiveConfig.abandon_seconds, minimum=0.1),
        machine_variables=_machine_variables(env),
        pacing_seconds=_number(env, "DIALER_PACING_SECONDS", PredictiveConfig.pacing_seconds, minimum=0.2),
        settle_seconds=_number(env, "DIALER_PACING_SETTLE_SECONDS", None, minimum=0.5),
    )


def _machine_variables(env):
    """DIALER_MACHINE_VARIABLES: `name=VALUE,name=VALUE`: a channel variable with that value (case
    ignored) says a machine answered (`amd_result=MACHINE,avmd_detect=TRUE` by default)."""
    raw = env.get("DIALER_MACHINE_VARIABLES", "").strip()
    if not raw:
        return PredictiveConfig.machine_variables
    pairs = []
    for item in raw.split(","):
        name, _, value = item.strip().partition("=")
        if not is_safe_id(name) or not value.strip():
            raise ConfigError(f"DIALER_MACHINE_VARIABLES: {item!r} is not name=VALUE ({SAFE_ID_RULE})")
        pairs.append((name, value.strip()))
    return tuple(pairs)
