"""The command line of CONTRACT.md: --version, --help, usage errors,
config errors that name the file and line (and the server not starting),
`deliver` exit codes, and the demo default of `postoffice serve`."""
import os
import poplib
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from fixtures import BINARY, USER, Server, login, message, received, wire_form

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_CONFIG = 64, 65, 67, 75, 78


def run(*args, **kw):
    kw.setdefault("timeout", 20)
    return subprocess.run([BINARY] + list(args), capture_output=True, **kw)


class VersionHelpUsage(unittest.TestCase):
    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^postoffice \d+\.\d+\.\d+\n$")

    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for word in ("serve", "deliver", "--inetd", "-c FILE", "--version"):
            self.assertIn(word, out)

    def test_usage_errors(self):
        for args in ((), ("bogus",), ("serve", "--inetd", "pop5"),
                     ("serve", "-x"), ("deliver", "alice"), ("deliver", "-c")):
            r = run(*args)
            self.assertEqual(r.returncode, EX_USAGE, args)
            self.assertTrue(r.stderr.startswith((b"usage", b"postoffice: ")), args)
            self.assertEqual(r.stdout, b"")


class ConfigErrors(unittest.TestCase):
    """Every bad line: exit EX_CONFIG at once, "FILE:LINE:" in the message,
    and no listener ever opened."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="po-cli-")
        self.conf = os.path.join(self.dir, "postoffice.conf")
        self.good = ("# a comment\n\nlisten pop3 127.0.0.1:0\n"
                     "passwd %s/passwd\nmailbox %s/mail/%%u\n" % (self.dir, self.dir))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_bad(self, line, why=None):
        with open(self.conf, "w") as f:
            f.write(self.good + line + "\n")
        lineno = self.good.count("\n") + 1
        r = run("serve", "-c", self.conf)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, EX_CONFIG, (line, err))
        self.assertIn("%s:%d:" % (self.conf, lineno), err, line)
        self.assertNotIn("listening", err, line)
        if why:
            self.assertIn(why, err, line)
        # deliver reads the same file and refuses it the same way.
        r = run("deliver", "-c", self.conf, USER, input=b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, EX_CONFIG, line)

    def test_unknown_key(self):
        self.check_bad("colour blue", "unknown key")

    def test_bad_values(self):
        for line in ("listen pop3 127.0.0.1:99999", "listen pop4 127.0.0.1:0",
                     "listen pop3 localhost", "listen pop3 [::1]110",
                     "passwd relative/passwd", "mailbox mail/%u",
                     "timeout_idle 599", "timeout_idle ten", "timeout_login 0",
                     "timeout_login -5", "auth_fail_delay 60001",
                     "reuse_xuidl maybe", "hostname a b", "passwd"):
            self.check_bad(line)

    def test_missing_required_keys_and_missing_file(self):
        with open(self.conf, "w") as f:
            f.write("listen pop3 127.0.0.1:0\n")
        r = run("serve", "-c", self.conf)
        self.assertEqual(r.returncode, EX_CONFIG)
        self.assertIn(self.conf.encode(), r.stderr)
        r = run("serve", "-c", os.path.join(self.dir, "nope.conf"))
        self.assertEqual(r.returncode, EX_CONFIG)
        self.assertIn(b"nope.conf", r.stderr)

    def test_good_config_starts(self):
        with open(self.conf, "w") as f:
            f.write(self.good + "timeout_idle 600\ntimeout_login 30\n"
                    "listen pop3 [::1]:0\nreuse_xuidl no\n")
        p = subprocess.Popen([BINARY, "serve", "-c", self.conf],
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            log = wait_for(p, rb"postoffice ready")
            self.assertIn(b"listening pop3 127.0.0.1:", log)
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
            p.stderr.close()


def wait_for(proc, pattern, seconds=10):
    """Reads PROC's stderr until PATTERN shows; fails loudly otherwise."""
    buf = b""
    deadline = time.time() + seconds
    while not re.search(pattern, buf):
        if time.time() > deadline or proc.poll() is not None:
            raise AssertionError("no %r from the server: %r" % (pattern, buf))
        r, _, _ = select.select([proc.stderr], [], [], 0.2)
        if r:
            buf += os.read(proc.stderr.fileno(), 4096)
    return buf


