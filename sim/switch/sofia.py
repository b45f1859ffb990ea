"""`sofia status gateway [<name>]`: one gateway's status, or the table of them all, formatted like
FreeSWITCH 1.10.12's mod_sofia (esl-transcripts/04_sofia_gateway_status.txt)."""

import time

RULE = "=" * 97


def sofia(switch, args):
    words = args.split()
    if words[:2] != ["status", "gateway"]:
        return "-ERR the simulator only knows 'sofia status gateway [<name>]'\n"
    if len(words) == 2:
        return _gateway_table(switch)
    name = words[2]
    if name not in switch.gateways:
        return "Invalid Gateway!\n"
    return _gateway_status(switch, name)


def _gateway_status(switch, name):
    up = switch.gateways[name] == "UP"
    stats = switch.gateway_counts.get(name)
    rows = [
        ("Name    ", name),
        ("Profile ", "external"),
        ("Scheme  ", "Digest"),
        ("Realm   ", "127.0.0.1:5090"),
        ("Username", "dialer"),
        ("Password", "yes"),
        ("From    ", "<sip:dialer@127.0.0.1:5090>"),
        ("Contact ", f"<sip:gw+{name}@127.0.0.1:5080;transport=udp;gw={name}>"),
        ("Exten   ", "dialer"),
        ("To      ", "sip:dialer@127.0.0.1:5090"),
        ("Proxy   ", "sip:127.0.0.1:5090"),
        ("Context ", "public"),
        ("Expires ", "3600"),
        ("Freq    ", "3600"),
        ("Ping    ", str(int(time.time()))),
        ("PingFreq", "5"),
        ("PingTime", "0.57" if up else "0.00"),
        ("PingState", "1/1/1" if up else "1/0/1"),
        ("State   ", "NOREG"),
        ("Status  ", "UP" if up else "DOWN"),
        ("Uptime  ", f"{int(time.time() - switch.started) if up else 0}s"),
        ("CallsIN ", "0"),
        ("CallsOUT", str(stats[0])),
        ("FailedCallsIN", "0"),
        ("FailedCallsOUT", str(stats[1])),
    ]
    return "\n".join([RULE] + [f"{k}\t{v}" for k, v in rows] + [RULE, ""])


def _gateway_table(switch):
    lines = [
        f"{'Profile::Gateway-Name':>25}\t{'Data':>28}    \tState\tPing Time\tIB Calls(F/T)\tOB Calls(F/T)",
        RULE,
    ]
    failed_sum = total_sum = 0
    for name, status in switch.gateways.items():
        total, failed = switch.gateway_counts.get(name)
        failed_sum, total_sum = failed_sum + failed, total_sum + total
        ping = 0.57 if status == "UP" else 0.0
        data = "sip:dialer@127.0.0.1:5090"
        lines.append(f"{'external::' + name:>25}\t{data:>32}\tNOREG\t{ping:6.2f}\t0/0\t{failed}/{total}")
    lines += [
        RULE,
        f"{len(switch.gateways)} gateways: Inbound(Failed/Total): 0/0,"
        f"Outbound(Failed/Total):{failed_sum}/{total_sum}",
        "",
    ]
    return "\n".join(lines)
