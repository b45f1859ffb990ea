"""The bodies the dialer sends the voice connector (documented in the README, "Messages to the VC")."""

import time
import uuid

from dialer.rules import states


def _iso(value):
    return value.isoformat() if value is not None else None


def call_details(contact, esl_host, service_identifier):
    """Spec 001 "Call details", POSTed to /fs-message/startprocess to reserve an agent."""
    if contact.routing_mode == "QUEUE" and contact.queue_name:
        queue, queue_type = contact.queue_name, "NAME"
    else:
        queue, queue_type = contact.resource_id or "", "ID"
    return {
        "callingNumber": contact.customer_number,
        "queue": queue,
        "queueType": queue_type,
        "callUid": contact.id,
        "eslHost": esl_host,
        "serviceIdentifier": contact.service_identifier or service_identifier,
        "direction": "OUTBOUND",
    }


def _call(contact, message_id):
    """What every message about a call says: which call, whose, through which agent."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "callUid": contact.id,
        "callId": contact.call_uuid,
        "customerNumber": contact.customer_number,
        "serviceIdentifier": contact.service_identifier,
        "agent": contact.agent,
        "queue": contact.agent_queue,
    }


def call_result(contact, message_id=None, retry_at=None):
    """The delivery notification for the CCM: one attempt's result, for IVR and agent calls alike.

    `attempt` counts from 1; `final` is false when the campaign's policy dials the contact again
    (at `retryAt`; its `status` is then `pending`).
    """
    body = {
        **_call(contact, message_id),
        "campaignId": contact.campaign_id,
        "campaignContactId": contact.campaign_contact_id,
        "campaignType": contact.campaign_type,
        "status": contact.status if retry_at is None else states.PENDING,
        "callResult": contact.call_result,
        "billsec": contact.billsec or 0,
        "dialTime": _iso(contact.dial_time),
        "answerTime": _iso(contact.answer_time),
        "hangupTime": _iso(contact.hangup_time),
        "attempt": contact.attempts,
        "disposition": contact.disposition,
        "final": retry_at is None,
    }
    if retry_at is not None:
        body["retryAt"] = _iso(retry_at)
    return body


def recording_link(contact, url_template, message_id=None):
    """Call information for the CX's recording link (answered agent calls)."""
    return {**_call(contact, message_id), "recordingUrl": url_template.format(uuid=contact.call_uuid or contact.id)}


def end_chat(contact, reason, message_id=None):
    """Spec 001 END_CHAT: the CCM closes the conversation and frees the reserved agent."""
    return {
        "id": message_id or str(uuid.uuid4()),
        "callUid": contact.id,
        "header": {
            "channelData": {
                "channelCustomerIdentifier": contact.customer_number,
                "serviceIdentifier": contact.service_identifier,
                "language": {},
                "timestamp": int(time.time() * 1000),
                "securityInfo": {},
                "intent": "END_CHAT",
                "sender": {"id": contact.id, "senderName": "EFSWITCH_DIALER", "type": "IVR"},
            },
        },
        "body": {"type": "PLAIN", "markdownText": reason, "callResult": contact.call_result,
                 "agent": contact.agent},
    }


def is_agent(contact):
    return contact.campaign_type == states.AGENT
