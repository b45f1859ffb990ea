"""What fuzzing the API (tests/integration/test_fuzz.py) found, one test per finding, so each stays fixed."""


def test_a_405_names_the_methods_the_route_takes_in_allow(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_json() == {"error": "The method is not allowed for the requested URL."}
