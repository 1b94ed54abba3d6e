"""The X server asked directly through libxcb (ctypes: no new dependency, no PyTorch, Python 3.8): whether one
answers, and whether the X window that shows one of our OpenCV windows still exists.

OpenCV's Qt back end never notices a window that another client destroyed (`xdotool windowclose`, a session
tool's cleanup): its window property stays 1.0 for ever, no key comes, and a loop that waits for the window to
close runs on with nothing on screen. The server knows; so ask it."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time

WM_NAME = 39  # a predefined atom
SEARCH_DEPTH = 3  # the root's children; a window manager's frame around ours; one more for managers that wrap twice
CHECK_EVERY = 0.25  # seconds between two questions to the server: a frame costs a clock read, nothing more
SEARCH_TRIES = 40  # a window not found in this many checks (10 s) is one the server cannot show us (Wayland...)


class _Cookie(ctypes.Structure):
    _fields_ = [("sequence", ctypes.c_uint)]


class _ScreenIterator(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint32)), ("rem", ctypes.c_int), ("index", ctypes.c_int)]


class _AtomReply(ctypes.Structure):
    _fields_ = [("response_type", ctypes.c_uint8), ("pad0", ctypes.c_uint8), ("sequence", ctypes.c_uint16),
                ("length", ctypes.c_uint32), ("atom", ctypes.c_uint32)]


_P = ctypes.c_void_p
_U32 = ctypes.c_uint32
_REPLY = [_P, _Cookie, ctypes.POINTER(_P)]
_SIGNATURES = {  # name: (result, arguments), as xcb.h and xproto.h declare them
    "xcb_connect": (_P, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
    "xcb_connection_has_error": (ctypes.c_int, [_P]),
    "xcb_disconnect": (None, [_P]),
    "xcb_get_setup": (_P, [_P]),
    "xcb_setup_roots_iterator": (_ScreenIterator, [_P]),
    "xcb_screen_next": (None, [ctypes.POINTER(_ScreenIterator)]),
    "xcb_intern_atom": (_Cookie, [_P, ctypes.c_uint8, ctypes.c_uint16, ctypes.c_char_p]),
    "xcb_intern_atom_reply": (ctypes.POINTER(_AtomReply), _REPLY),
    "xcb_query_tree": (_Cookie, [_P, _U32]),
    "xcb_query_tree_reply": (_P, _REPLY),
    "xcb_query_tree_children": (ctypes.POINTER(_U32), [_P]),
    "xcb_query_tree_children_length": (ctypes.c_int, [_P]),
    "xcb_get_property": (_Cookie, [_P, ctypes.c_uint8, _U32, _U32, _U32, _U32, _U32]),
    "xcb_get_property_reply": (_P, _REPLY),
    "xcb_get_property_value": (_P, [_P]),
    "xcb_get_property_value_length": (ctypes.c_int, [_P]),
    "xcb_get_window_attributes": (_Cookie, [_P, _U32]),
    "xcb_get_window_attributes_reply": (_P, _REPLY),
}


def load_xcb() -> ctypes.CDLL | None:
    """libxcb with its types declared, or None where there is none (Windows, macOS, a system without X)."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return None
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return None
    for function, (result, arguments) in _SIGNATURES.items():
        getattr(xcb, function).restype = result
        getattr(xcb, function).argtypes = arguments
    return xcb


