"""The one log line per session end: user, client address, protocol,
messages and octets retrieved, messages deleted and how the session ended,
for a QUIT, a drop and a timeout; and never a password, even with the
protocol trace on."""
import base64
import re
import time
import unittest

from fixtures import message, raw_login, server_with, wire_form

M1 = message(b"one", b"First.\n")
M2 = message(b"two", b"Second.\n")
SECRET = "s3cr3t-Pa55w0rd"
END = re.compile(rb"postoffice\[\d+\] (pop3|pop2|pop1) 127\.0\.0\.1:(\d+): end: user=(\S+) "
                 rb"retrieved=(\d+) octets=(\d+) deleted=(\d+) in=\d+ out=\d+ how=(.+)\n")


def ends(s, n, seconds=10):
    """The first N session-end lines, as dicts, waiting for them."""
    deadline = time.time() + seconds
    while True:
        found = [dict(zip(("proto", "port", "user", "retrieved", "octets", "deleted", "how"),
                          (g.decode() for g in m.groups())))
                 for m in END.finditer(s.read_log())]
        if len(found) >= n or time.time() > deadline:
            return found
        time.sleep(0.1)


class SessionEndLine(unittest.TestCase):
    def test_quit_drop_and_timeout(self):
        with server_with("mbox", [M1, M2], password=SECRET,
                         extra_config="timeout_login 1") as s:
            c = raw_login(s, password=SECRET)
            quit_port = c.sock.getsockname()[1]
            self.assertTrue(c.cmd("RETR 2").startswith("+OK"))
            c.multiline()
            self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            c.close()

            c = raw_login(s, password=SECRET)
            drop_port = c.sock.getsockname()[1]
            self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
            c.multiline()
            self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
            c.close()

            c = s.connect(s.pop2_port)
            idle_port = c.sock.getsockname()[1]
            c.line()
            self.assertTrue(c.closed(10))

            got = {e["port"]: e for e in ends(s, 3)}
            self.assertEqual(got[str(quit_port)], {
                "proto": "pop3", "port": str(quit_port), "user": "alice", "retrieved": "1",
                "octets": str(len(wire_form(M2))), "deleted": "1", "how": "quit"})
            self.assertEqual(got[str(drop_port)], {
                "proto": "pop3", "port": str(drop_port), "user": "alice", "retrieved": "1",
                "octets": str(len(wire_form(M2))), "deleted": "0", "how": "disconnected"})
            self.assertEqual(got[str(idle_port)], {
                "proto": "pop2", "port": str(idle_port), "user": "-", "retrieved": "0",
                "octets": "0", "deleted": "0", "how": "timeout"})
            self.assertNotIn(SECRET.encode(), s.read_log())


class NoPasswordInLogs(unittest.TestCase):
    def test_not_even_with_the_full_trace(self):
        plain = base64.b64encode(b"\0alice\0" + SECRET.encode()).decode()
        login = base64.b64encode(SECRET.encode()).decode()
        with server_with("mbox", [M1], password=SECRET,
                         extra_config="trace stderr\ntrace_bodies yes") as s:
            for script in (["USER alice", "PASS " + SECRET],
                           ["USER alice", "PASS wrong-" + SECRET],
                           ["AUTH PLAIN " + plain],
                           ["AUTH LOGIN", base64.b64encode(b"alice").decode(), login]):
                c = s.connect()
                c.line()
                for line in script:
                    c.cmd(line)
                c.cmd("QUIT")
                c.close()
            c = s.connect(s.pop2_port)
            c.line()
            c.cmd("HELO alice " + SECRET)
            c.cmd("QUIT")
            c.close()
            c = s.connect(s.pop2_port)
            c.line()
            c.cmd("USER alice")
            c.cmd("PASS " + SECRET)
            c.close()
            found = ends(s, 6)
            self.assertEqual(sorted(e["proto"] for e in found),
                             ["pop1", "pop2", "pop3", "pop3", "pop3", "pop3"])
            self.assertEqual([e["how"] for e in found if e["proto"] == "pop1"], ["disconnected"])
            log = s.read_log()
            self.assertIn(b"S: +OK", log)  # the trace is on
            for secret in (SECRET, plain, login):
                self.assertNotIn(secret.encode(), log)


if __name__ == "__main__":
    unittest.main()
