"""labdock's stdout callback: the default one, except that a role's argument-spec failure is
one line per wrong variable instead of the whole spec as JSON, a failed assert (our
validate.yml checks) is its message on one line, and a host that does not answer a task
that expects it (`ignore_unreachable`: the maintenance play records it and decides later)
is one line of information instead of a red `fatal: ... UNREACHABLE!` block and
`...ignoring`.

ansible-core's validate_argument_spec result carries the role's full spec
(``argument_spec_data``, about 4 KB for the registry role) and an exception block; the
default callback prints both. The wrong variables are all the user needs, so this prints
``fatal: [host]: FAILED! => <variable> = <value>: <what is allowed> (role <name>, ...)`` per
error and leaves every other result to the default callback. The spec itself stays the role's
source of truth (meta/argument_specs.yml), which a check in tasks could not be.
"""

from __future__ import annotations

import re
from typing import Any

from ansible import constants as C
from ansible.plugins.callback.default import CallbackModule as DefaultCallback

DOCUMENTATION = """
    name: labdock
    type: stdout
    short_description: default output, with one line per wrong role variable
    description:
      - The default callback, except that a failed role argument-spec validation prints one
        line per wrong variable (its value and what is allowed) instead of the whole spec,
        a failed assert prints its message on one line, and an unreachable host on a task
        with ignore_unreachable is one line saying so.
    extends_documentation_fragment:
      - default_callback
      - result_format_callback
    requirements:
      - set as stdout_callback in ansible.cfg
"""

ARGSPEC_ACTIONS = frozenset({"validate_argument_spec", "ansible.builtin.validate_argument_spec"})
ASSERT_ACTIONS = frozenset({"assert", "ansible.builtin.assert"})

# ansible-core's wording of the two errors a user meets most: a value of the wrong type and a
# value outside the choices. Anything else is shown as ansible-core words it.
WRONG_TYPE = re.compile(
    r"argument '(?P<name>[^']+)' is of type \S+ and we were unable to convert to "
    r"(?P<type>\w+): \"?(?P<value>.*?)\"? cannot be converted"
)
NOT_A_CHOICE = re.compile(
    r"value of (?P<name>\S+) must be one of: (?P<choices>.+), got: (?P<value>.*)"
)


def argument_error_line(error: str) -> str:
    """One readable line for one of ansible-core's argument-spec error messages."""
    if match := WRONG_TYPE.search(error):
        return f"{match['name']} = {match['value']}: must be of type {match['type']}"
    if match := NOT_A_CHOICE.search(error):
        return f"{match['name']} = {match['value']!r}: must be one of {match['choices']}"
    return error


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "labdock"

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        action = result.task.action
        if ignore_errors or action not in ARGSPEC_ACTIONS | ASSERT_ACTIONS:
            super().v2_runner_on_failed(result, ignore_errors)
            return
        if self._last_task_banner != result.task._uuid:
            self._print_task_banner(result.task)
        if action in ASSERT_ACTIONS:
            # A loop's failed items were already shown one line each (v2_runner_item_on_failed).
            if "results" not in result.result:
                self._show_failure(result, "fatal", result.result.get("msg", ""))
            return
        context = result.result.get("validate_args_context") or {}
        role = context.get("name", "?")
        for error in result.result.get("argument_errors") or [result.result.get("msg", "")]:
            line = f"{argument_error_line(error)} (role {role}, meta/argument_specs.yml)"
            self._show_failure(result, "fatal", line)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        if not result.task.ignore_unreachable:
            super().v2_runner_on_unreachable(result)
            return
        if self._last_task_banner != result.task._uuid:
            self._print_task_banner(result.task)
        reason = str(result.result.get("msg", "")).strip().splitlines() or ["no answer"]
        self._display.display(
            f"unreachable: [{self.host_label(result)}] => {reason[0]} (recorded; the play goes on)",
            color=C.COLOR_SKIP,
        )

    def v2_runner_item_on_failed(self, result: Any) -> None:
        if result.task.action not in ASSERT_ACTIONS:
            super().v2_runner_item_on_failed(result)
            return
        if self._last_task_banner != result.task._uuid:
            self._print_task_banner(result.task)
        self._show_failure(result, "failed", result.result.get("msg", ""))

    def _show_failure(self, result: Any, word: str, line: str) -> None:
        """One red line: `fatal: [host]: FAILED! => what is wrong` (`failed: [host] => ...`
        for one item of a loop, as the default callback words them)."""
        marker = ": FAILED!" if word == "fatal" else ""
        self._display.display(
            f"{word}: [{self.host_label(result)}]{marker} => {line}",
            color=C.COLOR_ERROR,
            stderr=self.get_option("display_failed_stderr"),
        )
