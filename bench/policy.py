"""Campaign policy data for bench.engine (issue 10): the claim part's "with policy" variant and the
hangups part's `--policy` runs.

Claim: contacts get an E.164 number and a zone key at insert (six zones, a tenth of each campaign's
contacts in turn); half the campaigns get calling hours chosen from the clock so that two of the six
zones are open and four closed (the campaigns with hours are the larger half, 75 % of the contacts,
so about half of all contacts are outside their window), a quarter get a cap of two calls per number
per 24 h against a history of past attempts, and a tenth as many numbers as contacts go on DNC lists.
Everything is set-based SQL except the settings themselves (save_settings, as the API stores them).
"""

import statistics
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.fleet_runner import cpu_line, insert_contacts, log, originates_of, percentile, status_counts, wait_until

# (zone key, E.164 prefix, digits after it): one country code or area per zone, at least an hour
# apart in local time all year, so a window can hold two of them and none of the others.
ZONES = (("America/Los_Angeles", "+1310", 7), ("America/New_York", "+1212", 7), ("Europe/London", "+4420", 8),
         ("Asia/Kolkata", "+9122", 8), ("Asia/Tokyo", "+813", 8), ("Australia/Sydney", "+612", 8))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MARGIN_MINUTES = 30  # the windows hold at least this long after the setup
CAP = 2  # max_calls_per_number_24h of the capped campaigns
POLICY_TABLES = ("campaign_settings", "dnc_numbers", "calling_windows", "dialable_backlog")

# Contact i's zone, number and campaign, as SQL over `i` (the same in every statement below).
_ZONE = "((({i}) / 10) % 6 + 1)"
_E164 = (f"(CAST(:prefixes AS text[]))[{_ZONE}] || "
         f"lpad(({{i}})::text, (CAST(:widths AS int[]))[{_ZONE}], '0')")
_CAMPAIGN = ":prefix || lpad(LEAST(floor(:campaigns * sqrt(({i})::float8 / :n)), :campaigns - 1)::int::text, 4, '0')"


def _e164(i):
    return _E164.format(i=i)


def _campaign(i):
    return _CAMPAIGN.format(i=i)


