"""The hostile-client suite, over the real server, for POP3 and port 109
(POP1 and POP2): junk, overlong lines, NUL bytes, commands out of state,
numbers that would wrap, broken authentication, folder names that try to
be paths, a client that stops reading in the middle of a 10 MB message,
a thousand connections that never speak, and drops in the middle of a
command or a transfer.  After each: the server still serves a normal
session and the maildrop is byte-identical."""
import hashlib
import os
import re
import resource
import socket
import struct
import threading
import time
import unittest

from fixtures import (PASSWORD, USER, big_message, mailbox_snapshot, message, raw_login,
                      read_multiline, server_with, wire_form)
from harness import Conn, children, unstuff
from test_pop3_robustness import login_retry

M1 = message(b"one", b"First.\n")
M2 = message(b"two", b"Second.\n.dot\n")
MSGS = [M1, M2]
STAT = "+OK 2 %d" % sum(len(wire_form(m)) for m in MSGS)
JUNK = bytes((i * 7919 + 13) % 256 for i in range(4096))


def session_ok(s, seconds=10):
    """A normal POP3 session, retrying while an ending session still
    holds the maildrop; returns its STAT reply."""
    c = login_retry(s, seconds)
    stat = c.cmd("STAT")
    assert c.cmd("QUIT").startswith("+OK")
    c.close()
    return stat


def drop(c):
    """Closes with a TCP reset: the abrupt disconnect of a dead client."""
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def port109(s):
    c = s.connect(s.pop2_port)
    assert c.line().startswith("+ POP2")
    return c


