"""SwitchSimulator: the switch simulator in a background thread, driven synchronously from tests.

    with SwitchSimulator(port=0, time_scale=0.001) as sw:
        sw.port; sw.set_gateway("gw1", "DOWN"); sw.kill_call(uuid, "USER_BUSY"); sw.originates

Every method may be called from any thread: it runs on the simulator's own loop and waits for it.
"""

import asyncio
import concurrent.futures
import dataclasses
import threading
from dataclasses import dataclass

from sim.switch.calls import Switch
from sim.switch.cdr_poster import CdrPoster
from sim.switch.control import ControlServer, stats
from sim.switch.outcomes import OutcomeModel
from sim.switch.predictive import PredictiveMix
from sim.switch.routing import Destinations, apply_predictive
from sim.switch.server import EslServer

DEFAULT_GATEWAYS = {"gw1": "UP", "gw-down": "DOWN"}


@dataclass(frozen=True)
class LiveCall:
    uuid: str
    number: str
    gateway: str
    state: str  # RINGING, EARLY or ACTIVE (answered)
    variables: dict


class SwitchSimulator:
    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        password="ClueCon",
        gateways=None,
        time_scale=1.0,
        max_sessions=1000,
        sps=1000,
        seed=None,
        outcome_mode="last-digit",
        control_port=None,
        hostname=None,
        cdr_url=None,
        cdr_credentials=None,
        cdr_retries=2,
        cdr_delay=1.0,
        cdr_timeout=5.0,
        cdr_spool=None,
        cdr_queue_capacity=1000,
        person_share=0.35,
        machine_share=0.10,
        busy_share=0.05,
        ring_min=4.0,
        ring_max=20.0,
        talk_mean=60.0,
        patience=10.0,
        amd_variable="amd_result",
        hold_extension="dialer-hold",
        abandon_extension="dialer-abandon",
        abandon_message_seconds=5.0,
    ):
        self.host, self.password = host, password
        self._port, self._control_port = port, control_port
        self._outcome_mode = outcome_mode
        # the predictive mix (used with outcome_mode="predictive") and the extensions (any mode)
        self._predictive = PredictiveMix(
            person_share, machine_share, busy_share, ring_min, ring_max, talk_mean, patience
        )
        self._destinations = Destinations(hold_extension, abandon_extension, abandon_message_seconds, amd_variable)
        self._options = dict(
            gateways=dict(DEFAULT_GATEWAYS if gateways is None else gateways),
            time_scale=time_scale,
            max_sessions=max_sessions,
            sps=sps,
            model=OutcomeModel(seed=seed, mode=outcome_mode, predictive=self._predictive),
            hostname=hostname,
            destinations=self._destinations,
        )
        self._cdr_options = None  # no url: no CDRs posted
        if cdr_url:  # mod_json_cdr's url, cred, retries, delay, timeout and err-log-dir
            self._cdr_options = dict(
                url=cdr_url,
                credentials=cdr_credentials,
                retries=cdr_retries,
                delay=cdr_delay,
                timeout=cdr_timeout,
                spool=cdr_spool,
                queue_capacity=cdr_queue_capacity,
            )
        self._loop = None
        self._thread = None
        self.switch = self.server = self.control = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self, timeout=10.0):
        ready = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="switch-sim", daemon=True)
        self._thread.start()
        ready.result(timeout)
        return self

    def stop(self, timeout=10.0):
        """Shut down as FreeSWITCH does (calls end, clients get the disconnect notice)."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop = None
        if self.switch.cdr:
            self.switch.cdr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _run(self, ready):
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._open())
        except Exception as error:  # the starting thread re-raises it
            self._loop.close()
            self._loop = None
            ready.set_exception(error)
            return
        ready.set_result(None)
        self._loop.run_forever()
        self._loop.close()

    async def _open(self):
        cdr = CdrPoster(**self._cdr_options) if self._cdr_options else None
        self.switch = Switch(asyncio.get_running_loop(), **self._options, cdr=cdr)
        self.server = EslServer(self.switch, self.host, self._port, self.password)
        try:
            await self.server.start()
            if self._control_port is not None:
                self.control = ControlServer(self.server, self.host, self._control_port)
                await self.control.start()
        except BaseException:
            if cdr:
                cdr.close(timeout=0)
            raise

    async def _shutdown(self):
        if self.control:
            self.control.close()
        await self.server.stop()

    def _call(self, function, *args):
        """Run `function(*args)` on the simulator's loop and return its result."""
        if threading.current_thread() is self._thread:
            return function(*args)
        result = concurrent.futures.Future()

        def run():
            try:
                result.set_result(function(*args))
            except Exception as error:
                result.set_exception(error)

        self._loop.call_soon_threadsafe(run)
        return result.result(10.0)

    # what tests look at ----------------------------------------------------------------------

    @property
    def port(self):
        return self.server.port

    @property
    def control_port(self):
        return self.control.port if self.control else None

    @property
    def originates(self):
        """Every originate received (bgapi and api, valid or not), oldest first."""
        return self._call(lambda: list(self.switch.originates))

    def live_calls(self):
        def snapshot():
            return [
                LiveCall(c.uuid, c.number, c.request.gateway, c.state, dict(c.variables))
                for c in self.switch.calls.values()
            ]

        return self._call(snapshot)

    def stats(self):
        """Counters for a glance: live calls, originates, clients, gateways, limits, CDRs, and the
        predictive ones: person_answers, machine_answers, transfers_to_agent, transfers_to_abandon,
        held_hangups (a person who hung up on hold)."""
        return self._call(stats, self.server)

    @property
    def transfers(self):
        """Every uuid_transfer carried out, oldest first: Transfer(uuid, destination, at_monotonic,
        answered_at_monotonic) (records.py; time.monotonic() values, answered None if it was ringing)."""
        return self._call(lambda: list(self.switch.routing.transfers))

    @property
    def broadcasts(self):
        """Every uuid_broadcast accepted: Broadcast(uuid, path, legs, at_monotonic)."""
        return self._call(lambda: list(self.switch.routing.broadcasts))

    def call_records(self):
        """What happened to each call that was answered with an AMD result, parked on the hold
        extension or transferred: [CallRecord] (records.py: answered_by, held_seconds, ...), copies."""
        return self._call(lambda: [dataclasses.replace(r) for r in self.switch.routing.records.values()])

    def call_record(self, call_uuid):
        """The CallRecord of one call (a copy), or None."""
        return next((r for r in self.call_records() if r.uuid == call_uuid), None)

    def cdr_counts(self):
        """CDRs queued, posted (2xx), failed, spooled, dropped; POST attempts; enabled; None if no cdr_url."""
        return self.switch.cdr.counts() if self.switch.cdr else None

    # what tests do ---------------------------------------------------------------------------

    def reset(self):
        """Back to the configured state between tests, without a word on the wire: calls vanish,
        `originates`, api command counts and outcome overrides are cleared, gateways and limits
        restored, the switch unfrozen and listening, CDR posting on if configured (its counts go on).
        Connected clients stay connected and subscribed."""

        async def apply():
            self.server.freeze(False)
            await self.server.listen_again()
            options = self._options
            self.switch.reset(
                options["gateways"], options["max_sessions"], options["sps"], self._destinations, self._predictive
            )
            self.switch.model.mode = self._outcome_mode
            if self.switch.cdr:
                self.switch.cdr.enabled = True

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10.0)

    def fail_originates(self, cause):
        """Every originate fails at once with `-ERR <cause>` and no channel; None: back to normal."""

        def apply():
            self.switch.forced_failure = cause

        self._call(apply)

    def set_gateway(self, name, status):
        """ "UP" or "DOWN"; None removes the gateway (it becomes unknown: INVALID_GATEWAY)."""

        def apply():
            if status is None:
                self.switch.gateways.pop(name, None)
            else:
                self.switch.gateways[name] = status.upper()

        self._call(apply)

    def set_outcome(self, number, outcome, ring_seconds=None, talk_seconds=None, patience_seconds=None):
        """What happens when `number` is dialed: answered, busy, no_answer, rejected, unallocated,
        no_user_response, or person / machine (answered, with that AMD result; a person held on the
        hold extension hangs up after patience_seconds). Simulated seconds (None: drawn from the model)."""
        self._call(self.switch.model.set_outcome, number, outcome, ring_seconds, talk_seconds, patience_seconds)

    def set_predictive(self, **settings):
        """Switch to the predictive outcome mode with these changes to its mix (person_share,
        machine_share, busy_share, ring_min, ring_max, talk_mean, patience) and extensions
        (hold_extension, abandon_extension, abandon_message_seconds, amd_variable); until reset()."""
        self._call(apply_predictive, self.switch, settings)

    def set_limits(self, max_sessions=None, sps=None):
        def apply():
            limits = self.switch.limits
            limits.max_sessions = limits.max_sessions if max_sessions is None else max_sessions
            limits.sps = limits.sps if sps is None else sps

        self._call(apply)

    def kill_call(self, call_uuid, cause="NORMAL_CLEARING"):
        """End a live call from the switch side (as uuid_kill); False if there is no such call."""
        return self._call(self.switch.kill, call_uuid, cause)

    def hupall(self, cause="MANAGER_REQUEST"):
        self._call(self.switch.hupall, cause)

    def drop_clients(self):
        """Cut every ESL connection at once, without a disconnect notice."""
        self._call(self.server.drop_clients)

    def refuse_connections(self, seconds):
        """New connections are refused for `seconds`; existing ones stay."""
        self._call(self.server.refuse, seconds)

    def set_cdr(self, enabled):
        """Post CDRs of calls that end from now on, or not (calls already ended are still posted)."""
        if self.switch.cdr is None:
            raise ValueError("no cdr_url configured: this switch posts no CDRs")

        def apply():
            self.switch.cdr.enabled = bool(enabled)

        self._call(apply)

    def freeze(self, frozen=True):
        """A hung switch: sockets stay open, nothing is answered or sent until unfrozen."""
        self._call(self.server.freeze, frozen)

