"""Parsing of the `originate` API argument, the way FreeSWITCH reads it.

`{a=1,b='x y'}sofia/gateway/<gw>/<number> <exten> [<dialplan>] [<context>] [<cid_name>] [<cid_num>]
[<timeout_sec>]`, or `&app(args)` instead of `<exten>`. Values in `{...}` may be single-quoted to hold
spaces or commas; the quotes are not part of the value.
"""

from dataclasses import dataclass, field

USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
    "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)
DEFAULT_ORIGINATE_TIMEOUT = 60.0


class OriginateSyntaxError(ValueError):
    pass


@dataclass
class OriginateRequest:
    arg: str
    variables: dict = field(default_factory=dict)
    endpoint: str = ""
    destination: str = ""
    dialplan: str = "XML"
    context: str = "default"
    timeout: float | None = None

    @property
    def gateway(self):
        parts = self.endpoint.split("/", 3)
        return parts[2] if len(parts) == 4 and parts[:2] == ["sofia", "gateway"] else None

    @property
    def number(self):
        parts = self.endpoint.split("/", 3)
        return parts[3] if len(parts) == 4 else self.endpoint.rsplit("/", 1)[-1]

    @property
    def application(self):
        """(name, args) for a `&app(args)` destination, else None."""
        if not self.destination.startswith("&"):
            return None
        name, _, rest = self.destination[1:].partition("(")
        return name, rest[:-1] if rest.endswith(")") else rest

    @property
    def originate_timeout(self):
        value = self.variables.get("originate_timeout", self.timeout)
        try:
            return float(value) if value is not None else DEFAULT_ORIGINATE_TIMEOUT
        except ValueError:
            return DEFAULT_ORIGINATE_TIMEOUT


def parse_originate(arg):
    """An OriginateRequest, or OriginateSyntaxError when there is no endpoint and destination."""
    text = arg.strip()
    variables = {}
    if text.startswith("{"):
        end = _closing_brace(text)
        variables = parse_variables(text[1:end])
        text = text[end + 1 :]
    words = _join_application_args(text.split())
    if len(words) < 2:
        raise OriginateSyntaxError(arg)
    request = OriginateRequest(arg=arg.strip(), variables=variables, endpoint=words[0], destination=words[1])
    if len(words) > 2:
        request.dialplan = words[2]
    if len(words) > 3:
        request.context = words[3]
    if len(words) > 6:
        request.timeout = words[6]
    return request


def parse_variables(text):
    """`a=1,b='x, y'` -> {"a": "1", "b": "x, y"}, in the order given."""
    variables = {}
    for item in _split_outside_quotes(text, ","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        variables[name.strip()] = value
    return variables


def _closing_brace(text):
    if "'" not in text:
        end = text.find("}")
        if end < 0:
            raise OriginateSyntaxError(text)
        return end
    quoted = False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif char == "}" and not quoted:
            return index
    raise OriginateSyntaxError(text)


def _split_outside_quotes(text, separator):
    if "'" not in text:
        return [item for item in text.split(separator) if item.strip()]
    items, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == separator and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]


def _join_application_args(words):
    """`&playback(a b.wav)` was split on its space; put it back together."""
    if len(words) > 1 and words[1].startswith("&") and "(" in words[1] and not words[1].endswith(")"):
        for end in range(2, len(words)):
            if words[end].endswith(")"):
                return [words[0], " ".join(words[1 : end + 1])] + words[end + 1 :]
    return words
