"""Ranking for one urgent task (greedy) and optimal assignment of many (min-cost matching).

The batch is an assignment problem with two twists, both solved exactly as a bipartite
matching: a task needing k people gets k rows (places), and a volunteer who can take r more
tasks gets r columns (capacity copies), but must never fill two places of the same task.
Where both k ≥ 2 and r ≥ 2 the pair (volunteer, task) goes through a two-node gadget: a row
A and a column B, with A–B (the pair unused), A–each copy of the volunteer, and B–each place
of the task carrying the pair's cost. B takes at most one place, so the volunteer fills at
most one place of that task, and a used pair consumes exactly one copy. Every place also has
its own "unassigned" column, costing the task's priority penalty, so a full matching always
exists and bad input cannot make the problem infeasible. See docs/volunteers.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from app.volunteers.assign import explain
from app.volunteers.assign.cost import Parts, parts, unassigned_cost
from app.volunteers.assign.cost import priority as task_priority
from app.volunteers.assign.filters import feasible, task_point
from app.volunteers.assign.model import (
    Assignment,
    Plan,
    Ranked,
    Reason,
    Task,
    Unassigned,
    Volunteer,
)
from app.volunteers.assign.pool import FloatArray, IntArray, Pool, prepare_pool

# Feasible volunteers kept per task for the batch (at least twice the people it needs). With
# clustered volunteers the best few per task nearly always contain the optimum; the tests
# check that keeping everyone gives the dense optimum.
KEEP = 24
# Above this many cells the dense matrix for linear_sum_assignment is too big; the sparse
# solver (LAPJVsp) works on the edges only and gives the same optimum.
DENSE_CELLS = 1_000_000
# Added to every edge so no weight is zero (a sparse matrix would drop it); every row is
# matched exactly once, so this shifts the total by a constant and changes no choice.
SHIFT = 1.0

Method = Literal["auto", "dense", "sparse"]


@dataclass(frozen=True, slots=True)
class _Candidates:
    """A task's kept candidates, cheapest first."""

    rows: IntArray
    cost: FloatArray
    km: FloatArray
    parts: Parts
    feasible: int


def _pool(volunteers: Pool | Iterable[Volunteer]) -> Pool:
    return volunteers if isinstance(volunteers, Pool) else prepare_pool(volunteers)


def _candidates(pool: Pool, task: Task, limit: int | None) -> _Candidates:
    found = feasible(pool, task)
    p = parts(pool, task, found.rows, found.km)
    cost = p.total()
    if limit is not None:
        limit = max(0, limit)
    order = np.arange(len(cost))
    if limit is not None and len(cost) > limit > 0:
        # Only those up to the limit-th cost (ties included) need sorting.
        kth = np.partition(cost, limit - 1)[limit - 1]
        order = np.flatnonzero(cost <= kth)
    order = order[np.lexsort((pool.id_rank[found.rows[order]], cost[order]))]
    if limit is not None:
        order = order[:limit]
    kept = Parts(p.distance[order], p.skill[order], p.load[order], p.declines[order])
    return _Candidates(found.rows[order], cost[order], found.km[order], kept, len(found.rows))


def _part(c: _Candidates, i: int) -> dict[str, float]:
    p = c.parts
    return {
        "distance": float(p.distance[i]),
        "skill": float(p.skill[i]),
        "load": float(p.load[i]),
        "declines": float(p.declines[i]),
    }


def rank(
    volunteers: Pool | Iterable[Volunteer], task: Task, limit: int | None = 10
) -> list[Ranked]:
    """The feasible volunteers for one task, cheapest first (ties by id): offer in this order."""
    pool = _pool(volunteers)
    c = _candidates(pool, task, limit)
    remote = task_point(task) is None
    ranked = []
    for i, row in enumerate(c.rows.tolist()):
        km = None if remote else float(c.km[i])
        cost = float(c.cost[i])
        reasons = explain.chosen(
            pool.volunteers[row], task, km, cost, _part(c, i), i + 1, c.feasible
        )
        ranked.append(Ranked(pool.volunteers[row].id, cost, km, reasons))
    return ranked