# bench.fleet_runner's CONTACTS_SQL for IVR contacts (campaign k holds about 2k+1 shares), plus
# zone_key and e164.
CONTACTS_SQL = f"""
    INSERT INTO contacts (id, customer_number, campaign_type, gateway_id, status, received_time, campaign_id,
                          start_time, end_time, priority, dial_after, status_changed_at, attempts, zone_key, e164)
    SELECT gen_random_uuid()::text, {_e164('i')}, 'IVR', 'gw1', 'pending',
           now() - interval '1 hour' + i * interval '1 microsecond', {_campaign('i')},
           now() - interval '1 day', now() + interval '1 day', 1 + (i % 10)::smallint,
           now() - interval '1 day', now(), 0, (CAST(:zones AS text[]))[{_ZONE.format(i='i')}], {_e164('i')}
    FROM generate_series(0, :n - 1) AS i
"""
CAMPAIGNS_SQL = """
    INSERT INTO campaigns (id, state)
    SELECT :prefix || lpad(k::text, 4, '0'), 'running' FROM generate_series(0, :campaigns - 1) AS k
    ON CONFLICT (id) DO NOTHING
"""
# A tenth as many entries as contacts: 2 % of the contacts' numbers on the global list, 2 % on their
# own campaign's list, 2 % on another campaign's list (which blocks nothing), the rest numbers of
# nobody, a third of those on campaign lists.
DNC_SQL = f"""
    INSERT INTO dnc_numbers (number, campaign_id, reason)
    SELECT {_e164('i')}, '', 'bench: global' FROM generate_series(0, :n - 1) AS i WHERE i % 50 = 1
    UNION ALL
    SELECT {_e164('i')}, {_campaign('i')}, 'bench: own campaign' FROM generate_series(0, :n - 1) AS i WHERE i % 50 = 2
    UNION ALL
    SELECT {_e164('i')}, {_campaign('(i + :n / 2) % :n')}, 'bench: other campaign'
    FROM generate_series(0, :n - 1) AS i WHERE i % 50 = 3
    UNION ALL
    SELECT '+1999' || lpad(j::text, 7, '0'), CASE WHEN j % 3 = 0 THEN {_campaign('j % :n')} ELSE '' END,
           'bench: nobody'
    FROM generate_series(0, :others - 1) AS j
    ON CONFLICT DO NOTHING
"""
# Past attempts in the last 24 h: 5 % of the numbers were called twice (at the cap of the capped
# campaigns), 5 % once.
ATTEMPTS_SQL = """
    INSERT INTO call_attempts (contact_id, attempt, uuid, job_uuid, switch_name, kind, created_at, dial_time,
                               hangup_time, hangup_cause, result_source, disposition, number)
    SELECT c.id, a, gen_random_uuid()::text, gen_random_uuid()::text, 'sim', 'IVR',
           now() - a * interval '3 hours', now() - a * interval '3 hours', now() - a * interval '3 hours',
           'NO_ANSWER', 'hangup', 'NO_ANSWER', c.e164
    FROM contacts c CROSS JOIN LATERAL generate_series(1, CASE WHEN right(c.e164, 1) = '3' THEN 2 ELSE 1 END) AS a
    WHERE c.campaign_id LIKE :prefix || '%' AND right(c.e164, 2) IN ('03', '13', '23', '33', '43', '07', '17', '27',
                                                                     '37', '47')
"""
SHARES_SQL = """
    SELECT count(*) AS pending,
           count(*) FILTER (WHERE w.campaign_id IS NOT NULL AND NOT coalesce(w.open_until > now(), false)) AS outside,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.number = c.e164
                                          AND d.campaign_id IN ('', c.campaign_id))) AS listed
    FROM contacts c LEFT JOIN calling_windows w ON w.campaign_id = c.campaign_id AND w.zone_key = c.zone_key
    WHERE c.status = 'pending'
"""
AT_CAP_SQL = """
    SELECT count(*) FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
    JOIN campaign_settings s ON s.campaign_id = k.id AND s.version = k.settings_version
    WHERE c.status = 'pending' AND s.settings ? 'max_calls_per_number_24h'
      AND (s.settings ->> 'max_calls_per_number_24h')::int <= (
          SELECT count(*) FROM call_attempts x WHERE x.number = c.e164 AND x.created_at > now() - interval '24 hours')
"""
# What a claim took that it should not have (all zero when the claim statement keeps the policy).
CHECK_SQL = """
    SELECT count(*) AS claimed,
           count(*) FILTER (WHERE s.settings ? 'calling_hours') AS windowed,
           count(*) FILTER (WHERE w.campaign_id IS NOT NULL AND NOT coalesce(w.open_until > now(), false)) AS closed,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.number = c.e164
                                          AND d.campaign_id IN ('', c.campaign_id))) AS listed,
           count(*) FILTER (WHERE (s.settings ->> 'max_calls_per_number_24h')::int <= (
               SELECT count(*) FROM call_attempts x
               WHERE x.number = c.e164 AND x.created_at > now() - interval '24 hours')) AS over_cap
    FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
    LEFT JOIN campaign_settings s ON s.campaign_id = k.id AND s.version = k.settings_version
    LEFT JOIN calling_windows w ON w.campaign_id = c.campaign_id AND w.zone_key = c.zone_key
    WHERE c.id = ANY(CAST(:ids AS text[]))
"""


def _zone_params():
    return {"zones": [z for z, _, _ in ZONES], "prefixes": [p for _, p, _ in ZONES],
            "widths": [w for _, _, w in ZONES]}


def clear(engine):
    """Empty the policy tables Scratch.truncate leaves alone, so no other part sees this data."""
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(POLICY_TABLES)))


def vacuum_analyze(engine, *tables):
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    return time.perf_counter() - started


