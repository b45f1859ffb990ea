"""How the dialer's own marshmallow fields read in JSON Schema, for the OpenAPI document.

The validation schemas (dialer/rules/contact_schema.py, dialer/rules/policy.py) use a few field
classes of their own: a string held to an alphabet (`Text`, `Checked`) that names its rule, a time
with an offset, a priority, a bounded number. A field's rule text says which alphabet or choice
it checks, so `RULES` maps each rule to the JSON Schema that says the same; the rule itself becomes
the property's description. The contact's nested form is the flat form's fields placed at the
paths of `NESTED_PATHS`, so both forms are documented from the one schema that validates them.
"""

from dialer.rules import contact_schema as contact
from dialer.rules import policy
from dialer.rules import validation as v
from dialer.rules.states import CAMPAIGN_TYPES, DIALING_MODES, ROUTING_MODES

RULES = {
    contact.UNSAFE + v.SAFE_ID_RULE: {"type": "string", "pattern": v.SAFE_ID.pattern},
    contact.UNSAFE + v.PHONE_NUMBER_RULE: {"type": "string", "pattern": v.PHONE_NUMBER.pattern},
    contact.UNSAFE + v.EXTENSION_RULE: {"type": "string", "pattern": v.EXTENSION.pattern},
    contact.UNSAFE + v.QUEUE_NAME_RULE: {"type": "string", "pattern": v.QUEUE_NAME.pattern},
    contact.CAMPAIGN_TYPE_RULE: {"type": "string", "enum": list(CAMPAIGN_TYPES)},
    contact.DIALING_MODE_RULE: {"type": "string", "enum": sorted(DIALING_MODES)},
    contact.ROUTING_MODE_RULE: {"type": "string", "enum": list(ROUTING_MODES)},
    contact.TIMEZONE_RULE: {"type": "string"},
    policy.HOURS_RULE: {"type": "array", "minItems": 2, "maxItems": 2,
                        "items": {"type": "string", "pattern": r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}},
    policy.DATE_RULE: {"type": "array", "maxItems": 1000, "items": {"type": "string", "format": "date"}},
    policy.ZONE_RULE: {"type": "string"},
}
TIME = {"type": "string", "format": "date-time"}
PRIORITY = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 10},
                      {"type": "string", "pattern": r"^\s*0*([1-9]|10)\s*$"}]}


def describe_dialer_fields(converter):
    """Teach apispec's field converter the dialer's field classes (see the module docstring)."""
    converter.add_attribute_function(_dialer_field)


def _dialer_field(self, field, ret=None, **kwargs):
    described = _described(field)
    if described and not field.required and isinstance(getattr(field, "parent", None), contact.ContactSchema):
        return _or_absent(described, ret)
    return described


def _described(field):
    if isinstance(field, contact.Time):
        return {**TIME, "description": contact.TIME_RULE}
    if isinstance(field, contact.Priority):
        return {**PRIORITY, "description": contact.PRIORITY_RULE}
    if isinstance(field, policy.Number):
        return {"type": "integer" if field.whole else "number", "minimum": field.low, "maximum": field.high}
    rule = getattr(field, "rule", None)
    if not isinstance(field, (contact.Text, policy.Checked)) or not rule:
        return {}
    described = {**RULES.get(rule, {}), "description": rule}
    if field.allow_none and "enum" in described:
        described["enum"] = [*described["enum"], None]
    return described


def _or_absent(described, ret):
    """An optional contact field may also be "" or null: the contact has no such value
    (ContactSchema.drop_empty_values). The rule's own keywords go into one branch of an anyOf."""
    ret.pop("type", None)
    rule = {key: value for key, value in described.items() if key not in ("type", "description")}
    return {"type": "string", "nullable": True, "anyOf": [rule, {"maxLength": 0}],
            "description": described["description"] + "; empty or null: none"}


def contact_body(converter):
    """One contact: the flat form (the contact table's columns) or the spec's nested form."""
    return {"oneOf": [contact.ContactSchema(), nested_contact(converter)]}  # an instance: fields know their schema


def contact_list_body(converter):
    return {"type": "array", "items": contact_body(converter)}


def nested_contact(converter):
    """The spec's "Campaign contact": ContactSchema's properties at their NESTED_PATHS; other keys are kept."""
    flat = converter.schema2jsonschema(contact.ContactSchema())
    required = set(flat.get("required", ()))
    root = _object()
    for column, path in contact.NESTED_PATHS.items():
        node = root
        for key in path[:-1]:
            if column in required and key not in node["required"]:
                node["required"].append(key)
            node = node["properties"].setdefault(key, _object())
        node["properties"][path[-1]] = flat["properties"][column]
        if column in required:
            node["required"].append(path[-1])
    root["required"] = sorted(set(root["required"]) | {"header"})
    return _drop_empty_required(root)


def _object():
    return {"type": "object", "properties": {}, "required": []}


def _drop_empty_required(node):
    if not node.get("required"):
        node.pop("required", None)
    for inner in node.get("properties", {}).values():
        if inner.get("type") == "object":
            _drop_empty_required(inner)
    return node
