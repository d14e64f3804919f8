"""The life cycle of one secondment (issue 6, "Life cycle").

nominated → vetted → approved → active → completed, or → ended_early with a reason; an
active secondment may be extended (it stays active). Until it starts it may be withdrawn.
Every other (state, action) pair is refused, naming the state, so a caller knows why.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    nominated = "nominated"
    vetted = "vetted"
    approved = "approved"
    active = "active"
    completed = "completed"
    ended_early = "ended_early"
    withdrawn = "withdrawn"


class Action(StrEnum):
    vet = "vet"
    approve = "approve"
    start = "start"
    extend = "extend"
    complete = "complete"
    end_early = "end_early"
    withdraw = "withdraw"


TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.nominated, Action.vet): State.vetted,
    (State.vetted, Action.approve): State.approved,
    (State.approved, Action.start): State.active,
    (State.active, Action.extend): State.active,
    (State.active, Action.complete): State.completed,
    (State.active, Action.end_early): State.ended_early,
    (State.nominated, Action.withdraw): State.withdrawn,
    (State.vetted, Action.withdraw): State.withdrawn,
    (State.approved, Action.withdraw): State.withdrawn,
}

TERMINAL = frozenset({State.completed, State.ended_early, State.withdrawn})
# States that hold the cadre: a cadre is in at most one of these at a time.
OPEN = frozenset(State) - TERMINAL
ENDED = frozenset({State.completed, State.ended_early})


class IllegalTransition(Exception):
    def __init__(self, state: State, action: Action) -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == state)
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else "; the secondment is closed"
        super().__init__(f"cannot {action.value} a secondment in state {state.value}{hint}")
        self.state = state
        self.action = action
        self.allowed = allowed


def transition(state: State, action: Action) -> State:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None
