"""Whether the voice connector answers at all, for the dashboard's health panel. Its contract has
no health route, so any HTTP answer below 500 at its base URL (a 404 included) counts as up."""

import requests

TIMEOUT_SECONDS = 2.0


def vc_state(base_url, timeout=TIMEOUT_SECONDS):
    """"ok", "HTTP <status>" for a server error, or "unreachable: <error class>"."""
    try:
        response = requests.get(base_url.rstrip("/") + "/", timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return f"unreachable: {type(exc).__name__}"
    response.close()
    return "ok" if response.status_code < 500 else f"HTTP {response.status_code}"
