from __future__ import annotations

import itertools

import pytest

from services.secondment.domain.lifecycle import (
    OPEN,
    TERMINAL,
    TRANSITIONS,
    Action,
    IllegalTransition,
    State,
    transition,
)


def test_the_happy_path_runs_from_nomination_to_completion() -> None:
    state = State.nominated
    for action in (Action.vet, Action.approve, Action.start, Action.extend, Action.complete):
        state = transition(state, action)
    assert state is State.completed


def test_an_active_secondment_can_end_early() -> None:
    assert transition(State.active, Action.end_early) is State.ended_early


@pytest.mark.parametrize(
    ("state", "action"),
    [(s, a) for s, a in itertools.product(State, Action) if (s, a) not in TRANSITIONS],
)
def test_every_other_transition_is_refused_naming_the_state(state: State, action: Action) -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(state, action)
    assert err.value.state is state
    assert f"state {state.value}" in str(err.value)


def test_illegal_transitions_are_the_majority_and_terminal_states_have_no_exit() -> None:
    illegal = [(s, a) for s, a in itertools.product(State, Action) if (s, a) not in TRANSITIONS]
    assert len(illegal) == len(State) * len(Action) - 9
    for s in TERMINAL:
        assert not [a for a in Action if (s, a) in TRANSITIONS]
    assert State.active in OPEN and State.completed not in OPEN


def test_the_refusal_lists_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(State.nominated, Action.start)
    assert err.value.allowed == ["vet", "withdraw"]
    with pytest.raises(IllegalTransition) as closed:
        transition(State.completed, Action.extend)
    assert "closed" in str(closed.value)