class Deliver(unittest.TestCase):
    MSG = message(b"delivered", b"Hello from deliver.\n")

    def test_delivered_then_retrieved(self):
        with Server(mbox={}) as s:
            self.assertEqual(s.deliver(USER, self.MSG), 0)
            self.assertEqual(s.deliver(USER, self.MSG, sender="bob@example.org"), 0)
            p = login(s)
            self.assertEqual(p.stat()[0], 2)
            self.assertEqual(received(p.retr(1)[1]), wire_form(self.MSG))
            self.assertEqual(received(p.retr(2)[1]), wire_form(self.MSG))
            # Two identical deliveries still get distinct unique ids.
            uids = [l.split()[1] for l in p.uidl()[1]]
            self.assertEqual(len(set(uids)), 2)
            p.quit()

    def test_into_a_maildir(self):
        with Server(maildir={USER: []}) as s:
            self.assertEqual(s.deliver(USER, self.MSG), 0)
            self.assertEqual(len(os.listdir(os.path.join(s.mailbox_path(USER), "new"))), 1)
            p = login(s)
            self.assertEqual(received(p.retr(1)[1]), wire_form(self.MSG))
            p.quit()

    def test_no_such_user(self):
        with Server() as s:
            self.assertEqual(s.deliver("nosuchuser", self.MSG), EX_NOUSER)
            self.assertFalse(os.path.exists(s.mailbox_path("nosuchuser")))

    def test_malformed(self):
        with Server(mbox={}) as s:
            for bad in (b"", b"this is not a header line\n\nbody\n"):
                self.assertEqual(s.deliver(USER, bad), EX_DATAERR, bad)
            self.assertFalse(os.path.exists(s.mailbox_path(USER)))

    def test_temporary_failures(self):
        s = Server(mbox={})
        try:
            # A mailbox whose folder does not exist: the MTA should retry.
            with open(s.config, "a") as f:
                f.write("mailbox %s/no/such/dir/%%u\n" % s.dir)
            self.assertEqual(s.deliver(USER, self.MSG), EX_TEMPFAIL)
            # An unreadable user database is not "no such user".
            with open(s.config, "a") as f:
                f.write("passwd %s/missing-passwd\n" % s.dir)
            self.assertEqual(s.deliver(USER, self.MSG), EX_TEMPFAIL)
        finally:
            s.cleanup()


class Demo(unittest.TestCase):
    """`postoffice serve` without -c: the demo on fixed ports 1110/1109.
    It runs once in the suite; if the ports are taken it fails loudly."""

    def test_demo_default(self):
        d = tempfile.mkdtemp(prefix="po-demo-")
        env = dict(os.environ, POSTOFFICE_DEMO_DIR=d)
        p = subprocess.Popen([BINARY, "serve"], env=env, stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)
        try:
            wait_for(p, rb"listening pop3 127\.0\.0\.1:1110\n(.|\n)*"
                        rb"listening pop2 127\.0\.0\.1:1109\n")
            with open(os.path.join(d, "mail", "demo"), "rb") as f:
                stored = split_mbox(f.read())
            self.assertGreaterEqual(len(stored), 3)
            c = poplib.POP3("127.0.0.1", 1110, timeout=10)
            c.user("demo")
            c.pass_("demo")
            self.assertEqual(c.stat(), (len(stored), sum(len(wire_form(m)) for m in stored)))
            for n, m in enumerate(stored, 1):
                self.assertEqual(received(c.retr(n)[1]), wire_form(m))
            c.quit()
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
            p.stderr.close()
            shutil.rmtree(d, ignore_errors=True)


def split_mbox(data):
    """Messages of a simple mbox: each starts with a "From " line at the
    start of the file or after an empty line; the empty line before the
    next "From " line is the separator."""
    parts = re.split(rb"(?:^|\n\n)From [^\n]*\n", data)
    msgs = parts[1:]
    if msgs and msgs[-1].endswith(b"\n\n"):
        msgs[-1] = msgs[-1][:-1]
    return [m + b"\n" if not m.endswith(b"\n") else m for m in msgs]


if __name__ == "__main__":
    unittest.main()
