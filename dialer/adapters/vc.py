"""HTTP client of the voice connector."""

import requests


class VcUnavailable(Exception):
    """The VC could not be reached, timed out, or answered with an error status."""


class VcClient:
    def __init__(self, base_url, timeout=5.0, session=None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = session or requests.Session()

    def post(self, path, body, message_id=None):
        headers = {"Idempotency-Key": str(message_id)} if message_id is not None else {}
        try:
            response = self._http.post(self.base_url + path, json=body, timeout=self.timeout, headers=headers)
        except requests.RequestException as exc:
            raise VcUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise VcUnavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        return response

    def get_json(self, path, params=None):
        """GET a JSON object (our addition to the VC contract: agents' availability)."""
        try:
            response = self._http.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise VcUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise VcUnavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise VcUnavailable(f"not JSON: {response.text[:200]}") from exc
        if not isinstance(body, dict):
            raise VcUnavailable(f"not a JSON object: {response.text[:200]}")
        return body

    def close(self):
        self._http.close()
