"""Campaign policy (DESIGN.md "Campaign policy"): the settings' shape, defaults and retry schedule.

To be filled in: PolicySchema, parse_policy, effective_policy, next_attempt.
"""


class InvalidPolicy(ValueError):
    """A policy document that does not validate; `fields` maps dotted field names to reasons."""

    def __init__(self, fields):
        super().__init__("; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in fields.items()))
        self.fields = fields


def parse_policy(document):
    """The validated, normalised policy (placeholder: accepts only an empty object until built)."""
    if document != {}:
        raise InvalidPolicy({"_schema": ["campaign settings are not built yet"]})
    return {}
