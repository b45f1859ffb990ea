"""python -m sim.switch: run the switch simulator until SIGINT/SIGTERM (then shut down like FreeSWITCH:
calls end with SYSTEM_SHUTDOWN and every client gets the disconnect notice)."""

import argparse
import asyncio
import logging
import signal

from sim.switch.calls import Switch
from sim.switch.cdr_poster import CdrPoster
from sim.switch.control import ControlServer
from sim.switch.handle import DEFAULT_GATEWAYS
from sim.switch.outcomes import MODES, OutcomeModel
from sim.switch.predictive import PredictiveMix
from sim.switch.routing import Destinations
from sim.switch.server import EslServer

log = logging.getLogger("sim.switch")


def gateway_option(text):
    name, sep, status = text.partition("=")
    if not sep or status.upper() not in ("UP", "DOWN"):
        raise argparse.ArgumentTypeError("expected NAME=UP or NAME=DOWN")
    return name, status.upper()


def credentials_option(text):
    if ":" not in text:
        raise argparse.ArgumentTypeError("expected USER:PASS")
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sim.switch", description="FreeSWITCH ESL switch simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8021)
    parser.add_argument("--password", default="ClueCon")
    parser.add_argument(
        "--gateway",
        type=gateway_option,
        action="append",
        metavar="NAME=UP|DOWN",
        help="a gateway and its state (repeatable); default gw1=UP gw-down=DOWN",
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies every ring/talk time")
    parser.add_argument("--max-sessions", type=int, default=1000)
    parser.add_argument("--sps", type=int, default=1000, help="sessions per second")
    parser.add_argument("--seed", type=int, default=None, help="seed of the outcome model")
    parser.add_argument(
        "--outcomes",
        choices=MODES,
        default="last-digit",
        help="last digit of the number decides (default), a seeded random mix, or the predictive mix",
    )
    mix = parser.add_argument_group("predictive", "the call model of --outcomes predictive (simulated seconds)")
    mix.add_argument("--person-share", type=float, default=0.35, help="a person answers with this probability")
    mix.add_argument("--machine-share", type=float, default=0.10, help="else a machine, with this one")
    mix.add_argument("--busy-share", type=float, default=0.05, help="else busy; else no answer (originate_timeout)")
    mix.add_argument("--ring-min", type=float, default=4.0, help="answers come after a ring time uniform in")
    mix.add_argument("--ring-max", type=float, default=20.0, help="[ring-min, ring-max]")
    mix.add_argument("--talk-mean", type=float, default=60.0, help="talk (or machine message) time: exponential")
    mix.add_argument("--patience", type=float, default=10.0, help="a person on hold hangs up after this")
    where = parser.add_argument_group("extensions", "what answered calls routed to these extensions do (any mode)")
    where.add_argument("--hold-extension", default="dialer-hold", help="answers and parks until uuid_transfer")
    where.add_argument("--abandon-extension", default="dialer-abandon", help="plays the message, hangs up")
    where.add_argument("--abandon-message-seconds", type=float, default=5.0, help="the message's length")
    where.add_argument("--amd-variable", default="amd_result", help="PERSON|MACHINE on answered calls ('' off)")
    parser.add_argument("--control-port", type=int, default=None, help="line-based control port")
    parser.add_argument("--hostname", default=None, help="FreeSWITCH-Hostname of events (default: this host)")
    cdr = parser.add_argument_group("CDRs", "POST each ended call's CDR as mod_json_cdr does (off without --cdr-url)")
    cdr.add_argument("--cdr-url", default=None, help="where to POST; ?uuid=<call uuid> is appended")
    cdr.add_argument("--cdr-credentials", type=credentials_option, default=None, metavar="USER:PASS")
    cdr.add_argument("--cdr-retries", type=int, default=2, help="more attempts after a failed one")
    cdr.add_argument("--cdr-delay", type=float, default=1.0, help="seconds between attempts")
    cdr.add_argument("--cdr-timeout", type=float, default=5.0, help="seconds each attempt may take")
    cdr.add_argument("--cdr-spool", default=None, metavar="DIR", help="a_<uuid>.cdr.json for what failed")
    return parser.parse_args(argv)


def cdr_poster(options):
    if not options.cdr_url:
        return None
    return CdrPoster(
        options.cdr_url,
        options.cdr_credentials,
        options.cdr_retries,
        options.cdr_delay,
        options.cdr_timeout,
        options.cdr_spool,
    )


async def serve(options):
    loop = asyncio.get_running_loop()
    gateways = dict(options.gateway) if options.gateway else dict(DEFAULT_GATEWAYS)
    try:
        predictive = PredictiveMix(
            options.person_share,
            options.machine_share,
            options.busy_share,
            options.ring_min,
            options.ring_max,
            options.talk_mean,
            options.patience,
        )
        destinations = Destinations(
            options.hold_extension, options.abandon_extension, options.abandon_message_seconds, options.amd_variable
        )
    except ValueError as error:
        raise SystemExit(f"python -m sim.switch: {error}") from None
    model = OutcomeModel(seed=options.seed, mode=options.outcomes, predictive=predictive)
    cdr = cdr_poster(options)
    switch = Switch(
        loop,
        gateways,
        options.time_scale,
        options.max_sessions,
        options.sps,
        model,
        options.hostname,
        cdr,
        destinations,
    )
    server = EslServer(switch, options.host, options.port, options.password)
    await server.start()
    control = None
    if options.control_port is not None:
        control = ControlServer(server, options.host, options.control_port)
        await control.start()
    log.info(
        "listening host=%s port=%s control_port=%s gateways=%s time_scale=%s cdr_url=%s",
        options.host,
        server.port,
        control.port if control else None,
        gateways,
        options.time_scale,
        options.cdr_url,
    )
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    if control:
        control.close()
    await server.stop()
    if cdr:
        await asyncio.to_thread(cdr.close)  # the calls shutdown ended are still posted, for a while
    log.info("stopped")


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
