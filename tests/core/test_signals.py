"""The one stop mechanism: Ctrl-C, SIGTERM and SIGHUP become a request that critical sections hold back and
safe points take; the CLI's exit code is 128 + the signal number."""

import os
import signal

import pytest

from thumbs.core import files, signals


def test_a_deferred_section_finishes_and_hands_the_signal_on_to_the_handler_before(tmp_path):
    done = []
    with pytest.raises(KeyboardInterrupt), signals.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        files.write_atomic(tmp_path / "a", b"a")  # nested: does not raise here
        done.append("b")
        files.write_atomic(tmp_path / "b", b"b")
    assert done == ["b"] and (tmp_path / "b").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_request_in_a_write_is_never_raised_from_it_but_taken_at_the_next_safe_point(tmp_path, signum):
    with signals.stop_signals(hand_on=False):
        with signals.deferred():
            os.kill(os.getpid(), signum)
        path = files.write_atomic(tmp_path / "x", b"complete")  # returns: the request is not raised here
        assert path.read_bytes() == b"complete" and signals.requested() == signum
        with pytest.raises(signals.Stopped) as stopped:
            signals.check()
    assert stopped.value.signum == signum and signals.exit_code(signum) == 128 + signum
    assert signals.requested() is None  # the scope is over: the next command starts afresh


def test_outside_a_critical_section_the_signal_stops_at_once():
    with pytest.raises(signals.Stopped) as stopped, signals.stop_signals(hand_on=False):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**8):  # a long computation: interrupted, not finished
            pass
    assert stopped.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_second_signal_stops_a_frame_at_once_but_never_cuts_a_write(tmp_path):
    with pytest.raises(signals.Stopped), signals.stop_signals(hand_on=False), signals.deferred(second_stops=True):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**8):
            pass
    with signals.stop_signals(hand_on=False):
        with signals.deferred():
            for _ in range(3):
                os.kill(os.getpid(), signal.SIGTERM)
            files.write_atomic(tmp_path / "x", b"whole")
        assert signals.requested() == signal.SIGTERM
    assert (tmp_path / "x").read_bytes() == b"whole"


def test_an_ignored_signal_stays_ignored(tmp_path):
    """`nohup thumbs live ...`: a closed terminal must not stop it."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with signals.stop_signals(hand_on=False):
            os.kill(os.getpid(), signal.SIGHUP)
            assert signals.requested() is None
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_the_exit_codes_follow_the_shell_rule():
    assert [signals.exit_code(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, None)] == [130, 143, 129, 130]
