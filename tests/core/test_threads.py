"""The thread policy: what it decides, that the user's variables win, that ONNX Runtime gets it, and that a
command says it first and sets it before PyTorch loads OpenMP."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from thumbs.core import threads


def test_by_default_a_thread_per_core_tuned_as_it_runs_and_waiting_left_to_the_libraries(monkeypatch) -> None:
    monkeypatch.setattr(threads, "cores", lambda: 4)
    policy = threads.decide({})
    assert (policy.threads, policy.tunes, policy.spin, policy.chosen_by_user) == (None, True, None, ())
    assert policy.line() == "cpu: a thread per core (4), fewer while other work takes a core (timed as it runs)"
    monkeypatch.setattr(threads, "cores", lambda: 1)
    assert not threads.decide({}).tunes  # nothing to take away


@pytest.mark.parametrize("env, count, spin", [
    ({"OMP_NUM_THREADS": "1"}, 1, None),
    ({"OMP_NUM_THREADS": "3,1"}, 3, None),  # OpenMP's nested form: the outer count
    ({"OMP_WAIT_POLICY": "ACTIVE"}, None, True),
    ({"OMP_WAIT_POLICY": "passive"}, None, False),
    ({"GOMP_SPINCOUNT": "300000"}, None, True),
    ({"OMP_NUM_THREADS": "2", "KMP_BLOCKTIME": "200"}, 2, True),
])
def test_variables_the_user_set_stay_in_charge(env: dict, count: int | None, spin: bool | None,
                                               monkeypatch) -> None:
    monkeypatch.setattr(threads, "cores", lambda: 2)
    policy = threads.decide(env)
    assert (policy.threads, policy.tunes, policy.spin) == (count, count is None, spin)
    assert policy.line().endswith(f"(as {', '.join(env)} say)")


def test_an_unreadable_thread_count_is_left_to_the_libraries() -> None:
    policy = threads.decide({"OMP_NUM_THREADS": "many"})
    assert policy.threads is None and policy.chosen_by_user == ("OMP_NUM_THREADS",)


@pytest.mark.parametrize("spin, expected", [(False, "0"), (True, "1")])
def test_onnx_runtime_sessions_get_the_thread_count_and_spinning(spin: bool, expected: str) -> None:
    options = ort.SessionOptions()
    threads.Policy(3, spin).configure(options)
    assert options.intra_op_num_threads == 3
    assert options.get_session_config_entry(threads.ORT_SPINNING) == expected
    threads.Policy(None).configure(options, 1)
    assert options.intra_op_num_threads == 1


def test_onnx_runtime_spins_as_it_does_unless_the_user_says(monkeypatch) -> None:
    options = ort.SessionOptions()
    threads.Policy(None).configure(options)
    assert options.intra_op_num_threads == threads.cores()
    with pytest.raises(Exception):  # noqa: B017 (ONNX Runtime's own error type for a key never set)
        options.get_session_config_entry(threads.ORT_SPINNING)


def test_the_product_makes_its_sessions_with_the_policy(tmp_path, monkeypatch) -> None:
    from thumbs.runtime import providers

    made = []
    monkeypatch.setattr(ort, "InferenceSession", lambda data, sess_options, providers: made.append(sess_options))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    providers.make_session(b"model", ["CPUExecutionProvider"])
    assert made[0].intra_op_num_threads == 1
    assert made[0].get_session_config_entry(threads.ORT_SPINNING) == "0"


class Steps:
    """A fake clock for the tuner: each step takes what the current thread count costs on this fake machine."""

    def __init__(self, cost: dict, load: object = None) -> None:
        self.cost, self.now, self.counts, self.used = cost, 0.0, [], []
        self.tuner = threads.Tuner(self.counts.append, 2, clock=lambda: self.now, load=load)

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            count = self.counts[-1] if self.counts else 2
            self.used.append(count)
            self.now += self.cost[count]
            self.tuner.step()

    def share(self, count: int) -> float:
        return self.used.count(count) / len(self.used)

    def lost(self, best: int) -> float:
        """The share of the time lost against running every step at the `best` count."""
        spent = sum(self.cost[c] for c in self.used)
        return spent / (len(self.used) * self.cost[best]) - 1


def test_quiet_the_tuner_keeps_every_core_and_tries_one_fewer_seldom() -> None:
    steps = Steps({2: 0.10, 1: 0.16})
    steps.run(3)
    assert steps.counts == [1, 2] and steps.tuner.threads == 2  # tried after a second, and given up
    steps.run(120)
    assert steps.tuner.threads == 2 and steps.lost(2) < 0.03  # each hold doubles, up to RETRY_SECONDS


def test_with_a_core_busy_one_thread_fewer_within_seconds_and_two_are_tried_again_later() -> None:
    steps = Steps({2: 0.10, 1: 0.16})
    steps.run(30)
    steps.cost = {2: 0.40, 1: 0.15}  # another process takes a core
    steps.run(threads.RETRY_SECONDS + 3)
    assert steps.tuner.threads == 1
    steps.used.clear()
    steps.run(120)
    assert steps.tuner.threads == 1 and 2 in steps.used and steps.lost(1) < 0.08  # two threads 2.7x as slow
    steps.cost = {2: 0.10, 1: 0.16}  # and gives it back
    steps.run(threads.RETRY_SECONDS + 3)
    assert steps.tuner.threads == 2


class Others:
    """A fake OtherLoad: the cores other processes hold, as the test sets them."""

    def __init__(self, cores: float) -> None:
        self.cores, self.asked = cores, 0

    def since_last(self) -> float:
        self.asked += 1
        return self.cores


def test_with_a_core_already_busy_it_starts_at_one_thread_and_tries_two_only_once_the_core_is_free() -> None:
    """The busy benchmark's short training spent its first seconds and every trial on two threads that waited on
    the busy core (2.7x as slow): the cores others hold are read first (/proc/stat, in microseconds)."""
    others = Others(1.0)
    steps = Steps({2: 0.40, 1: 0.15}, load=others)
    steps.run(120)
    # the first step runs before any is timed; from the second on, one thread and no trial of two
    assert steps.counts[0] == 1 and 2 not in steps.used[1:] and others.asked > 3 and steps.lost(1) < 0.01
    others.cores, steps.cost = 0.0, {2: 0.10, 1: 0.16}  # the other work ends
    steps.run(threads.RETRY_SECONDS + 3)
    assert steps.tuner.threads == 2


def test_quiet_one_thread_fewer_is_tried_once_and_again_only_when_others_take_a_core() -> None:
    """The quiet demo was 9 % slower with the tuner than without: a trial of one thread fewer every hold, each
    step of it 60 % slower. Once fewer has lost, it is tried again only where others hold a core."""
    others = Others(0.2)
    steps = Steps({2: 0.10, 1: 0.16}, load=others)
    steps.run(120)
    assert steps.counts == [1, 2] and steps.tuner.threads == 2 and steps.lost(2) < 0.005
    others.cores, steps.cost = 1.0, {2: 0.40, 1: 0.15}  # another process takes a core
    steps.run(10)
    assert steps.tuner.threads == 1


def test_other_load_is_the_machines_busy_time_less_this_processs_own(tmp_path) -> None:
    stat, now, own = tmp_path / "stat", [0.0], [0.0]

    def write(busy_ticks: int, idle_ticks: int, niced_ticks: int = 0) -> None:  # two processors, alike
        line = f"{busy_ticks} {niced_ticks} 0 {idle_ticks} 0 0 0 0 0 0"
        stat.write_text(f"cpu  0 0 0 0\ncpu0 {line}\ncpu1 {line}\nintr 1 2\n")

    write(1000, 1000)
    load = threads.OtherLoad(str(stat), clock=lambda: now[0], own=lambda: own[0])
    load.cpus, load.tick, load.niced = {"cpu0", "cpu1"}, 100, False
    now[0], own[0] = 2.0, 1.0  # 2 s: 400 ticks busy in all (2 cores x 2 s), 1 s of it this process's
    write(1200, 1000)
    assert load.since_last() == pytest.approx(1.5)  # (4 s - 1 s) / 2 s
    assert load.since_last() is None  # no time has passed: nothing to tell
    now[0], own[0] = 4.0, 2.0  # 2 s more: this process 1 s, a niced job the other 3 s: background, not counted
    write(1250, 1000, 150)
    assert load.since_last() == pytest.approx(0.0)
    assert threads.OtherLoad(str(tmp_path / "absent")).since_last() is None  # not Linux: unknown
    assert [threads.free_threads(x, 2) for x in (None, 0.0, 0.4, 0.9, 1.6, 3.0)] == [2, 2, 2, 1, 1, 1]


def test_steps_marked_first_and_a_small_difference_do_not_decide() -> None:
    steps = Steps({2: 0.10, 1: 0.098})
    steps.run(60)
    assert steps.tuner.threads == 2  # within BETTER: noise, not a verdict
    tuner = threads.Tuner(pytest.fail, 2, clock=lambda: 100.0)
    for _ in range(10 * threads.TRIAL_STEPS):
        tuner.step(first=True)
    assert tuner.times == {}
    threads.Tuner(pytest.fail, 1).timed(1.0)  # one thread: nothing to choose


def test_cores_counts_a_core_once_whatever_its_hardware_threads(tmp_path, monkeypatch) -> None:
    for cpu, siblings in enumerate(("0,2", "1,3", "0,2", "1,3", "4")):
        (tmp_path / f"cpu{cpu}").mkdir()
        (tmp_path / f"cpu{cpu}" / "siblings").write_text(siblings + "\n")
    monkeypatch.setattr(threads, "TOPOLOGY", str(tmp_path / "cpu{}" / "siblings"))
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 7}, raising=False)
    assert threads.cores() == 4  # two cores of two threads, one of one, and a processor /sys does not describe
