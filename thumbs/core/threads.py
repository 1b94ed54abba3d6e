"""How CPU work shares the cores: how many threads, and what a thread does while it waits for the others. One
policy for training, eval, export's check, live, the demo and the studio's jobs.

Why: PyTorch's OpenMP workers and ONNX Runtime's intra-op threads spin while they wait for each other. When
another process (a browser, the studio's preview, a test suite) takes the core of one of them, every step waits
for that one: training fell to 0.27 of its quiet speed with one of two cores busy, live to 0.46. A waiting
thread that sleeps gives its core away instead, and a thread fewer waits on no one (docs/speed.md).

ONNX Runtime takes its settings per session (`Policy.configure`, thumbs/runtime/providers.make_session), the
training its thread count step by step (`Tuner`, a trainer callback). A variable the user set (OMP_NUM_THREADS,
OMP_WAIT_POLICY, GOMP_SPINCOUNT, KMP_BLOCKTIME; OpenMP reads them when PyTorch loads it) stays in charge, and
the first line of a command says the choice (`Policy.line`). Torch-free and Python 3.8: the live install uses
it too."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

THREADS = "OMP_NUM_THREADS"
WAIT = "OMP_WAIT_POLICY"
# What a waiting OpenMP thread does, in the names each OpenMP runtime reads: GNU (Linux wheels of PyTorch), and
# LLVM/Intel (macOS, conda). Any of them set by the user means the user decides the waiting.
WAIT_VARIABLES = (WAIT, "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
TOPOLOGY = "/sys/devices/system/cpu/cpu{}/topology/thread_siblings_list"  # the processors of one core
ORT_SPINNING = "session.intra_op.allow_spinning"  # a session config key since ONNX Runtime 1.6 (the Nano's 1.11)


def cores() -> int:
    """The physical cores this process may run on (a container's or taskset's share): a core's second hardware
    thread shares its units, and PyTorch and ONNX Runtime start a thread per physical core too."""
    getter = getattr(os, "sched_getaffinity", None)
    allowed = getter(0) if getter is not None else range(os.cpu_count() or 1)
    siblings = set()
    for cpu in allowed:
        try:
            siblings.add(Path(TOPOLOGY.format(cpu)).read_text().strip())
        except OSError:  # not Linux, or no topology: each processor counts
            siblings.add(str(cpu))
    return max(1, len(siblings))


@dataclass(frozen=True)
class Policy:
    """The decision. `threads`: the count the user set, else None: a thread per core, and training and ONNX
    Runtime on the CPU time their steps and take one thread fewer while that is faster (`Tuner`). `spin`:
    whether ONNX Runtime's waiting threads spin, where the user's OpenMP variables say (None: its default).
    Waiting is otherwise left as the libraries do it: spinning made the quiet machine fastest (docs/speed.md)."""

    threads: int | None
    spin: bool | None = None
    chosen_by_user: tuple = ()  # names of the variables the user set, which the policy follows

    @property
    def tunes(self) -> bool:
        return self.threads is None and cores() > 1

    def line(self) -> str:
        """The first line of a command's output: the choice in a few words."""
        if self.threads:
            count = f"{self.threads} thread(s)"
        else:
            count = f"a thread per core ({cores()}), fewer while other work takes a core (timed as it runs)"
        waiting = "" if self.spin is None else f"; waiting threads {'spin' if self.spin else 'sleep'}"
        who = f" (as {', '.join(self.chosen_by_user)} say)" if self.chosen_by_user else ""
        return f"cpu: {count}{waiting}{who}"

    def configure(self, options: object, threads: int | None = None) -> None:
        """An ONNX Runtime SessionOptions: `threads`, else the user's count, else one a core; spinning where the
        user's variables say."""
        options.intra_op_num_threads = threads or self.threads or cores()
        if self.spin is not None:
            options.add_session_config_entry(ORT_SPINNING, "1" if self.spin else "0")


def _user_threads(environ: Mapping[str, str]) -> int | None:
    try:
        value = int(environ.get(THREADS, "").split(",")[0])
    except ValueError:
        return None
    return value if value > 0 else None


