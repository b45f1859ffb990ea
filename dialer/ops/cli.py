"""The operator's command line: `dialer <command>`, gathered from the command modules beside it."""

import click

from dialer.ops import (
    compliance_commands,
    contact_commands,
    dnc_commands,
    fleet_commands,
    policy_commands,
    task_commands,
)


@click.group()
def main():
    """Outbound dialer: operator commands."""


for command in (*contact_commands.COMMANDS, *fleet_commands.COMMANDS, *policy_commands.COMMANDS,
                *dnc_commands.COMMANDS, *task_commands.COMMANDS, *compliance_commands.COMMANDS):
    main.add_command(command)
