"""Demo contacts for a fleet on the simulators: three IVR campaigns of different sizes, numbers
whose last digit picks the simulated outcome (0-5 answered, 6 busy, 7 no answer, 8 declined,
9 unallocated)."""

import uuid
from datetime import UTC, datetime, timedelta


def demo_contacts(count):
    now = datetime.now(UTC)
    sizes = {"demo-small": count // 6, "demo-medium": count // 3}
    sizes["demo-large"] = count - sum(sizes.values())
    contacts = []
    for campaign, size in sizes.items():
        for index in range(size):
            contacts.append({
                "id": str(uuid.uuid4()),
                "customer_number": f"+1555{index:06d}",
                "campaign_type": "IVR",
                "gateway_id": "gw1",
                "campaign_id": campaign,
                "start_time": now.isoformat(),
                "end_time": (now + timedelta(hours=2)).isoformat(),
                "priority": 5,
            })
    return contacts
