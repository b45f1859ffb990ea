"""Phone numbers in one form, E.164, for do-not-call lists and per-number caps (`phonenumbers`)."""

import phonenumbers


class InvalidNumber(ValueError):
    pass


def to_e164(number, default_region):
    """`number` as E.164 (`+<country><national>`). A number without `+` is read as a number of
    `default_region` (ISO 3166 code, e.g. "US"). Raises InvalidNumber when it cannot be read."""
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {exc}") from exc
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def e164_or_none(number, default_region):
    try:
        return to_e164(number, default_region)
    except InvalidNumber:
        return None


def parsed_or_none(number, default_region):
    """The number parsed (`phonenumbers.PhoneNumber`), or None; `as_e164` writes it."""
    try:
        return phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        return None


def as_e164(parsed):
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
