"""What fuzzing the API (tests/integration/test_fuzz.py) found, one test per finding, so each stays fixed."""


def test_a_405_names_the_methods_the_route_takes_in_allow(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_json() == {"error": "The method is not allowed for the requested URL."}


def test_a_post_to_campaign_settings_is_a_405_not_an_unknown_action(client, auth):
    response = client.post("/campaigns/c1/settings", json={}, headers=auth)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT", "HEAD", "OPTIONS"}
    assert client.post("/campaigns/c1/bogus", headers=auth).status_code == 404
    assert client.post("/campaigns/c1/stop", headers=auth).get_json() == {"error": "no campaign with id 'c1'"}