def decide(environ: Mapping[str, str]) -> Policy:
    """The policy for this environment; pure, so it is the one thing the tests pin down."""
    user = tuple(name for name in (THREADS, *WAIT_VARIABLES) if environ.get(name, "").strip())
    spin = environ.get(WAIT, "").strip().upper() != "PASSIVE" if any(n in user for n in WAIT_VARIABLES) else None
    return Policy(_user_threads(environ), spin, user)


def current() -> Policy:
    """The policy of this process's environment (the user's variables, or a parent's)."""
    return decide(os.environ)


STAT = "/proc/stat"  # Linux: each processor's busy and idle time since boot, in clock ticks


class OtherLoad:
    """How many cores other processes kept busy since the last reading: the machine's busy time on the processors
    this process may use (/proc/stat) less this process's own CPU time. Read in microseconds, so the tuner asks it
    before it guesses: where others hold a core, a thread more is not worth a trial. Work at a lower priority
    (`nice`: a backup, an indexer, a test suite run with nice) is background and is not counted, unless this
    process runs niced too (its own time is then in the same column). None where it cannot be told (not Linux)."""

    def __init__(self, stat: str = STAT, clock: Callable[[], float] = time.monotonic,
                 own: Callable[[], float] = time.process_time) -> None:
        self.stat, self.clock, self.own = stat, clock, own
        getter = getattr(os, "sched_getaffinity", None)
        self.cpus = {f"cpu{n}" for n in getter(0)} if getter is not None else None
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.niced = hasattr(os, "nice") and os.nice(0) > 0
        self.last = self._reading()

    def _busy(self) -> float | None:
        """Seconds the allowed processors have been busy since boot (idle and iowait are not busy)."""
        try:
            with open(self.stat) as f:
                lines = [ln.split() for ln in f if ln.startswith("cpu") and not ln.startswith("cpu ")]
        except OSError:
            return None
        busy = 0
        for name, *ticks in lines:
            if self.cpus is None or name in self.cpus:
                values = [int(t) for t in ticks[:8]]  # user nice system idle iowait irq softirq steal
                busy += sum(values) - values[3] - values[4] - (0 if self.niced else values[1])
        return busy / self.tick

    def _reading(self) -> tuple | None:
        busy = self._busy()
        return None if busy is None else (self.clock(), busy, self.own())

    def since_last(self) -> float | None:
        """Cores other processes used, on average, since the previous call (or the start)."""
        now = self._reading()
        before, self.last = self.last, now
        if now is None or before is None or now[0] - before[0] < 0.05:
            return None
        return max(0.0, ((now[1] - before[1]) - (now[2] - before[2])) / (now[0] - before[0]))


def free_threads(others: float | None, most: int) -> int:
    """The thread count to start from: a thread per core that other processes leave free (all where unknown)."""
    return most if others is None else max(1, min(most, most - round(others)))


TRIAL_STEPS = 5  # steps timed per thread count (the median is compared: one slow step is not a verdict)
FIRST_HOLD = 2.0  # seconds a new choice holds before the neighbouring count is tried (a wrong one costs little)
RETRY_SECONDS = 30.0  # the longest hold: each comparison that keeps the choice doubles it, up to this
SLOWER = 1.25  # steps this much slower than when the choice was made end the hold: other work has come
BETTER = 0.95  # a count must be 5 % faster to take over: measurement noise does not flip the choice


