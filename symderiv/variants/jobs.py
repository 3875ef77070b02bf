"""Where the work runs: a process pool, one process (``--jobs 1``), or a Dask cluster (``--scheduler``).

Every runner is a :class:`concurrent.futures.Executor`: a ``ProcessPoolExecutor`` whose long-lived
workers import SymPy and the renderer once (about 0.5 s each) and then take job after job; an
executor that runs each job in this process; or ``distributed.Client.get_executor()``, which runs
the same jobs on a Dask cluster. Jobs and their results (derivations included) pickle.

Screening is ordered: candidates are judged in batches, several batches in flight, but accepted
strictly in the order they were drawn, so the variants do not depend on how many workers judged
them or which finished first.
"""

from __future__ import annotations

import sys
from collections import Counter, deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass

from symderiv.errors import SpecError, UsageError
from symderiv.variants.sample import Sampler
from symderiv.variants.screen import Batch, Verdict, screen

#: Candidates per screening job: enough to outweigh a job's overhead, few enough to keep all workers busy.
BATCH = 4
#: Screening jobs in flight per worker.
AHEAD = 3
#: How long to try reaching a Dask scheduler.
CONNECT_TIMEOUT = "20s"


def _warm_up() -> None:
    """A new worker imports what every job needs, once."""
    import symderiv.api  # noqa: F401
    import symderiv.lints  # noqa: F401
    import symderiv.render.documents  # noqa: F401
    import symderiv.verify  # noqa: F401


class InlineExecutor(Executor):
    """Runs each job at once, in this process (``--jobs 1``: no pool to start)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:       # handed to whoever asks for the result, as a pool would
            future.set_exception(err)
        return future


@dataclass
class Runner:
    executor: Executor
    workers: int
    client: object = None

    def close(self) -> None:
        if self.client is not None:          # a Dask executor: its shutdown takes no cancel_futures
            self.executor.shutdown(wait=True)
            self.client.close()
        else:
            self.executor.shutdown(wait=True, cancel_futures=True)


def runner(jobs: int, scheduler: str | None = None) -> Runner:
    """A process pool of ``jobs`` workers, this process alone for 1, or the Dask cluster at ``scheduler``."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs Dask's distributed scheduler: pip install 'symderiv[distributed]'") \
                from None
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise UsageError(f"--scheduler: cannot reach a Dask scheduler at '{scheduler}' ({err})") from None
        client.run(_warm_up)
        workers = max(1, sum(client.nthreads().values()))
        return Runner(client.get_executor(pure=False), workers, client)
    if jobs == 1:
        return Runner(InlineExecutor(), 1)
    return Runner(ProcessPoolExecutor(max_workers=jobs, initializer=_warm_up), jobs)


def progress(total: int, what: str):
    """A progress bar on a terminal (stderr); nothing otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="variant", file=sys.stderr, disable=not sys.stderr.isatty(),
                leave=False, dynamic_ncols=True)


@dataclass(frozen=True)
class Accepted:
    verdict: Verdict
    text: str                    # the variant's spec (TOML), as judged


def screen_in_order(run: Runner, sampler: Sampler, count: int, constraints, entries: tuple,
                    budget: int) -> list[Accepted]:
    """The first ``count`` candidates that meet the constraints and whose answers differ from every earlier
    accepted one's. At most ``budget`` draws per variant asked for; none fit among the first ``budget``:
    the rules are hopeless, one line at once rather than the whole budget later."""
    max_draws = budget * count
    texts: dict[int, str] = {}
    in_flight: deque[Future] = deque()
    accepted: list[Accepted] = []
    answer_keys: set[tuple] = set()
    tally: Counter = Counter()
    judged = 0

    def submit() -> bool:
        batch = []
        while len(batch) < BATCH:
            candidate = sampler.next(max_draws)
            if candidate is None:
                break
            texts[candidate.serial] = candidate.text
            batch.append((candidate.serial, candidate.text))
        if batch:
            in_flight.append(run.executor.submit(screen, Batch(tuple(batch), constraints, entries)))
        return bool(batch)

    with progress(count, "sampling") as bar:
        while len(in_flight) < AHEAD * run.workers and submit():
            pass
        hopeless = False
        while in_flight and len(accepted) < count and not hopeless:
            for verdict in in_flight.popleft().result():
                judged += 1
                text = texts.pop(verdict.serial)
                if verdict.invalid is not None:
                    raise SpecError("variants.vary", "grids whose every draw is a valid spec",
                                    f"a draw the spec refuses ({verdict.invalid})")
                if verdict.problem is not None:
                    tally[verdict.problem] += 1
                elif tuple(a.value for a in verdict.answers) in answer_keys:
                    tally["same answers as an earlier variant"] += 1
                else:
                    answer_keys.add(tuple(a.value for a in verdict.answers))
                    accepted.append(Accepted(verdict, text))
                    bar.update(1)
                if len(accepted) == count or (judged >= budget and not accepted):
                    hopeless = not accepted
                    break
            while len(in_flight) < AHEAD * run.workers and len(accepted) < count and not hopeless and submit():
                pass
        for future in in_flight:
            future.cancel()
    if len(accepted) < count:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
        raise SpecError("variants", f"rules that {count} different variant{'s' if count != 1 else ''} meet within "
                                    f"the budget ({budget} draws per variant)",
                        f"{len(accepted)} among {judged} candidates judged"
                        + (f"; rejected: {reasons}" if reasons else ""))
    return accepted
