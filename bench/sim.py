"""python -m bench.sim: how fast the switch simulator accepts originates and delivers events.

Runs the simulator as its own process (python -m sim.switch) so client and server get a core each,
then, over raw sockets:
1. pipelines bgapi originates (long answered calls) and counts the +OK Job-UUID replies: originates/s;
2. with those calls still alive (10,000 by default), one client subscribes to the channel events
   while another keeps originating short answered calls: events/s delivered to the subscriber.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import psutil

from sim.switch.control import send
from sim.testing import free_port

CHANNEL_EVENTS = (
    "CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_HANGUP "
    "CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB"
)
LONG_CALL, SHORT_CALL = "5550000", "5551000"
REPLY = b"Reply-Text: +OK Job-UUID"



def start_simulator(port, control_port):
    command = [
        sys.executable,
        "-m",
        "sim.switch",
        "--port",
        str(port),
        "--control-port",
        str(control_port),
        "--max-sessions",
        "1000000",
        "--sps",
        "1000000",
        "--seed",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", control_port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the simulator did not start")


def login(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    read_until(sock, b"auth/request\n\n")
    sock.sendall(b"auth ClueCon\n\n")
    read_until(sock, b"+OK accepted\n\n")
    return sock


def read_until(sock, marker):
    data = b""
    while marker not in data:
        data += sock.recv(65536)
    return data


def originate_commands(count, number):
    return [
        (
            f"bgapi originate {{origination_uuid={uuid.uuid4()},dialer_contact_id={i},"
            f"dialer_campaign_id=bench}}sofia/gateway/gw1/{number} 6666 XML default\n"
            f"Job-UUID: {uuid.uuid4()}\n\n"
        ).encode()
        for i in range(count)
    ]


def pipeline(sock, commands, batch=500):
    """Send every command (in batches, while reading) and wait for all their replies; seconds taken."""
    replies = 0
    reader_done = threading.Event()

    def read_replies():
        nonlocal replies
        tail = b""
        while replies < len(commands):
            chunk = sock.recv(1 << 20)
            replies += (tail + chunk).count(REPLY)
            tail = chunk[-len(REPLY) :]
        reader_done.set()

    started = time.perf_counter()
    threading.Thread(target=read_replies, daemon=True).start()
    for start in range(0, len(commands), batch):
        sock.sendall(b"".join(commands[start : start + batch]))
    reader_done.wait()
    return time.perf_counter() - started


class Drain(threading.Thread):
    """Reads a socket until it closes, counting event frames (Content-Type right after the length)."""

    MARKER = b"Content-Type: text/event-plain\n"

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.frames, self.received = sock, 0, 0

    def run(self):
        tail = b""
        while chunk := self.sock.recv(1 << 20):
            self.received += len(chunk)
            self.frames += (tail + chunk).count(self.MARKER)
            tail = chunk[-len(self.MARKER) :]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.sim", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000, help="originates to pipeline; they stay alive")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the event measurement")
    options = parser.parse_args(argv)
    port, control_port = free_port(), free_port()
    simulator = start_simulator(port, control_port)
    try:
        send(f"outcome {LONG_CALL} answered 1 3600", control_port)
        send(f"outcome {SHORT_CALL} answered 0.01 0.05", control_port)
        cpu = psutil.Process(simulator.pid)
        report_originates(port, options.calls, cpu)
        alive = int(send("stats", control_port).split('"live_calls": ')[1].split(",")[0])
        report_events(port, options.seconds, alive, cpu)
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


def cpu_seconds(process):
    times = process.cpu_times()
    return times.user + times.system


def report_originates(port, calls, simulator_cpu):
    sock = login(port)
    commands = originate_commands(calls, LONG_CALL)
    cpu_before = cpu_seconds(simulator_cpu)
    seconds = pipeline(sock, commands)
    cpu = cpu_seconds(simulator_cpu) - cpu_before
    print(
        f"originates accepted: {calls} in {seconds:.2f} s = {calls / seconds:,.0f}/s "
        f"({calls / cpu:,.0f} per simulator CPU-second; bgapi pipelined over one raw socket)"
    )
    sock.close()


def report_events(port, seconds, alive, simulator_cpu):
    """A closed loop: the driver keeps originating short calls (7 events each) as long as the
    subscriber is at most a few thousand events behind, so the rate is what the switch can deliver."""
    subscriber = login(port)
    subscriber.sendall(f"event plain {CHANNEL_EVENTS}\n\n".encode())
    read_until(subscriber, b"+OK event listener enabled plain\n\n")
    events = Drain(subscriber)
    events.start()
    driver = login(port)
    Drain(driver).start()  # the +OK Job-UUID replies, read and forgotten
    batches = [b"".join(originate_commands(500, SHORT_CALL)) for _ in range(int(seconds * 10) + 10)]
    stop = threading.Event()

    def drive():
        for sent, batch in enumerate(batches, start=1):
            while events.frames < 7 * 500 * (sent - 3) and not stop.is_set():
                time.sleep(0.001)
            if stop.is_set():
                return
            driver.sendall(batch)

    threading.Thread(target=drive, daemon=True).start()
    time.sleep(0.5)  # warm up
    before = (events.frames, events.received, cpu_seconds(simulator_cpu), time.perf_counter())
    time.sleep(seconds)
    frames, received = events.frames - before[0], events.received - before[1]
    cpu, elapsed = cpu_seconds(simulator_cpu) - before[2], time.perf_counter() - before[3]
    stop.set()
    print(
        f"events delivered: {frames} in {elapsed:.2f} s = {frames / elapsed:,.0f}/s "
        f"({frames / cpu:,.0f} per simulator CPU-second; {received / elapsed / 1e6:.1f} MB/s; event plain, "
        f"the 7 channel event types) with {alive} calls alive"
    )


if __name__ == "__main__":
    main()
