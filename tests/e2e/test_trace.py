"""The protocol trace (src/trace.h) end to end: `trace stderr`, a trace
folder, `serve --trace` and `--trace=full` under inetd.  Every test logs in
with a password that must never appear in a trace, and checks that the
client got the protocol and nothing of the trace."""
import base64
import hashlib
import os
import re
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, Server, mbox_from
from port109_client import Server109, number

PASSWORD = "s3cr3t-Pa55"
BODY_LINE = b"The body line nobody should see in a summary."
MSG = (b"From: a@example.org\nSubject: traced\n\n" + BODY_LINE + b"\n"
       b"second line\n")
STORED = mbox_from([MSG, MSG])


def server(cls=Server, extra=""):
    return cls(users={"alice": PASSWORD}, mbox={"alice": STORED},
               extra_config=extra)


def trace_lines(log):
    """The trace lines of a log: those with C:, S: or -- after the tag."""
    return [l for l in log.decode("utf-8", "replace").splitlines()
            if re.match(r"^\S+ \S+ (C:|S:|--) ", l)]


def wait_for(s, text, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text.encode() in s.read_log():
            return s.log
        time.sleep(0.05)
    raise AssertionError("%r not in log %r" % (text, s.log[-2000:]))


class Stderr(unittest.TestCase):

    def test_pop3_logins_masked_and_annotated(self):
        with server(extra="trace stderr") as s:
            got = b""
            c = s.connect()
            greeting = c.line()
            got += greeting.encode()
            ts = re.search(r"<[^>]+>", greeting).group(0)
            digest = hashlib.md5((ts + PASSWORD).encode()).hexdigest()
            for line in ("USER alice", "PASS wrong-" + PASSWORD):
                got += c.cmd(line).encode()
            got += c.cmd("APOP alice " + digest).encode()
            got += c.cmd("STAT").encode()
            got += c.cmd("RETR 1").encode()
            got += c.multiline()
            got += c.cmd("QUIT").encode()
            c.close()
            c = s.connect()
            c.line()
            plain = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
            got += c.cmd("AUTH PLAIN " + plain).encode()
            got += c.cmd("QUIT").encode()
            c.close()
            c = s.connect()
            c.line()
            user64 = base64.b64encode(b"alice").decode()
            pass64 = base64.b64encode(PASSWORD.encode()).decode()
            got += c.cmd("AUTH LOGIN").encode()
            got += c.cmd(user64).encode()
            got += c.cmd(pass64).encode()
            got += c.cmd("QUIT").encode()
            c.close()
            log = wait_for(s, "-- end: quit")
            time.sleep(0.3)
            log = s.read_log()
        text = log.decode("utf-8", "replace")
        lines = trace_lines(log)
        self.assertTrue(lines)
        for secret in (PASSWORD, digest, plain, pass64, user64):
            self.assertNotIn(secret, text)
        self.assertIn("C: PASS ********", text)
        self.assertIn("C: APOP alice ********", text)
        self.assertIn("C: AUTH PLAIN ********", text)
        self.assertEqual(text.count("C: ********"), 2)  # both LOGIN answers
        self.assertRegex(text, r"C: STAT +\[RFC 1939 §5 STAT, TRANSACTION\]\n"
                               r"pop3 \S+ S: \+OK 2 \d+\n")
        self.assertIn("-- AUTHORIZATION -> TRANSACTION", text)
        self.assertRegex(text, r"S: <message 1: \d+ octets, 5 lines>\n\S+ \S+ S: \.\n")
        self.assertNotIn(BODY_LINE.decode(), text)
        # The client got the protocol, none of the trace.
        self.assertNotIn(b"C: ", got)
        self.assertNotIn(b"********", got)
        self.assertNotIn(b"[RFC", got)

    def test_port109_sessions_masked(self):
        with server(Server109, extra="trace stderr") as s:
            c = s.port109()
            self.assertEqual(number(c.cmd("HELO alice " + PASSWORD), "#"), 2)
            n = number(c.cmd("READ 2"), "=")
            c.send("RETR\r\n")
            data = c.exact(n)
            self.assertIn(BODY_LINE, data)
            self.assertTrue(c.cmd("ACKS").startswith("=0"))
            self.assertTrue(c.cmd("QUIT").startswith("+ OK"))
            c.close()
            c = s.port109()
            self.assertEqual(c.cmd("USER alice"), "+OK")
            self.assertEqual(c.cmd("PASS " + PASSWORD), "+OK")
            self.assertEqual(c.cmd("QUIT"), "+OK")
            c.close()
            wait_for(s, "pop1 ")
            time.sleep(0.3)
            text = s.read_log().decode("utf-8", "replace")
        self.assertNotIn(PASSWORD, text)
        self.assertIn("pop2 ", text)
        self.assertRegex(text, r"C: HELO alice \*{8} +\[RFC 937 p.7 HELO, AUTH\]")
        self.assertRegex(text, r"S: <message 2: %d octets, 5 lines>" % n)
        self.assertIn("-- ITEM -> NEXT", text)
        self.assertRegex(text, r"C: PASS \*{8} +\[RFC 918 p.3 PASS, WAIT_PASS\]")
        self.assertNotIn(BODY_LINE.decode(), text)


class Folder(unittest.TestCase):

    def test_one_private_file_per_session_bodies_in_full(self):
        folder = tempfile.mkdtemp(prefix="po-trace-")
        try:
            with server(extra="trace %s\ntrace_bodies yes" % folder) as s:
                for _ in range(2):
                    c = s.connect()
                    c.line()
                    c.cmd("USER alice")
                    self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("+OK"))
                    c.cmd("RETR 2")
                    c.multiline()
                    c.cmd("QUIT")
                    c.close()
                deadline = time.time() + 5
                while time.time() < deadline:
                    names = sorted(os.listdir(folder))
                    if len(names) == 2 and all(
                            b"-- end:" in open(os.path.join(folder, n), "rb").read()
                            for n in names):
                        break
                    time.sleep(0.05)
                self.assertNotIn(b"C: USER", s.read_log())
            self.assertEqual(len(names), 2, names)
            for name in names:
                path = os.path.join(folder, name)
                self.assertTrue(name.endswith("-pop3.trace"), name)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
                text = open(path, "rb").read().decode("utf-8", "replace")
                self.assertTrue(text.startswith("# postoffice trace: pop3 session from 127.0.0.1"))
                self.assertIn("\nC: PASS ********", text)
                self.assertNotIn(PASSWORD, text)
                self.assertIn("\nS: " + BODY_LINE.decode() + "\n", text)
                self.assertNotIn("octets, 5 lines>", text)
                self.assertIn("\n-- end: quit\n", text)
        finally:
            for n in os.listdir(folder):
                os.unlink(os.path.join(folder, n))
            os.rmdir(folder)

    def test_trace_values_checked(self):
        with server() as probe:
            conf = probe.config
            bad = os.path.join(probe.dir, "bad.conf")
            for value in ("relative/dir", "yes please"):
                with open(conf) as f, open(bad, "w") as g:
                    g.write(f.read() + "trace %s\n" % value)
                r = subprocess.run([BINARY, "serve", "-c", bad],
                                   capture_output=True, timeout=10)
                self.assertNotEqual(r.returncode, 0, value)
                self.assertIn(b"trace", r.stderr)