def x_server_answers() -> bool:
    """Whether the X server that DISPLAY names accepts a connection. Qt aborts the whole process when it does
    not (no summary, no saved files), so ask libxcb first, as Qt itself would; True where that cannot be told."""
    xcb = load_xcb() if os.environ.get("DISPLAY") else None
    if xcb is None:
        return True
    connection = xcb.xcb_connect(None, None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


class _Server:
    """One connection and the few requests the watch needs; every reply and error freed."""

    def __init__(self, xcb: ctypes.CDLL) -> None:
        self.xcb, self._free = xcb, ctypes.CDLL(None).free
        self._free.argtypes = [_P]
        screen = ctypes.c_int(0)
        self.connection = xcb.xcb_connect(None, ctypes.byref(screen))
        self.ok = xcb.xcb_connection_has_error(self.connection) == 0
        self.root = self._root(screen.value) if self.ok else 0

    def _root(self, screen: int) -> int:
        roots = self.xcb.xcb_setup_roots_iterator(self.xcb.xcb_get_setup(self.connection))
        for _ in range(screen):
            self.xcb.xcb_screen_next(ctypes.byref(roots))
        return roots.data[0] if roots.rem > 0 else 0  # xcb_screen_t begins with its root window

    def _reply(self, function: str, cookie: _Cookie) -> int | None:
        """The reply's address, None on an error (a window destroyed meanwhile) or a broken connection."""
        error = _P()
        reply = getattr(self.xcb, function)(self.connection, cookie, ctypes.byref(error))
        if error.value:
            self._free(error)
        return reply or None

    def atom(self, name: bytes) -> int:
        reply = self.xcb.xcb_intern_atom_reply(self.connection, self.xcb.xcb_intern_atom(
            self.connection, 0, len(name), name), None)
        if not reply:
            return 0
        atom = reply.contents.atom
        self._free(reply)
        return atom

    def children(self, parents: list[int]) -> list[int]:
        """The child windows of each parent, asked all at once (one round trip, however many parents)."""
        cookies = [self.xcb.xcb_query_tree(self.connection, p) for p in parents]
        found: list[int] = []
        for cookie in cookies:
            reply = self._reply("xcb_query_tree_reply", cookie)
            if reply:
                ids = self.xcb.xcb_query_tree_children(reply)
                found.extend(ids[i] for i in range(self.xcb.xcb_query_tree_children_length(reply)))
                self._free(reply)
        return found

    def properties(self, windows: list[int], atom: int) -> list[bytes | None]:
        """One property of each window (any type, up to 1 KiB), asked all at once; None where it is not set."""
        cookies = [self.xcb.xcb_get_property(self.connection, 0, w, atom, 0, 0, 256) for w in windows]
        values: list[bytes | None] = []
        for cookie in cookies:
            reply = self._reply("xcb_get_property_reply", cookie)
            value = None
            if reply:
                size = self.xcb.xcb_get_property_value_length(reply)
                value = ctypes.string_at(self.xcb.xcb_get_property_value(reply), size) if size else None
                self._free(reply)
            values.append(value)
        return values

    def exists(self, window: int) -> bool:
        """False once the server answers that the window is gone (BadWindow). A broken connection says nothing:
        Qt ends the process itself when the server goes."""
        reply = self._reply("xcb_get_window_attributes_reply", self.xcb.xcb_get_window_attributes(
            self.connection, window))
        if reply:
            self._free(reply)
            return True
        return self.xcb.xcb_connection_has_error(self.connection) != 0

    def close(self) -> None:
        self.xcb.xcb_disconnect(self.connection)


class WindowWatch:
    """Whether the top-level X window of this process titled `title` has been destroyed. It is found once (its
    _NET_WM_PID is ours and its _NET_WM_NAME or WM_NAME the title), then asked after at most every CHECK_EVERY
    seconds. Where it cannot be told (no X, Wayland, no libxcb, no such window) it never says gone."""

    def __init__(self, title: str) -> None:
        self.title = title.encode()
        self.window: int | None = None
        self._server: _Server | None = None
        self._tries, self._next, self._gone = 0, 0.0, False
        self._given_up = not os.environ.get("DISPLAY")

    def gone(self) -> bool:
        now = time.monotonic()
        if self._gone or self._given_up or now < self._next:
            return self._gone
        self._next = now + CHECK_EVERY
        if self.window is None:
            self.window = self._find()
        elif self._server is not None and not self._server.exists(self.window):
            self._gone = True
            self.close()
        return self._gone

    def _find(self) -> int | None:
        if self._server is None:
            xcb = load_xcb()
            self._server = _Server(xcb) if xcb is not None else None
        self._tries += 1
        found = self._search(self._server) if self._server is not None and self._server.ok else None
        if found is None and (self._server is None or not self._server.ok or self._tries >= SEARCH_TRIES):
            self.close()
            self._given_up = True
        return found

    def _search(self, server: _Server) -> int | None:
        pid_atom, name_atom = server.atom(b"_NET_WM_PID"), server.atom(b"_NET_WM_NAME")
        ours = os.getpid().to_bytes(4, sys.byteorder)  # X answers in the client's byte order
        level = [server.root]
        for _ in range(SEARCH_DEPTH):
            level = server.children(level)
            mine = [w for w, pid in zip(level, server.properties(level, pid_atom)) if pid == ours]
            names = zip(server.properties(mine, name_atom), server.properties(mine, WM_NAME))
            for window, (net_name, name) in zip(mine, names):
                if self.title in (net_name, name):
                    return window
        return None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
