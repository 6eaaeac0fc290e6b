"""docs/tour.md is true: its POP1, POP2 and POP3 sessions are replayed
against the demo maildrop and every server line it shows must come back
(`...` stands for the greeting's varying text), and every line of its
trace excerpts must appear in the server's trace.

The demo's own ports are fixed (1110, 1109), so the demo is only asked to
create its files (`serve --inetd` with POSTOFFICE_DEMO_DIR binds nothing),
and a server with the same files listens on port 0."""
import os
import re
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, Server

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BLOCK = re.compile(r"^```(pop1|pop2|pop3|trace)\n(.*?)^```$", re.M | re.S)


def pattern(text):
    """The expected line as a regex: literal, with "..." matching anything."""
    return ".*".join(re.escape(part) for part in text.split("..."))


class DemoServer(Server):
    """The harness's Server over the demo's files, on port 0, traced."""

    def __init__(self, demo):
        self.dir = demo
        self.config = os.path.join(demo, "tour.conf")
        with open(self.config, "w") as f:
            f.write("listen pop3 127.0.0.1:0\n"
                    "listen pop2 127.0.0.1:0\n"
                    "passwd {0}/passwd\n"
                    "mailbox {0}/mail/%u\n"
                    "folders {0}/folders/%u\n"
                    "hostname localhost\n"
                    "trace stderr\n".format(demo))
        self.proc = None
        self.log = b""


def make_demo():
    demo = tempfile.mkdtemp(prefix="po-tour-")
    env = dict(os.environ, POSTOFFICE_DEMO_DIR=demo)
    p = subprocess.run([BINARY, "serve", "--inetd", "pop3"], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    assert b"postoffice demo: mail in " + demo.encode() in p.stderr, p.stderr
    return demo


class Tour(unittest.TestCase):

    def setUp(self):
        with open(os.path.join(ROOT, "docs", "tour.md"), encoding="utf-8") as f:
            self.blocks = BLOCK.findall(f.read())

    def test_the_tour_has_every_protocol(self):
        kinds = [k for k, _ in self.blocks]
        for k in ("pop1", "pop2", "pop3", "trace"):
            self.assertIn(k, kinds)

    def replay(self, s, kind, body):
        c = s.connect(s.pop3_port if kind == "pop3" else s.pop2_port)
        for n, line in enumerate(body.splitlines(), 1):
            where = "%s line %d: %r" % (kind, n, line)
            if line.startswith("C: "):
                c.send(line[3:] + "\r\n")
            elif line.startswith("S: ") or line == "S:":
                got = c.line()
                self.assertRegex(got, "^" + pattern(line[3:]) + "$", where)
            else:
                self.fail("neither C: nor S: in " + where)
        self.assertTrue(c.closed(), kind + ": the session did not end")
        self.assertEqual(c.buf, b"", kind + ": more than the tour shows")
        c.close()

    def test_sessions_and_trace_replay(self):
        demo = make_demo()
        with DemoServer(demo) as s:
            for kind, body in self.blocks:
                if kind != "trace":
                    self.replay(s, kind, body)
            deadline = time.time() + 5
            while time.time() < deadline and s.read_log().count(b"-- end: quit") < 3:
                time.sleep(0.05)
            log = s.read_log().decode("utf-8", "replace").splitlines()
        traces = [b for k, b in self.blocks if k == "trace"]
        for body in traces:
            for line in body.splitlines():
                rx = re.compile(r"^\S+ \S+ " + pattern(line) + "$")
                self.assertTrue(any(rx.match(l) for l in log),
                                "trace line not seen: %r" % line)
        self.assertNotIn("PASS demo", "\n".join(log))


if __name__ == "__main__":
    unittest.main()
