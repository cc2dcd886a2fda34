"""Accounts and their rights. Pure functions over the accounts file, so the rules are tested
without a server.

Roles:
- admin: every action on every repository, and the catalog (`registry:catalog:*`).
- pull: pull on every repository, nothing else (the room's hosts, `labdock verify`).
- student: pull and push under their own namespace (the pattern with {name} replaced),
  nothing in another student's namespace, pull anywhere else (the course images), no
  catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "pull", "student")
_STUDENT_ACTIONS_OWN = frozenset({"pull", "push"})
_PULL = frozenset({"pull"})
_ADMIN_ACTIONS = frozenset({"pull", "push", "delete", "*"})


@dataclass(frozen=True)
class Scope:
    """One `type:name:actions` item of a token request (the distribution token spec)."""

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Scope:
        resource_type, _, rest = text.partition(":")
        name, _, actions = rest.rpartition(":")
        if not resource_type or not name:
            raise ValueError(f"scope {text!r} is not type:name:actions")
        return cls(resource_type, name, tuple(a for a in actions.split(",") if a))


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class Policy:
    accounts: dict[str, Account]
    # For example "{name}/": every repository under it belongs to that student.
    namespace_pattern: str

    @classmethod
    def from_document(cls, document: dict) -> Policy:
        accounts = {}
        for name, entry in document["accounts"].items():
            if entry["role"] not in ROLES:
                raise ValueError(f"account {name}: unknown role {entry['role']!r}")
            accounts[name] = Account(name, entry["role"], entry["hash"])
        return cls(accounts, document["namespace_pattern"])

    def granted(self, account: Account, scope: Scope) -> list[str]:
        """The actions of `scope` this account may have, in the order asked."""
        allowed = self._allowed(account, scope)
        return [action for action in scope.actions if action in allowed]

    def _allowed(self, account: Account, scope: Scope) -> frozenset[str]:
        if scope.type == "registry":
            # registry:catalog:* lists every repository: students must not see each other's.
            return (
                frozenset({"*"})
                if account.role == "admin" and scope.name == "catalog"
                else frozenset()
            )
        if scope.type != "repository":
            return frozenset()
        if account.role == "admin":
            return _ADMIN_ACTIONS
        if account.role == "pull":
            return _PULL
        if scope.name.startswith(self.namespace_of(account.name)):
            return _STUDENT_ACTIONS_OWN
        if any(scope.name.startswith(self.namespace_of(s)) for s in self._students):
            return frozenset()
        return _PULL

    def namespace_of(self, student: str) -> str:
        return self.namespace_pattern.replace("{name}", student)

    @property
    def _students(self) -> list[str]:
        return [a.name for a in self.accounts.values() if a.role == "student"]
