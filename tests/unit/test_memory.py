"""kinerja/memory.py: what handing memory back lets go of, and what it must keep."""

from __future__ import annotations

import weakref

import great_expectations as gx
import pytest
from great_expectations.data_context.data_context.context_factory import project_manager
from great_expectations.exceptions import DataContextRequiredError

from kinerja.memory import hand_back_freed, release_memory


def test_release_memory_lets_go_of_great_expectations_last_context():
    # The context holds the tables its last check validated until the next check replaces it.
    context = gx.get_context(mode="ephemeral")
    assert project_manager.get_current_project() is context

    release_memory()

    with pytest.raises(DataContextRequiredError):
        project_manager.get_current_project()


def test_hand_back_freed_keeps_the_context_a_running_check_uses():
    # The check calls it between reading its tables and running its suite; another thread of
    # the process may be in its own suite meanwhile.
    context = gx.get_context(mode="ephemeral")

    hand_back_freed()

    assert project_manager.get_current_project() is context


def test_hand_back_freed_collects_what_only_cycles_keep_alive():
    class Node:
        pass

    node = Node()
    node.itself = node
    alive = weakref.ref(node)
    del node

    hand_back_freed()

    assert alive() is None