class Inetd(unittest.TestCase):

    SCRIPT = ("USER alice\r\nPASS %s\r\nRETR 1\r\nQUIT\r\n" % PASSWORD).encode()

    def run_inetd(self, s, args, stderr_is_socket):
        ours, theirs = socket.socketpair()
        p = subprocess.Popen(
            [BINARY, "serve", "-c", s.config, "--inetd", "pop3"] + args,
            stdin=theirs, stdout=theirs,
            stderr=theirs if stderr_is_socket else subprocess.PIPE)
        theirs.close()
        ours.sendall(self.SCRIPT)
        got = b""
        ours.settimeout(10)
        while True:
            chunk = ours.recv(65536)
            if not chunk:
                break
            got += chunk
        ours.close()
        err = p.stderr.read() if p.stderr else b""
        p.wait(timeout=10)
        return got, err

    def test_trace_full_on_stderr(self):
        with server() as s:
            got, err = self.run_inetd(s, ["--trace=full"], False)
        self.assertIn(BODY_LINE, got)
        self.assertNotIn(b"C: ", got)
        self.assertIn(b"C: PASS ********", err)
        self.assertIn(b"S: " + BODY_LINE + b"\n", err)
        self.assertNotIn(PASSWORD.encode(), err)

    def test_stderr_that_is_the_connection_is_not_traced(self):
        with server() as s:
            got, _ = self.run_inetd(s, ["--trace"], True)
        self.assertIn(b"+OK", got)
        self.assertNotIn(b"C: USER", got)
        self.assertNotIn(b"S: +OK", got)
        self.assertNotIn(b"<message 1", got)


if __name__ == "__main__":
    unittest.main()