class Hostile(unittest.TestCase):
    """Each test runs on a fresh server; tearDown checks the promise."""

    kind = "mbox"

    def setUp(self):
        self.s = server_with(self.kind, MSGS).start()
        self.before = mailbox_snapshot(self.s)

    def tearDown(self):
        try:
            self.assertEqual(session_ok(self.s), STAT)
            self.assertEqual(mailbox_snapshot(self.s), self.before)
            self.assertIsNone(self.s.proc.poll(), "the daemon died")
            self.assertNotIn(b"killed by signal", self.s.read_log())
        finally:
            self.s.cleanup()

    # ---- junk, long lines, NUL ----

    def test_pop3_binary_junk_before_and_after_login(self):
        c = self.s.connect()
        c.line()
        c.send(JUNK + b"\r\n")
        self.assertTrue(c.closed(10) or c.buf.startswith(b"-ERR"))
        c = raw_login(self.s)
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        c.send(JUNK + b"\r\n")
        c.closed(10)  # closed for too many bad commands, or still open
        replies = [l for l in c.buf.split(b"\r\n") if l]
        self.assertTrue(replies)
        self.assertTrue(all(l.startswith(b"-ERR") for l in replies), replies)
        drop(c)

    def test_pop3_megabyte_line_and_nul(self):
        c = self.s.connect()
        c.line()
        c.send(b"USER " + b"A" * (1 << 20) + b"\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        c.send(b"USER alice\x00\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        self.assertTrue(c.cmd("USER alice").startswith("+OK"))
        self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))
        c.send(b"DELE 1" + b"X" * (1 << 20) + b"\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        c.send(b"DELE\x001\r\n")
        self.assertTrue(c.line().startswith("-ERR"))
        self.assertEqual(c.cmd("STAT"), STAT)
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_port109_junk_megabyte_line_and_nul(self):
        for data in (JUNK + b"\r\n", b"HELO " + b"A" * (1 << 20) + b"\r\n",
                     b"HELO alice\x00 x\r\n", b"USER alice\x00\r\n"):
            c = port109(self.s)
            c.send(data)
            self.assertTrue(c.closed(10) or c.buf[:1] in (b"-", b""), data[:20])
            self.assertNotIn(b"#", c.buf[:1])
            c.close()

    # ---- commands in the wrong state ----

    def test_pop3_commands_in_the_wrong_state(self):
        c = self.s.connect()
        c.line()
        for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "RSET", "TOP 1 0", "UIDL", "PASS x"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        c.cmd("USER alice")
        self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))
        for cmd in ("USER alice", "PASS x", "APOP alice 0123", "AUTH PLAIN"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        self.assertEqual(c.cmd("STAT"), STAT)
        drop(c)

    def test_port109_commands_in_the_wrong_state(self):
        c = port109(self.s)
        for cmd in ("READ", "RETR", "ACKD", "ACKS", "NACK", "FOLD x"):
            r = c.cmd(cmd)
            self.assertTrue(r.startswith("-"), (cmd, r))
            break  # POP2 closes after a protocol error (RFC 937 p.23)
        c.close()
        c = port109(self.s)
        self.assertTrue(c.cmd("HELO alice " + PASSWORD).startswith("#2"))
        self.assertTrue(c.cmd("ACKD").startswith("-"))  # ACKD before any RETR
        c.close()
        c = port109(self.s)  # POP1
        self.assertTrue(c.cmd("RCEV").startswith("-"))
        c.close()
        c = port109(self.s)
        self.assertEqual(c.cmd("USER alice"), "+OK")
        self.assertEqual(c.cmd("PASS " + PASSWORD), "+OK")
        for cmd in ("RCEV", "RCVD"):
            self.assertTrue(c.cmd(cmd).startswith("-"), cmd)
        drop(c)

    # ---- numbers ----

    def test_pop3_numbers_that_would_wrap(self):
        c = raw_login(self.s)
        for cmd in ("LIST 4294967297", "RETR -1", "DELE 4294967297", "RETR 18446744073709551617",
                    "LIST 0", "RETR +1"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        self.assertTrue(c.cmd("TOP 1 99999999999").startswith("+OK"))
        self.assertEqual(unstuff(c.multiline()), wire_form(M1))
        self.assertEqual(c.cmd("STAT"), STAT)
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_pop2_numbers_that_would_wrap(self):
        c = port109(self.s)
        self.assertTrue(c.cmd("HELO alice " + PASSWORD).startswith("#2"))
        for n in ("4294967297", "18446744073709551617"):
            self.assertEqual(c.cmd("READ " + n), "=0 no message", n)
        self.assertTrue(c.cmd("READ -1").startswith("-"))
        c.close()

    # ---- authentication ----

    def test_apop_with_a_wrong_digest(self):
        c = self.s.connect()
        greeting = c.line()
        stamp = re.search(r"(<[^>]+>)$", greeting).group(1)
        wrong = hashlib.md5((stamp + "not the secret").encode()).hexdigest()
        self.assertTrue(c.cmd("APOP alice " + wrong).startswith("-ERR"))
        self.assertTrue(c.cmd("APOP alice " + "z" * 32).startswith("-ERR"))
        self.assertTrue(c.cmd("APOP alice").startswith("-ERR"))
        right = hashlib.md5((stamp + PASSWORD).encode()).hexdigest()
        self.assertTrue(c.cmd("APOP alice " + right).startswith("+OK"))
        self.assertEqual(c.cmd("STAT"), STAT)
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_auth_with_broken_base64(self):
        c = self.s.connect()
        c.line()
        self.assertTrue(c.cmd("AUTH PLAIN !!!not-base64!!!").startswith("-ERR"))
        self.assertTrue(c.cmd("AUTH PLAIN AGFsaWNl=x").startswith("-ERR"))
        self.assertTrue(c.cmd("AUTH PLAIN").startswith("+"))
        self.assertTrue(c.cmd("\x00\xff====").startswith("-ERR"))
        self.assertTrue(c.cmd("AUTH LOGIN").startswith("+"))
        self.assertTrue(c.cmd("YWxp*2U=").startswith("-ERR"))
        self.assertTrue(c.cmd("AUTH CRAM-MD5").startswith("+"))
        self.assertTrue(c.cmd("=" * 300).startswith("-ERR"))
        self.assertTrue(c.cmd("USER alice").startswith("+OK"))
        self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    # ---- folder names ----

    def test_folder_names_that_try_to_be_paths(self):
        outside = os.path.join(self.s.dir, "outside")
        with open(outside, "wb") as f:
            f.write(b"From x Mon Nov 23 10:00:00 2026\nSubject: outside\n\nsecret\n")
        listing = sorted(os.listdir(self.s.dir))
        names = ["/etc/passwd", "../outside", "..", ".", "../../outside", "a/b",
                 ".hidden", "inbox/../../outside"]
        controls = ["x\x01y", "x\x7fy", "x\x1b[2Jy", "outside\x00"]
        c = port109(self.s)
        self.assertTrue(c.cmd("HELO alice " + PASSWORD).startswith("#2"))
        for name in names:
            self.assertEqual(c.cmd("FOLD " + name), "#0 messages", repr(name))
        self.assertTrue(c.cmd("FOLD INBOX").startswith("#2"))
        c.close()
        # Control characters never reach a folder lookup: the line itself
        # is refused ("-", and POP2 closes).
        for name in controls:
            c = port109(self.s)
            self.assertTrue(c.cmd("HELO alice " + PASSWORD).startswith("#2"))
            self.assertTrue(c.cmd("FOLD " + name).startswith("- "), repr(name))
            self.assertTrue(c.closed())
        c = port109(self.s)
        self.assertEqual(c.cmd("USER alice"), "+OK")
        self.assertEqual(c.cmd("PASS " + PASSWORD), "+OK")
        for name in names + controls:
            for verb in ("RETR", "RDEL"):
                r = c.cmd("%s %s" % (verb, name))
                self.assertTrue(r.startswith("-"), (verb, name, r))
        c.close()
        self.assertEqual(sorted(os.listdir(self.s.dir)), listing)
        with open(outside, "rb") as f:
            self.assertIn(b"secret", f.read())

    # ---- drops ----

    def test_drops_mid_command(self):
        for port in (self.s.pop3_port, self.s.pop2_port):
            c = self.s.connect(port)
            c.line()
            c.send(b"USER ali")
            drop(c)
        c = raw_login(self.s)
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        c.send(b"DELE 2\r\nQU")
        drop(c)
        c = port109(self.s)
        self.assertTrue(c.cmd("HELO alice " + PASSWORD).startswith("#2"))
        self.assertTrue(c.cmd("READ 1").startswith("="))
        c.send("RETR\r\n")
        c.exact(len(wire_form(M1)))
        c.send("ACKD\r\nQU")
        drop(c)


class HostileMaildir(Hostile):
    kind = "maildir"

    # The number, state and folder tests do not depend on the backend.
    test_pop3_numbers_that_would_wrap = None
    test_pop2_numbers_that_would_wrap = None
    test_apop_with_a_wrong_digest = None
    test_auth_with_broken_base64 = None
    test_folder_names_that_try_to_be_paths = None
    test_pop3_commands_in_the_wrong_state = None
    test_port109_commands_in_the_wrong_state = None
    test_port109_junk_megabyte_line_and_nul = None


class BigTransfers(unittest.TestCase):
    """A 10 MB message, and clients that stop reading or vanish mid-way."""

    def server(self):
        big = big_message()
        s = server_with("mbox", [big, M1], users={USER: PASSWORD, "bob": "b"},
                        extra_config="timeout_write 3")
        s.start()
        with open(s.mailbox_path("bob"), "wb") as f:
            f.write(open(s.mailbox_path(USER), "rb").read())
        return s, big

    def stuck_reader(self, s, port):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        return Conn(sock)

    def test_client_that_stops_reading(self):
        s, big = self.server()
        try:
            before = mailbox_snapshot(s)
            for port, proto in ((s.pop3_port, "pop3"), (s.pop2_port, "pop2")):
                c = self.stuck_reader(s, port)
                c.line()
                if proto == "pop3":
                    c.cmd("USER " + USER)
                    self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))
                    self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
                    c.send("RETR 1\r\nQUIT\r\n")
                else:
                    self.assertTrue(c.cmd("HELO %s %s" % (USER, PASSWORD)).startswith("#2"))
                    self.assertTrue(c.cmd("READ 1").startswith("="))
                    c.send("RETR\r\nACKD\r\nQUIT\r\n")
                t = time.monotonic()
                # Meanwhile another user is served normally, start to end.
                b = s.connect()
                b.line()
                b.cmd("USER bob")
                self.assertTrue(b.cmd("PASS b").startswith("+OK"))
                self.assertTrue(b.cmd("RETR 1").startswith("+OK"))
                self.assertEqual(read_multiline(b), wire_form(big).replace(b"\r\n.", b"\r\n.."))
                self.assertTrue(b.cmd("QUIT").startswith("+OK"))
                # The stuck session ends at the write timer, not before the
                # bytes stopped moving, and deletes nothing.
                deadline = time.monotonic() + 20
                while (b"how=i/o error" not in s.read_log() or
                       s.read_log().count(b"end: user=alice") < (1 if proto == "pop3" else 2)):
                    self.assertLess(time.monotonic(), deadline, s.read_log()[-2000:])
                    time.sleep(0.2)
                self.assertGreater(time.monotonic() - t, 2.5)
                c.close()
                self.assertEqual(mailbox_snapshot(s), before)
            self.assertEqual(session_ok(s), "+OK 2 %d" % (len(wire_form(big)) + len(wire_form(M1))))
        finally:
            s.cleanup()

    def test_client_that_vanishes_mid_retr(self):
        s, big = self.server()
        try:
            before = mailbox_snapshot(s)
            c = self.stuck_reader(s, s.pop3_port)
            c.line()
            c.cmd("USER " + USER)
            self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))
            self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
            c.send("RETR 1\r\n")
            c.exact(100000)
            drop(c)
            # The vanished session's process lets go of the maildrop once
            # its next write fails; until then a new session is refused.
            deadline = time.monotonic() + 10
            while True:
                c = port109(s)
                reply = c.cmd("HELO %s %s" % (USER, PASSWORD))
                if not reply.startswith("- ") or time.monotonic() > deadline:
                    break
                c.close()
                time.sleep(0.1)
            self.assertTrue(reply.startswith("#2"), reply)
            self.assertTrue(c.cmd("READ 1").startswith("="))
            c.send("RETR\r\n")
            c.exact(100000)
            drop(c)
            # Gone clients end their sessions long before the write timer.
            self.assertEqual(session_ok(s, seconds=2.5),
                             "+OK 2 %d" % (len(wire_form(big)) + len(wire_form(M1))))
            self.assertEqual(mailbox_snapshot(s), before)
        finally:
            s.cleanup()


