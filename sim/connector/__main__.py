"""`python -m sim.connector`: run the VC simulator until SIGINT or SIGTERM.

Failure modes at runtime: `POST /control {"mode": "down"|"slow"|"error"|"up", "seconds": S}`.
"down" over HTTP needs `seconds` and comes back up by itself after them.
"""

import argparse
import logging
import os
import signal
import threading

from sim.connector import paths
from sim.connector.server import ConnectorSimulator

log = logging.getLogger("sim.connector")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.connector", description="Voice connector simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088, help="0 picks a free port (printed at start)")
    parser.add_argument("--dialer-url", default="http://127.0.0.1:8000")
    parser.add_argument("--dialer-token", default=os.environ.get("DIALER_CONNECTOR_TOKEN"),
                        help="Bearer token for the dialer callback (default: $DIALER_CONNECTOR_TOKEN)")
    parser.add_argument("--agents", type=int, default=5, help="agents in the pool, extensions 2001..")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds from startprocess to callback")
    parser.add_argument("--wrap-up", type=float, default=0.5, help="seconds an agent rests after a call")
    parser.add_argument("--hold", type=float, default=60.0,
                        help="seconds before an agent whose call is never reported is free again")
    parser.add_argument("--seed", type=int, default=None, help="makes the choice of agents repeatable")
    parser.add_argument("--agents-path", default=paths.AGENTS,
                        help=f"where GET answers the agents' figures (default {paths.AGENTS})")
    parser.add_argument("--no-agents-endpoint", dest="agents_endpoint", action="store_false",
                        help="answer the agents query with 404, like a VC without it")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sim = ConnectorSimulator(host=args.host, port=args.port, dialer_url=args.dialer_url,
                             dialer_token=args.dialer_token, agents=args.agents, delay=args.delay,
                             wrap_up=args.wrap_up, hold=args.hold, seed=args.seed, quiet=False,
                             agents_path=args.agents_path, agents_endpoint=args.agents_endpoint)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with sim:
        if not args.dialer_token:
            log.warning("event=no_dialer_token detail=callbacks go without Authorization")
        log.info("event=listening url=%s dialer_url=%s agents=%d agents_path=%s", sim.url, args.dialer_url,
                 args.agents, args.agents_path if args.agents_endpoint else "-")
        stopping.wait()
    log.info("event=stopped")


if __name__ == "__main__":
    main()