def why_none(volunteers: Pool | Iterable[Volunteer], task: Task) -> tuple[Reason, ...]:
    """Why no volunteer qualifies for the task (the first hard filter that leaves no one)."""
    pool = _pool(volunteers)
    people = max(1, int(task.people))
    return explain.unfilled(pool, task, people, 0, len(feasible(pool, task).rows))


def solve(
    volunteers: Pool | Iterable[Volunteer],
    tasks: Sequence[Task],
    *,
    keep: int | None = KEEP,
    method: Method = "auto",
) -> Plan:
    """Assign volunteers to tasks at least total cost; empty places cost their priority.

    `keep` bounds the candidates per task (None keeps every feasible volunteer: exact).
    """
    pool = _pool(volunteers)
    ordered: list[Task] = []
    seen: set[str] = set()
    duplicates: list[Unassigned] = []
    for task in sorted(tasks, key=lambda t: (-task_priority(t), t.id)):
        if task.id in seen:
            duplicates.append(
                Unassigned(
                    task.id,
                    0,
                    max(0, int(task.people)),
                    (Reason("duplicate", "The same task id was given twice; planned once", {}),),
                )
            )
            continue
        seen.add(task.id)
        ordered.append(task)

    people = [max(0, int(t.people)) for t in ordered]
    cands = [
        _candidates(pool, t, None if keep is None else max(keep, 2 * k))
        for t, k in zip(ordered, people, strict=True)
    ]
    slots = np.array([min(k, len(c.rows)) for k, c in zip(people, cands, strict=True)], np.int64)
    chosen = _match(pool, ordered, cands, slots, method)

    assignments: list[Assignment] = []
    unassigned: list[Unassigned] = []
    total = 0.0
    for t, (task, c) in enumerate(zip(ordered, cands, strict=True)):
        picks = sorted(chosen.get(t, []))
        remote = task_point(task) is None
        for i in picks:
            row = int(c.rows[i])
            km = None if remote else float(c.km[i])
            cost = float(c.cost[i])
            total += cost
            volunteer = pool.volunteers[row]
            reasons = explain.chosen(
                volunteer, task, km, cost, _part(c, i), i + 1, c.feasible, batch=True
            )
            assignments.append(Assignment(task.id, volunteer.id, cost, km, reasons))
        missing = people[t] - len(picks)
        if missing > 0:
            total += missing * unassigned_cost(task)
            reasons = explain.unfilled(pool, task, people[t], len(picks), c.feasible)
            unassigned.append(Unassigned(task.id, missing, people[t], reasons))
    return Plan(tuple(assignments), tuple(unassigned + duplicates), total)


