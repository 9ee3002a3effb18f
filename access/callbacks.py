"""A Dash callback request read exactly as Dash will run it, or refused as ambiguous.

Dash runs the function registered under the body's `output` key and hands it the `inputs` and
`state` values by position, whatever ids they carry; `ctx.triggered_id` is whatever
`changedPropIds` names. A guard that read the page from `outputs` or a value by its id could be
shown one callback and run another. So a request is checked against the app's own
`callback_map`: the key must exist, every output, input and state entry must be the declared
one at its declared position (a pattern id matching its declared pattern), and every changed
property must be one of the sent inputs. Only then are its pages, actions and values read, from
the declarations, so what the guard checks is what runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

WILDCARDS = (["ALL"], ["ALLSMALLER"], ["MATCH"])
MANY = (["ALL"], ["ALLSMALLER"])  # these send a list of entries, MATCH sends one


class AmbiguousRequest(ValueError):
    """The body does not match the callback it names: refused before anything runs."""


@dataclass(frozen=True)
class Dependency:
    """One declared output, input or state: its id (a string, or a pattern dict) and property."""

    id: str | dict[str, Any]
    property: str

    @classmethod
    def parse(cls, id_text: str, prop: str) -> Dependency:
        return cls(json.loads(id_text) if id_text.startswith("{") else id_text, prop)

    @property
    def many(self) -> bool:
        return isinstance(self.id, dict) and any(v in MANY for v in self.id.values())

    @property
    def component(self) -> str:
        """The id as the access policy names components: a pattern id by its `type`."""
        return component_name(self.id)

    def matches(self, sent: Any) -> bool:
        if not isinstance(sent, dict) or sent.get("property") != self.property:
            return False
        cid = sent.get("id")
        if isinstance(self.id, str):
            return cid == self.id
        if not isinstance(cid, dict) or set(cid) != set(self.id):
            return False
        return all(
            isinstance(cid[k], str | int | float | bool) if want in WILDCARDS else cid[k] == want
            for k, want in self.id.items()
        )


@dataclass(frozen=True)
class CheckedCall:
    """A callback request that matched its declaration."""

    outputs: tuple[Dependency, ...]
    inputs: tuple[Dependency, ...]
    values: dict[tuple[str, str], Any]  # (component, property) of a declared input or state
    changed: tuple[str, ...]  # the components of the changed inputs


def component_name(cid: Any) -> str:
    if isinstance(cid, dict):
        return str(cid.get("type", ""))
    return str(cid)


def _stringify(cid: Any) -> str:
    """Dash's own text for an id (`dash._utils.stringify_id`: a dict's keys sorted)."""
    if isinstance(cid, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(cid[k])}" for k in sorted(cid)) + "}"
    return str(cid)


def _split_outputs(key: str) -> list[Dependency]:
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    out = []
    for part in parts:
        id_text, _, prop = part.rpartition(".")
        if not id_text:
            raise AmbiguousRequest(f"output {part!r} names no property")
        out.append(Dependency.parse(id_text, prop))
    return out


def _entries(dep: Dependency, sent: Any, where: str) -> list[dict]:
    """The sent entries for one declared dependency, checked against it."""
    group = sent if dep.many else [sent]
    if not isinstance(group, list) or not all(dep.matches(e) for e in group):
        raise AmbiguousRequest(
            f"{where} does not match the declared {dep.component}.{dep.property}"
        )
    return group


def _check_list(declared: list[Dependency], sent: Any, where: str) -> list[list[dict]]:
    if not isinstance(sent, list) or len(sent) != len(declared):
        raise AmbiguousRequest(f"{where}: {len(declared)} entries declared")
    return [_entries(d, s, f"{where}[{i}]") for i, (d, s) in enumerate(zip(declared, sent))]


def check(body: dict, callback_map: dict[str, dict]) -> CheckedCall:
    """`body` read as the callback it names will run it; AmbiguousRequest otherwise."""
    key = body.get("output")
    if not isinstance(key, str) or key not in callback_map:
        raise AmbiguousRequest("the request names no callback of this app")
    declared = callback_map[key]
    outputs = _split_outputs(key)
    sent_outputs = body.get("outputs")
    if not key.startswith(".."):
        sent_outputs = [sent_outputs]
    _check_list(outputs, sent_outputs, "outputs")
    inputs = [Dependency.parse(d["id"], d["property"]) for d in declared["inputs"]]
    state = [Dependency.parse(d["id"], d["property"]) for d in declared["state"]]
    sent_inputs = _check_list(inputs, body.get("inputs", []), "inputs")
    sent_state = _check_list(state, body.get("state", []), "state")
    values = {}
    for dep, group in zip(inputs + state, sent_inputs + sent_state):
        if not dep.many:
            values[(dep.component, dep.property)] = group[0].get("value")
    sent_ids = {
        f"{_stringify(e['id'])}.{e['property']}": component_name(e["id"])
        for group in sent_inputs
        for e in group
    }
    changed = body.get("changedPropIds") or []
    if not isinstance(changed, list) or not all(c in sent_ids for c in changed):
        raise AmbiguousRequest("changedPropIds names a property that is not a sent input")
    return CheckedCall(tuple(outputs), tuple(inputs), values, tuple(sent_ids[c] for c in changed))
