import fakeredis

from workers.listener import first_sightings


def hangup(uuid):
    return {"type": "CallEnded", "uuid": uuid}


def test_a_result_seen_by_the_other_listener_is_not_published_again():
    redis = fakeredis.FakeRedis()
    first = first_sightings(redis, [hangup("a"), hangup("b"), {"type": "JobResult", "job_uuid": "a"}])
    second = first_sightings(redis, [hangup("b"), hangup("c"), {"type": "JobResult", "job_uuid": "a"}])
    assert [m.get("uuid") or m["job_uuid"] for m in first] == ["a", "b", "a"]
    assert second == [hangup("c")]
