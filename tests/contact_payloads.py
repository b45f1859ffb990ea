"""Contact payloads for intake tests: the spec's example (001, "Campaign contact") and a flat one."""

import copy
import uuid

# 001_...txt "Campaign contact", JSON-ified. The spec's placeholder campaignType "TYPE" is AGENT here
# (the example carries the agent fields: PROGRESSIVE, QUEUE, a resourceId).
SPEC_EXAMPLE = {
    "id": "aba035c8-b9a9-4d9b-ae40-6fc9a9c02c07",
    "header": {
        "channelData": {
            "channelCustomerIdentifier": "1001",
            "serviceIdentifier": "1218",
            "additionalAttributes": [],
        },
        "customer": {"_id": "61c2b22725dadf1a1050c582"},
        "shedulingMetaData": {
            "scheduledDatetime": "2023-04-10T22:55:00+03:00",
            "campaignId": "123456789",
            "campaignType": "AGENT",
            "gatewayId": "4d995f13-f90a-4bc9-8045-23809a34f82e",
            "campaignContactId": "contact-123",
            "startTime": "2023-04-10T09:00:01+03:00",
            "endTime": "2023-04-10T20:00:01+03:00",
            "priority": "1",
            "ivr": "6666",
            "dialingMode": "PROGRESSIVE",
            "routingMode": "QUEUE",
            "resourceId": "7bn473-c34de35c-v54nv5u43-5dlh68c",
            "queueName": "",
            "webhookId": "KL9DF2",
            "agent": None,
            "queue": None,
        },
    },
    "body": {"type": "PLAIN", "markdownText": "Hello Customer"},
}

FLAT_EXAMPLE = {
    "id": "3f0c1b2e-0d1c-4a53-9a3e-2f1d7c6b5a40",
    "customer_number": "+15550001",
    "campaign_id": "summer-ivr",
    "campaign_type": "IVR",
    "gateway_id": "gw1",
    "campaign_contact_id": "cc-7",
    "start_time": "2030-01-01T09:00:00+00:00",
    "end_time": "2030-01-01T17:00:00+00:00",
    "scheduled_time": "2030-01-01T08:00:00+00:00",
    "priority": 3,
    "ivr": "7000",
    "service_identifier": "1218",
}


def spec_example(**scheduling):
    """The spec's example with `shedulingMetaData` fields replaced (None removes one)."""
    payload = copy.deepcopy(SPEC_EXAMPLE)
    meta = payload["header"]["shedulingMetaData"]
    for key, value in scheduling.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return payload


def flat(**fields):
    """The flat example with fields replaced (None removes one)."""
    payload = {**FLAT_EXAMPLE, **fields}
    return {key: value for key, value in payload.items() if value is not None}


def flat_contacts(n, campaign_id="bulk", **fields):
    return [flat(id=str(uuid.uuid4()), campaign_id=campaign_id, **fields) for _ in range(n)]
