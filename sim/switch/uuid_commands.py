"""uuid_setvar, uuid_transfer and uuid_broadcast, answered as FreeSWITCH 1.10.12 answers them
(src/mod/applications/mod_commands/mod_commands.c at v1.10.12), arguments split as its
switch_separate_string splits them (src/switch_utils.c): on blanks outside single quotes, at most N
words with the last taking the rest, then quotes and backslash escapes removed.
"""

SETVAR_USAGE = "-USAGE: <uuid> <var> [value]\n"
TRANSFER_USAGE = "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
BROADCAST_USAGE = "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
NO_SUCH_CHANNEL = "-ERR No such channel!\n"


def uuid_setvar(switch, args):
    words = separate_string(args, 3) if args else []
    if len(words) in (2, 3) and words[0]:
        call = switch.calls.get(words[0])
        if call is None:
            return NO_SUCH_CHANNEL
        if not words[1]:
            return "-ERR No variable specified\n"
        call.set_variable(words[1], words[2] if len(words) == 3 else None)  # none or empty: removed
        return "+OK\n"
    return SETVAR_USAGE


def uuid_transfer(switch, args):
    words = separate_string(args, 5) if args else []
    if len(words) < 2:
        return TRANSFER_USAGE
    words += [""] * (5 - len(words))
    call = switch.calls.get(words[0]) if words[0] else None
    if call is None:
        return NO_SUCH_CHANNEL
    extension, dialplan, context = words[1:4]
    if extension.startswith("-"):  # -bleg / -both: the call has no other leg here, so it moves itself
        extension, dialplan, context = words[2:5]
    # switch_ivr_session_transfer's defaults: the profile's dialplan and context, extension "service"
    if not switch.routing.transfer(call, extension or "service", dialplan or call.dialplan, context or call.context):
        return "-ERR\n"
    return "+OK\n"


def uuid_broadcast(switch, args):
    words = separate_string(args, 4) if args else []
    if len(words) < 2:
        return BROADCAST_USAGE
    call = switch.calls.get(words[0])
    if call is None:
        return "-ERR invalid uuid\n"
    switch.routing.broadcast(call, words[1], words[2] if len(words) > 2 else "")
    return "+OK Message sent\n"


COMMANDS = {"uuid_setvar": uuid_setvar, "uuid_transfer": uuid_transfer, "uuid_broadcast": uuid_broadcast}


def separate_string(text, limit):
    """switch_separate_string(text, ' ', argv, limit): the words, the last of `limit` taking the rest."""
    spans, state, index, quoted = [], "start", 0, False
    while index < len(text) and len(spans) < limit:
        char = text[index]
        if state == "start":
            spans.append([index, len(text)])
            state = "skip_initial_space"
        elif state == "skip_initial_space":
            if char == " ":
                index += 1
            else:
                state = "find_delimiter"
        elif state == "find_delimiter":
            if char == "\\":
                index += 1
            elif char == "'":
                quoted = not quoted
            elif char == " " and not quoted:
                spans[-1][1] = index
                state = "skip_ending_space"
            index += 1
        elif char == " ":  # skip_ending_space
            index += 1
        else:
            state = "start"
    return [_cleanup(text[start:end]) for start, end in spans]


_UNESCAPED = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


def _cleanup(word):
    """cleanup_separated_string(): leading blanks, quotes and backslash escapes out, trailing blanks
    outside quotes cut; a quote with no partner is kept."""
    out, end, quoted, index = [], 0, False, 0
    word = word.lstrip(" ")
    while index < len(word):
        char = word[index]
        following = word[index + 1] if index + 1 < len(word) else ""
        if char == "\\" and following and (following in "'\"\\" or following in _UNESCAPED):
            out.append(_UNESCAPED.get(following, following))
            end = len(out)
            index += 2
            continue
        if char == "'" and (quoted or "'" in word[index + 1 :]):
            quoted = not quoted
            if quoted:
                end = len(out)
        else:
            out.append(char)
            if char != " " or quoted:
                end = len(out)
        index += 1
    return "".join(out[:end])