class SilentFlood(unittest.TestCase):
    N = 1000

    def test_thousand_connections_that_never_send_a_byte(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = self.N + 200
        if soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
        self.assertGreaterEqual(resource.getrlimit(resource.RLIMIT_NOFILE)[0], need)
        s = server_with("mbox", MSGS, extra_config="max_sessions %d\nmax_sessions_per_host %d"
                        % (self.N + 10, self.N + 10)).start()
        socks = []
        # A thousand sessions log more than a pipe holds: read the log
        # while they start, or their log lines would block them.
        reading = threading.Event()

        def drain_log():
            while not reading.is_set():
                s.read_log()
                time.sleep(0.05)
        reader = threading.Thread(target=drain_log)
        reader.start()
        try:
            before = mailbox_snapshot(s)
            for i in range(self.N):
                port = s.pop3_port if i % 2 == 0 else s.pop2_port
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=30))
            # Every one was accepted and greeted: none refused, none dropped.
            for sk in socks:
                g = b""
                while not g.endswith(b"\r\n"):
                    chunk = sk.recv(512)
                    self.assertTrue(chunk, "closed before the greeting")
                    g += chunk
                self.assertTrue(g.startswith((b"+OK POP3", b"+ POP2")), g)
            self.assertGreaterEqual(len(children(s.proc.pid)), self.N)
            self.assertEqual(session_ok(s), STAT)
            for sk in socks:
                sk.close()
            socks = []
            deadline = time.time() + 30
            while children(s.proc.pid) and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(children(s.proc.pid), [])
            reading.set()
            reader.join()
            self.assertEqual(session_ok(s), STAT)
            self.assertEqual(mailbox_snapshot(s), before)
            self.assertNotIn(b"refused", s.read_log())
        finally:
            reading.set()
            reader.join()
            for sk in socks:
                sk.close()
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
