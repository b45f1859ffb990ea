"""The one call the VC makes to the dialer: "Agent Details for Dialer" on `/dialer-connector/agent`."""

import requests

from sim.connector.paths import DIALER_AGENT

# Connect fast (a dialer that is down refuses at once), but give a busy dialer time to answer.
TIMEOUT = (2.0, 10.0)


def agent_details(call, agent, queue):
    """The spec's payload; an empty agent and queue mean nobody was free."""
    return {"agent": agent or "", "uuid": call, "queue": queue if agent else ""}


def post_agent_details(dialer_url, token, body):
    """POST `body` once, never retried. Return `(status, None)` or `(None, error)` when nothing answered."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        url = dialer_url.rstrip("/") + DIALER_AGENT
        response = requests.post(url, json=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, None
