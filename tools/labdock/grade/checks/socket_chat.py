"""Exam 001's POC (12 points): the chat run once as a person runs it (grade/chat.py), each
criterion reading its own step. The repository and registry points are in repository.py and
registry.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labdock.grade.chat import chat_run, evidence
from labdock.grade.context import Context


def chat_started(ctx: Context, params: Mapping[str, Any]) -> str:
    return evidence(chat_run(ctx, params).started)


def chat_terminal(ctx: Context, params: Mapping[str, Any]) -> str:
    return evidence(chat_run(ctx, params).terminals[params["side"]])


def chat_hello(ctx: Context, params: Mapping[str, Any]) -> str:
    return evidence(chat_run(ctx, params).hello[params["typed_on"]])


def chat_bye(ctx: Context, params: Mapping[str, Any]) -> str:
    return evidence(chat_run(ctx, params).bye)


CHECKS = (chat_started, chat_terminal, chat_hello, chat_bye)
