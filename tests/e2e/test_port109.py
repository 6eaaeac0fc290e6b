"""Port 109 itself: one greeting for POP1 and POP2, the first command
choosing the front-end (PROTOCOLS.md §0), inetd mode, and what the log
records (state changes, the session's end, never a password)."""
import re
import subprocess
import time
import unittest

from fixtures import message
from fixtures import fast_wire_form as wire_form
from harness import BINARY, mbox_from
from port109_client import GREETING_RE, Server109, number

M1 = message(b"one", b"First.\n")
M2 = message(b"two", b"Second.\n")


def server():
    return Server109(mbox={"alice": mbox_from([M1, M2])})


class FirstCommand(unittest.TestCase):

    def test_greeting_is_rfc937_form_with_one_space(self):
        with server() as s:
            c = s.connect(s.pop2_port)
            g = c.line()
            self.assertTrue(GREETING_RE.match(g), g)
            self.assertTrue(g.startswith("+ POP2 "))   # a POP1 client sees "+"
            self.assertLessEqual(len(g) + 2, 512)

    def test_user_selects_pop1(self):
        with server() as s:
            c = s.port109()
            self.assertEqual(c.cmd("USER alice"), "+OK")
            self.assertEqual(c.cmd("PASS wonderland"), "+OK")
            self.assertEqual(c.cmd("QUIT"), "+OK")
            self.assertIn(b"pop1 127.0.0.1", s.read_log())

    def test_helo_selects_pop2(self):
        with server() as s:
            c = s.port109()
            self.assertEqual(number(c.cmd("HELO alice wonderland"), "#"), 2)
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))

    def test_lower_case_and_leading_blanks(self):
        with server() as s:
            c = s.port109()
            self.assertEqual(c.cmd("  user alice"), "+OK")
            c = s.port109()
            self.assertTrue(c.cmd("helo alice wonderland").startswith("#2"))

    def test_quit_first_is_ok_and_close(self):
        with server() as s:
            c = s.port109()
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
            self.assertTrue(c.closed())

    def test_anything_else_first_is_error_and_close(self):
        with server() as s:
            for line in ("NOOP", "PASS wonderland", "RETR alice", "READ",
                         "USERX alice", "", "HELO", "\x01"):
                with self.subTest(line=line):
                    c = s.port109()
                    r = c.cmd(line)
                    self.assertTrue(r.startswith("- "), r)
                    self.assertTrue(c.closed())

    def test_overlong_first_line_is_error_and_close(self):
        with server() as s:
            c = s.port109()
            r = c.cmd("USER " + "a" * 2000)
            self.assertTrue(r.startswith("- "), r)
            self.assertTrue(c.closed())

    def test_drop_before_any_command(self):
        with server() as s:
            c = s.port109()
            c.close()
            c = s.port109()
            self.assertTrue(c.cmd("HELO alice wonderland").startswith("#2"))
            c.cmd("QUIT")


class Logging(unittest.TestCase):

    def test_state_changes_and_end_line(self):
        with server() as s:
            c = s.port109()
            c.cmd("HELO alice wonderland")
            n = number(c.cmd("READ"), "=")
            c.send("RETR\r\n")
            c.exact(n)
            c.cmd("ACKD")
            c.cmd("QUIT")
            c.closed()
            c = s.port109()
            c.cmd("USER alice")
            c.cmd("PASS wonderland")
            c.cmd("QUIT")
            c.closed()
            deadline = time.time() + 5
            while s.read_log().count(b"how=quit") < 2 and time.time() < deadline:
                time.sleep(0.05)
            log = s.read_log().decode()
            for change in ("AUTH -> MBOX", "MBOX -> ITEM", "ITEM -> NEXT",
                           "NEXT -> ITEM", "ITEM -> DONE",
                           "WAIT_USER -> WAIT_PASS", "WAIT_PASS -> IDLE"):
                self.assertIn(change, log)
            self.assertRegex(log, r"end: user=alice retrieved=1 octets=%d deleted=1 .*how=quit"
                             % len(wire_form(M1)))
            self.assertNotIn("wonderland", log)


class Inetd(unittest.TestCase):
    """postoffice serve -c FILE --inetd pop2: one session on stdin/stdout."""

    def run_inetd(self, s, script):
        p = subprocess.run([BINARY, "serve", "-c", s.config, "--inetd", "pop2"],
                           input=script, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_pop2_session(self):
        s = server()
        try:
            out = self.run_inetd(s, b"HELO alice wonderland\r\nREAD\r\nRETR\r\n"
                                    b"ACKD\r\nQUIT\r\n")
            w1, w2 = wire_form(M1), wire_form(M2)
            expected = (rb"\+ POP2 test\.example[^\r]*\r\n#2[^\r]*\r\n=%d[^\r]*\r\n"
                        % len(w1)) + re.escape(w1) + (rb"=%d[^\r]*\r\n\+ OK[^\r]*\r\n"
                                                       % len(w2))
            self.assertRegex(out, b"^" + expected + b"$")
            with open(s.mailbox_path("alice"), "rb") as f:
                self.assertEqual(f.read(), mbox_from([M2]))
        finally:
            s.cleanup()

    def test_pop1_session(self):
        s = server()
        try:
            out = self.run_inetd(s, b"USER alice\r\nPASS wonderland\r\nRDEL alice\r\n"
                                    b"RCEV\r\nRCVD\r\nQUIT\r\n")
            lines = out.split(b"\r\n", 4)
            self.assertTrue(GREETING_RE.match(lines[0].decode()))
            self.assertEqual(lines[1:3], [b"+OK", b"+OK"])
            count = number(lines[3].decode(), "#")
            self.assertEqual(lines[4][count:], b"+OK\r\n+OK\r\n")
            with open(s.mailbox_path("alice"), "rb") as f:
                self.assertEqual(f.read(), b"")
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