class Tuner:
    """Chooses the thread count of repeated equal steps (training batches, inferences) by their measured time,
    while they run: keep the count, and after a hold (FIRST_HOLD, doubling to RETRY_SECONDS while the choice
    stands, or ended by steps SLOWER than when the choice was made) time TRIAL_STEPS steps at one thread fewer
    (or more, up to `most`) and take it if it is faster. On a
    quiet machine all threads win; when other work takes a core, the thread that shared it held up every step,
    and one fewer wins. `load` (an OtherLoad) sets the first count and skips the trials it shows pointless
    (`_pointless`). Call `step` after every step (`first`: its time includes other work, an epoch's validation,
    and is not counted), or `timed` with each step's seconds."""

    def __init__(self, set_threads: Callable[[int], None], most: int,
                 clock: Callable[[], float] = time.perf_counter, load: OtherLoad | None = None) -> None:
        self.set_threads, self.most, self.clock = set_threads, most, clock
        self.load = load  # where given: the start count from the cores others leave free, and no trial of a
        self.threads = most  # thread more while others still hold the cores it would need
        self.started = load is None
        self.fewer_lost = False  # a trial of fewer threads lost once: on this machine fewer is not faster by itself
        self.trial: int | None = None  # the count on trial, None while the choice holds
        self.times: dict = {}  # count -> step seconds of the current comparison
        self.last = self.held_since = clock()
        self.hold = FIRST_HOLD
        self.reference = math.inf  # the chosen count's median step when it was chosen
        self.skip = 1  # steps not to count: the first after a change of count warms its threads up
        self.direction = -1

    def step(self, first: bool = False) -> None:
        """After a step: its time is the time since the last call."""
        now = self.clock()
        seconds, self.last = now - self.last, now
        if not first:
            self.timed(seconds)

    def timed(self, seconds: float) -> None:
        """A step's time, measured by the caller (an inference, without the wait for the next frame)."""
        now = self.clock()
        if not self.started:
            self._start()
        if self.most < 2 or self.skip:
            self.skip = max(0, self.skip - 1)
            return
        running = self.trial if self.trial is not None else self.threads
        times = self.times.setdefault(running, [])
        times.append(seconds)
        if self.trial is None and len(times) >= TRIAL_STEPS and now - self.held_since >= min(
                self.hold, FIRST_HOLD if statistics.median(times[-TRIAL_STEPS:]) > SLOWER * self.reference
                else math.inf):
            self._try(self._neighbour())
        elif self.trial is not None and (len(times) >= TRIAL_STEPS or self._clearly_slower(times)):
            self._decide()

    def _clearly_slower(self, tried: list) -> bool:
        """Two trial steps both SLOWER than the held count's median: no need to time more of them."""
        return len(tried) >= 2 and min(tried) > SLOWER * statistics.median(self.times[self.threads])

    def _neighbour(self) -> int:
        """One fewer or one more than now, alternating, within 1..most."""
        self.direction = -self.direction if 1 < self.threads < self.most else (1 if self.threads == 1 else -1)
        return self.threads + self.direction

    def _start(self) -> None:
        """At the first step: as many threads as other processes left cores free since the tuner was made."""
        self.started, self.held_since = True, self.clock()
        count = free_threads(self.load.since_last() if self.load else None, self.most)
        if count != self.threads:
            self.threads, self.skip = count, 1
            self.set_threads(count)

    def _pointless(self, count: int) -> bool:
        """What the other processes' load says of a trial of `count` threads: a thread more would only wait on a
        core they still hold; a thread fewer, once one has lost (so fewer is no faster here by itself), gains
        only where they hold a core the threads now use. Nothing is pointless where the load is unknown."""
        others = self.load.since_last() if self.load else None
        if others is None:
            return False
        free = free_threads(others, self.most)
        return free <= self.threads if count > self.threads else self.fewer_lost and free >= self.threads

    def _try(self, count: int) -> None:
        if self._pointless(count):  # kept without a trial: the hold doubles as after a lost one
            self.times, self.held_since = {}, self.clock()
            self.hold = min(2 * self.hold, RETRY_SECONDS)
            return
        self.times = {self.threads: self.times[self.threads][-TRIAL_STEPS:]}
        self.trial, self.skip = count, 1
        self.set_threads(count)

    def _decide(self) -> None:
        held, tried = statistics.median(self.times[self.threads]), statistics.median(self.times[self.trial])
        changed = tried < BETTER * held
        self.fewer_lost = self.fewer_lost or (not changed and self.trial < self.threads)
        self.reference = min(held, tried)
        if changed:
            self.threads = self.trial
        else:
            self.set_threads(self.threads)
            self.skip = 1
        self.hold = FIRST_HOLD if changed else min(2 * self.hold, RETRY_SECONDS)
        self.trial, self.times, self.held_since = None, {}, self.clock()