def _match(
    pool: Pool,
    tasks: list[Task],
    cands: list[_Candidates],
    slots: IntArray,
    method: Method,
) -> dict[int, list[int]]:
    """Solve the matching; returns, per task index, the positions of its chosen candidates."""
    n_tasks = len(tasks)
    sizes = np.array([len(c.rows) for c in cands], dtype=np.int64)
    if n_tasks == 0 or int(slots.sum()) == 0:
        return {}
    # One entry per (task, candidate) pair.
    pt = np.repeat(np.arange(n_tasks, dtype=np.int64), sizes)
    pi = np.concatenate([np.arange(s, dtype=np.int64) for s in sizes])
    pv = np.concatenate([c.rows for c in cands])
    pc = np.concatenate([c.cost for c in cands])
    use = slots[pt] > 0
    pt, pi, pv, pc = pt[use], pi[use], pv[use], pc[use]
    volunteers, vinv = np.unique(pv, return_inverse=True)
    degree = np.bincount(vinv, minlength=len(volunteers))
    copies = np.minimum(pool.remaining[volunteers], degree)
    copy_start = np.concatenate(([0], np.cumsum(copies)[:-1])).astype(np.int64)
    copy_owner = np.repeat(np.arange(len(volunteers)), copies)
    n_copies = int(copies.sum())
    slot_start = np.concatenate(([0], np.cumsum(slots)[:-1])).astype(np.int64)
    slot_task = np.repeat(np.arange(n_tasks), slots)
    n_slots = int(slots.sum())

    k = slots[pt]
    r = copies[vinv]
    special = (k >= 2) & (r >= 2)
    n_special = int(special.sum())
    rows_list: list[IntArray] = []
    cols_list: list[IntArray] = []
    data_list: list[FloatArray] = []

    def expand(counts: IntArray) -> tuple[IntArray, IntArray]:
        """For entries with these counts: each entry's index repeated, and 0..count-1."""
        owner = np.repeat(np.arange(len(counts)), counts)
        offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return owner, offset

    # Plain pairs: every place of the task × every copy of the volunteer (one side has 1).
    plain = np.flatnonzero(~special)
    owner, offset = expand(k[plain] * r[plain])
    e = plain[owner]
    rows_list.append(slot_start[pt[e]] + offset % k[e])
    cols_list.append(copy_start[vinv[e]] + offset % r[e])
    data_list.append(pc[e] + SHIFT)
    # Gadget pairs.
    sp = np.flatnonzero(special)
    a_row = n_slots + np.arange(n_special)
    b_col = n_copies + n_slots + np.arange(n_special)
    owner, offset = expand(k[sp])  # places of the task -> B, with the pair's cost
    rows_list.append(slot_start[pt[sp[owner]]] + offset)
    cols_list.append(b_col[owner])
    data_list.append(pc[sp[owner]] + SHIFT)
    owner, offset = expand(r[sp])  # A -> copies of the volunteer
    rows_list.append(a_row[owner])
    cols_list.append(copy_start[vinv[sp[owner]]] + offset)
    data_list.append(np.full(len(owner), SHIFT))
    rows_list.append(a_row)  # A -> B: the pair unused
    cols_list.append(b_col)
    data_list.append(np.full(n_special, SHIFT))
    # Each place's own "unassigned" column.
    penalty = np.array([unassigned_cost(t) for t in tasks])
    rows_list.append(np.arange(n_slots))
    cols_list.append(n_copies + np.arange(n_slots))
    data_list.append(penalty[slot_task] + SHIFT)

    rows = np.concatenate(rows_list).astype(np.int64)
    cols = np.concatenate(cols_list).astype(np.int64)
    data = np.concatenate(data_list).astype(np.float64)
    shape = (n_slots + n_special, n_copies + n_slots + n_special)
    if method == "dense" or (method == "auto" and shape[0] * shape[1] <= DENSE_CELLS):
        matrix = np.full(shape, np.inf)
        matrix[rows, cols] = data
        row_ind, col_ind = linear_sum_assignment(matrix)
    else:
        graph = csr_matrix((data, (rows, cols)), shape=shape)
        row_ind, col_ind = min_weight_full_bipartite_matching(graph)

    # Which pair each chosen (place, column) is: pairs by (task, volunteer) key.
    keys = pt * len(volunteers) + vinv
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]
    chosen: dict[int, list[int]] = {}
    for row, col in zip(row_ind.tolist(), col_ind.tolist(), strict=True):
        if row >= n_slots:
            continue  # a gadget row
        t = int(slot_task[row])
        if col < n_copies:
            key = t * len(volunteers) + int(copy_owner[col])
            j = int(by_key[np.searchsorted(sorted_keys, key)])
        elif col >= n_copies + n_slots:
            j = int(sp[col - n_copies - n_slots])
        else:
            continue  # unassigned
        chosen.setdefault(t, []).append(int(pi[j]))
    return chosen
