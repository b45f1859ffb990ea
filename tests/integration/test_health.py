from tests.factories import add_contacts


def test_healthz_answers_without_any_dependency(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_metrics_count_contacts_by_status(client, session):
    add_contacts(session, "c1", 3)
    add_contacts(session, "c1", 2, status="ended")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'dialer_contacts{status="pending"} 3' in text
    assert 'dialer_contacts{status="ended"} 2' in text
    assert "dialer_capacity 10" in text


def test_readyz_reports_an_unreachable_switch_as_degraded(database_url, redis_url, session_factory):
    from api import create_app
    from dialer.config import SwitchConfig
    from tests.conftest import make_settings

    nowhere = (SwitchConfig("sw1", "127.0.0.1", 1, "ClueCon", 10, 10.0),)  # nothing listens on port 1
    response = create_app(make_settings(database_url, redis_url, switches=nowhere)).test_client().get("/readyz")
    body = response.get_json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["switches"]["sw1"].startswith("unreachable")
    assert response.status_code == 503