def insert_claim_contacts(engine, n, campaigns, prefix):
    """`n` pending IVR contacts over `campaigns` running campaigns, each with an E.164 number and one
    zone key of ZONES; returns seconds taken."""
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(CAMPAIGNS_SQL), {"prefix": prefix, "campaigns": campaigns})
        connection.execute(text(CONTACTS_SQL), {"prefix": prefix, "campaigns": campaigns, "n": n,
                                                **_zone_params()})
    return time.perf_counter() - started


def calling_hours_now(now):
    """Hours (the same every day) open now in two ZONES next to each other in local time and
    closed in the other four, with no change for MARGIN_MINUTES; returns (["HH:MM", "HH:MM"], open
    zones). No window crosses local midnight, so pairs are taken in order of the local time of day;
    each candidate is checked with the dialer's own window_state (a DST change may spoil one)."""
    from dialer.rules.calling_hours import window_state

    local = sorted((_minute_of_day(now, zone), zone) for zone, _, _ in ZONES)
    for _, (first, first_zone), (last, last_zone) in sorted(
            (b[0] - a[0], a, b) for a, b in zip(local, local[1:], strict=False)):
        hours = [_hhmm(max(0, first - MARGIN_MINUTES)), _hhmm(min(24 * 60, last + MARGIN_MINUTES + 1))]
        states = {zone: window_state(dict.fromkeys(DAYS, hours), [], zone, None, now) for zone, _, _ in ZONES}
        if all(state.open == (zone in (first_zone, last_zone))
               and state.changes_at - now >= timedelta(minutes=MARGIN_MINUTES) for zone, state in states.items()):
            return hours, {first_zone, last_zone}
    raise RuntimeError(f"no calling hours open in two of the bench's zones at {now}; run it a little later")


def _minute_of_day(now, zone):
    moment = now.astimezone(ZoneInfo(zone))
    return moment.hour * 60 + moment.minute


def _hhmm(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def add_claim_policy(engine, sessions, n, campaigns, prefix, repeats):
    """The policy of the claim part's second variant, on the contacts insert_claim_contacts made.
    Returns the refresh_windows times: `first` (every pair stale), `none_stale` (`repeats` runs)."""
    from dialer.adapters.db import transaction
    from dialer.flows.policy_store import save_settings
    from dialer.flows.windows import note_pairs, refresh_windows

    hours, open_zones = calling_hours_now(datetime.now(UTC))
    documents = {}
    for k in range(campaigns):
        document = {}
        if k >= campaigns // 2:
            document["calling_hours"] = dict.fromkeys(DAYS, hours)
        if k % 4 == 1:
            document["max_calls_per_number_24h"] = CAP
        if document:
            documents[f"{prefix}{k:04d}"] = document
    started = time.perf_counter()
    with transaction(sessions) as session:
        for campaign_id, document in documents.items():
            save_settings(session, campaign_id, document)
    saved = time.perf_counter() - started
    windowed = sum(1 for d in documents.values() if "calling_hours" in d)
    capped = sum(1 for d in documents.values() if "max_calls_per_number_24h" in d)
    log(f"claim+policy: settings of {len(documents)} campaigns saved in {saved:.1f} s: {windowed} with calling "
        f"hours {hours[0]}-{hours[1]} every day (open now in {', '.join(sorted(open_zones))}; closed in the "
        f"other {len(ZONES) - len(open_zones)} zones), {capped} with max_calls_per_number_24h {CAP}")

    started = time.perf_counter()
    others = max(0, n // 10 - 3 * (n // 50))
    with engine.begin() as connection:
        listed = connection.execute(text(DNC_SQL), {"prefix": prefix, "campaigns": campaigns, "n": n,
                                                    "others": others, **_zone_params()}).rowcount
        attempts = connection.execute(text(ATTEMPTS_SQL), {"prefix": prefix}).rowcount
    with transaction(sessions) as session:
        pairs = session.execute(text("SELECT DISTINCT campaign_id, zone_key FROM contacts "
                                     "WHERE status = 'pending'")).all()
        note_pairs(session, [tuple(pair) for pair in pairs])
    vacuumed = vacuum_analyze(engine, "dnc_numbers", "call_attempts", "calling_windows", "campaigns",
                              "campaign_settings")
    log(f"claim+policy: {listed:,} DNC entries, {attempts:,} past attempts, {len(pairs):,} (campaign, zone key) "
        f"pairs noted in {time.perf_counter() - started - vacuumed:.1f} s; VACUUM ANALYZE {vacuumed:.1f} s")

    with transaction(sessions) as session:  # the first tick after intake: every pair is new
        started = time.perf_counter()
        stale = refresh_windows(session, {})
        first = time.perf_counter() - started
    none_stale = []
    for _ in range(repeats):
        session = sessions()
        try:
            started = time.perf_counter()
            left = refresh_windows(session, {})
            none_stale.append(time.perf_counter() - started)
        finally:
            session.rollback()
            session.close()
    vacuum_analyze(engine, "calling_windows")
    log(f"claim+policy: refresh_windows with all {stale:,} pairs stale {first * 1000:.0f} ms; with none stale "
        f"(found {left}) median {statistics.median(none_stale) * 1000:.1f} ms, "
        f"p95 {percentile(none_stale, 95) * 1000:.1f} ms")
    _log_shares(engine)
    return SimpleNamespace(first=first, pairs=stale, none_stale=none_stale, hours=hours, open_zones=open_zones)


def _log_shares(engine):
    with engine.connect() as connection:
        shares = connection.execute(text(SHARES_SQL)).one()
        at_cap = connection.execute(text(AT_CAP_SQL)).scalar()
        changes = connection.execute(text("SELECT min(changes_at) - now() FROM calling_windows")).scalar()
    pending = max(shares.pending, 1)
    log(f"claim+policy: of {shares.pending:,} pending contacts {shares.outside / pending:.0%} are outside their "
        f"calling window, {shares.listed / pending:.1%} on a DNC list that applies, {at_cap / pending:.1%} at "
        f"their campaign's cap; no window changes for {changes.total_seconds() / 60:.0f} min")


def check_claims(session, contact_ids):
    """Counts of the claimed contacts: claimed, windowed (of campaigns with hours), and those that
    should not have been claimed: closed, listed, over_cap."""
    return session.execute(text(CHECK_SQL), {"ids": list(contact_ids)}).one()._asdict()


# hangups with a retry policy ----------------------------------------------------------------------

ANSWERED_NUMBER = "15550000001"  # bench.engine's LONG_NUMBER: answered after 1 s, talking an hour
BUSY_NUMBER = "15550000006"  # rings until the bench ends it with USER_BUSY (class BUSY)
UNANSWERED_NUMBER = "15550000007"  # rings until the bench ends it with NO_ANSWER (class NO_ANSWER)
RETRY_POLICY = {"retries": {"BUSY": {"retries": 2, "after_seconds": 3600},
                            "NO_ANSWER": {"retries": 1, "after_seconds": 3600, "backoff": 2.0}},
                "max_attempts": 5}
CAUSES = {ANSWERED_NUMBER: "NORMAL_CLEARING", BUSY_NUMBER: "USER_BUSY", UNANSWERED_NUMBER: "NO_ANSWER"}

RECORDED_SQL = "SELECT count(*) FROM contacts WHERE campaign_id LIKE :p AND disposition IS NOT NULL"


def mixed_hangups(run, scratch, n, timeout, with_policy):
    """One hangups measurement on mixed traffic in a running fleet: half the calls answered, a
    quarter ringing until ended busy, a quarter until ended unanswered, all ended at once. With
    `with_policy` the campaign retries BUSY and NO_ANSWER (an hour later, so nothing is redialed
    while measuring). Returns (results recorded per second, note)."""
    from dialer.adapters.db import make_session_factory, transaction
    from dialer.flows.policy_store import save_settings

    prefix = "hpol-" if with_policy else "hmix-"
    label = "hangups+retry policy" if with_policy else "hangups mixed, no policy"
    # The last run's results delivered to the VC first, so this run has the machine to itself.
    wait_until(lambda: not scratch.scalar("SELECT count(*) FROM outbox WHERE status = 'pending'"), timeout=120,
               interval=0.25, message="the outbox to drain")
    scratch.truncate()
    clear(scratch.engine)
    run.switch.reset()  # forgets the earlier originates and outcomes
    run.switch.set_outcome(ANSWERED_NUMBER, "answered", 1.0, 3600.0)
    run.switch.set_outcome(BUSY_NUMBER, "busy", 3600.0)
    run.switch.set_outcome(UNANSWERED_NUMBER, "busy", 3600.0)  # its cause is the bench's kill
    if with_policy:
        with transaction(make_session_factory(scratch.engine)) as session:
            save_settings(session, prefix + "0000", RETRY_POLICY)
    busy, unanswered = n // 4, n // 4
    answered = n - busy - unanswered
    log(f"{label}: {answered:,} calls answered, {busy:,} ringing then busy, {unanswered:,} ringing then "
        f"unanswered" + (f"; campaign policy {RETRY_POLICY}" if with_policy else ""))
    for count, number in ((answered, ANSWERED_NUMBER), (busy, BUSY_NUMBER), (unanswered, UNANSWERED_NUMBER)):
        insert_contacts(scratch.engine, count, prefix=prefix, number=number)
    wait_until(lambda: len(originates_of(run.switch, prefix)) >= n, timeout=timeout, interval=0.25,
               message=f"{n} originates")
    wait_until(lambda: _all_up(run.switch, n), timeout=60, interval=0.5, message="every call up")
    wait_until(lambda: scratch.scalar("SELECT count(*) FROM call_attempts WHERE dial_time IS NOT NULL") >= n,
               timeout=120, interval=0.25, message="every originate to be recorded as accepted")
    dialed = status_counts(scratch, prefix).get("dialed", 0)
    meter = run.cpu.start()
    started = time.time()
    run.switch._call(_end_calls, run.switch.switch)
    emitted = time.time()
    wait_until(lambda: scratch.scalar(RECORDED_SQL, p=prefix + "%") >= dialed, timeout=timeout, interval=0.05,
               message="every result to be recorded")
    finished = time.time()
    wall, used = meter.stop()
    per_s = dialed / (finished - started)
    retried = scratch.scalar("SELECT count(*) FROM contacts WHERE campaign_id LIKE :p AND status = 'pending'",
                             p=prefix + "%")
    dispositions = dict(scratch.rows("SELECT disposition, count(*) FROM contacts WHERE campaign_id LIKE :p "
                                     "GROUP BY disposition ORDER BY disposition", p=prefix + "%"))
    log(f"{label}: {dialed:,} calls ended (the simulator took {emitted - started:.2f} s to emit); all recorded "
        f"after {finished - started:.2f} s: {per_s:,.0f}/s; dispositions {dispositions}; statuses "
        f"{status_counts(scratch, prefix)} ({retried:,} back to pending for a retry)")
    log(f"{label}: " + cpu_line(wall, used))
    if with_policy:
        clear(scratch.engine)
    return per_s, f"{dialed:,} results in {finished - started:.2f} s, {retried:,} retries scheduled"


def _all_up(switch, n):
    """Every call live: the answered ones answered, the others ringing."""
    calls = switch.live_calls()
    return len(calls) >= n and all(c.state == "ACTIVE" for c in calls if c.number == ANSWERED_NUMBER)


def _end_calls(core):
    """On the simulator's loop: end every live call with its number's cause (as hupall does with one)."""
    for call_uuid in list(core.calls):
        call = core.calls.get(call_uuid)
        if call is not None:
            core.kill(call_uuid, CAUSES.get(call.number, "NORMAL_CLEARING"))
