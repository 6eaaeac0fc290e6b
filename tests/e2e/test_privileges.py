"""Privilege separation (docs/privileges.md), on the real daemon.

These tests need root, as CI runs them: they start the daemon as root
and look at the uids of its processes in /proc, and create two system
accounts (po-mail, po-sys) the first time.  Without root they fail with
that reason rather than pass without checking anything.
"""
import glob
import os
import poplib
import signal
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, Server, children, chown_tree, mbox_from

# libfaketime (Debian package faketime, tests/deps.sh) runs the daemon's
# clock a hundred times fast, poll() timeouts included, so the ten-minute
# floor of timeout_idle takes six seconds.
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

MSG = b"From: a@example.org\nSubject: hello\n\nbody\n"


def account(name):
    """The uid and gid of system account NAME, created if missing."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", name], check=True)
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def ids(pid):
    """(real, effective, saved uid), (real, effective, saved gid) and the
    supplementary groups of process PID."""
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    uids = tuple(int(x) for x in fields["Uid"].split()[:3])
    gids = tuple(int(x) for x in fields["Gid"].split()[:3])
    groups = tuple(int(x) for x in fields["Groups"].split())
    return uids, gids, groups


def wait_for(fn, timeout=5):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        time.sleep(0.05)


def session_pids(server):
    """(protocol process, monitor) of the daemon's one session: the
    monitor is the daemon's child and the protocol process the monitor's;
    after a POP3 takeover the protocol process is None."""
    mon = wait_for(lambda: children(server.proc.pid))
    assert len(mon) == 1, mon
    proto = children(mon[0])
    assert len(proto) <= 1, proto
    return (proto[0] if proto else None), mon[0]


def taken_over(server):
    """The one process left of the daemon's one session after a POP3
    takeover (the protocol process exits at the monitor's reply)."""
    mon = wait_for(lambda: children(server.proc.pid))
    assert len(mon) == 1, mon
    assert wait_for(lambda: not children(mon[0])), "the protocol process is still there"
    return mon[0]


def alive(pid):
    """Whether PID is a process that has not ended (a zombie has)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def login(server, user, password, port=None):
    """A raw connection past its greeting, and the reply to USER/PASS."""
    c = server.connect(port)
    c.line()
    c.cmd("USER " + user)
    return c, c.cmd("PASS " + password)


class Privileges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("test_privileges needs root (as CI runs it): "
                                 "it checks what a root daemon drops")
        cls.nobody = pwd.getpwnam("nobody")
        cls.mail_uid, cls.mail_gid = account("po-mail")
        cls.sys_uid, cls.sys_gid = account("po-sys")

    def server(self, **kw):
        s = Server(**kw)
        os.chmod(s.dir, 0o755)
        return s

    def test_protocol_process_is_user_before_the_first_byte(self):
        with self.server(mbox={"alice": mbox_from([MSG])}) as s:
            c = s.connect()
            self.assertTrue(c.line().startswith("+OK"))
            proto, mon = session_pids(s)
            n = self.nobody
            self.assertEqual(ids(proto), ((n.pw_uid,) * 3, (n.pw_gid,) * 3, (n.pw_gid,)))
            # Its monitor, the daemon's child, is root until a login.
            self.assertEqual(ids(mon)[0], (0, 0, 0))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            # alice has no account and root owns her mbox: her mail is
            # served as uid 0, so the session is not taken over and the
            # protocol process stays `user` to the end.
            self.assertEqual(session_pids(s), (proto, mon))
            self.assertEqual(ids(proto)[0], (n.pw_uid,) * 3)
            self.assertTrue(s.wait_log(rb"mail of alice served as uid 0"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_mail_served_as_the_passwd_files_uid(self):
        uid, gid = self.mail_uid, self.mail_gid
        s = self.server(users={}, passwd_lines=["carol:{PLAIN}pw:%d:%d::/x::" % (uid, gid)],
                        mbox={"carol": mbox_from([MSG, MSG.replace(b"hello", b"two")])})
        chown_tree(s.mail, uid, gid)
        with s:
            c, r = login(s, "carol", "pw")
            self.assertTrue(r.startswith("+OK 2 messages"), r)
            # Taken over: one process, carol's account for good.
            mon = taken_over(s)
            self.assertEqual(ids(mon), ((uid,) * 3, (gid,) * 3, (gid,)))
            self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            self.assertTrue(s.wait_log(rb"mail of carol served as uid %d \(the uid and gid"
                                       % uid))
            # The rewritten mbox is still carol's account's, not root's.
            st = os.stat(s.mailbox_path("carol"))
            self.assertEqual((st.st_uid, st.st_gid), (uid, gid))
            with open(s.mailbox_path("carol"), "rb") as f:
                self.assertEqual(f.read(), mbox_from([MSG.replace(b"hello", b"two")]))

    def test_uid_0_login_refused(self):
        with self.server(users={}, passwd_lines=["toor:{PLAIN}pw:0:0"],
                         mbox={"toor": mbox_from([MSG])}) as s:
            c, r = login(s, "toor", "pw")
            self.assertTrue(r.startswith("-ERR [SYS/PERM]"), r)
            self.assertTrue(s.wait_log(rb"login toor refused: it would run as uid 0"))
            # Port 109 refuses it the same way, with its own error.
            c2 = s.connect(s.pop2_port)
            c2.line()
            self.assertTrue(c2.cmd("HELO toor pw").startswith("-"))
            with open(s.mailbox_path("toor"), "rb") as f:
                self.assertEqual(f.read(), mbox_from([MSG]))

    def test_mail_user_for_virtual_users(self):
        uid, gid = self.mail_uid, self.mail_gid
        s = self.server(maildir={"alice": [MSG, MSG]}, extra_config="mail_user po-mail\n")
        chown_tree(s.mail, uid, gid)
        with s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=10)
            p.user("alice")
            p.pass_("wonderland")
            mon = taken_over(s)
            self.assertEqual(ids(mon), ((uid,) * 3, (gid,) * 3, (gid,)))
            self.assertEqual(p.retr(2)[1][1], b"Subject: hello")
            p.dele(1)
            p.quit()
            names = os.listdir(os.path.join(s.mailbox_path("alice"), "new")) + \
                os.listdir(os.path.join(s.mailbox_path("alice"), "cur"))
            self.assertEqual(len(names), 1)

    def test_system_account_and_maildrop_owner(self):
        s = self.server(users={"po-sys": "pw", "dave": "pw"},
                        mbox={"po-sys": mbox_from([MSG]), "dave": mbox_from([MSG])})
        chown_tree(s.mailbox_path("po-sys"), self.sys_uid, self.sys_gid)
        chown_tree(s.mailbox_path("dave"), self.mail_uid, self.mail_gid)
        os.chmod(s.mail, 0o1777)  # lock files, as in a /var/mail of group mail
        with s:
            for user, uid in (("po-sys", self.sys_uid), ("dave", self.mail_uid)):
                c, r = login(s, user, "pw")
                self.assertTrue(r.startswith("+OK"), r)
                mon = taken_over(s)
                self.assertEqual(ids(mon)[0], (uid,) * 3, user)
                self.assertTrue(c.cmd("QUIT").startswith("+OK"))
                wait_for(lambda: not children(s.proc.pid))
            self.assertTrue(s.wait_log(rb"mail of po-sys served as uid %d \(the system account"
                                       % self.sys_uid))
            self.assertTrue(s.wait_log(rb"mail of dave served as uid %d \(the owner"
                                       % self.mail_uid))

    def test_in_use_leaves_the_login_retryable(self):
        uid, gid = self.mail_uid, self.mail_gid
        s = self.server(mbox={"alice": mbox_from([MSG])}, extra_config="mail_user po-mail\n")
        chown_tree(s.mail, uid, gid)
        with s:
            first, r = login(s, "alice", "wonderland")
            self.assertTrue(r.startswith("+OK"), r)
            second, r = login(s, "alice", "wonderland")
            self.assertTrue(r.startswith("-ERR [IN-USE]"), r)
            # Refused, the second session is still split, its monitor
            # root again.
            mons = children(s.proc.pid)
            self.assertEqual(len(mons), 2)
            split = [m for m in mons if children(m)]
            self.assertEqual(len(split), 1)
            self.assertEqual(ids(split[0])[0], (0, 0, 0))
            self.assertTrue(first.cmd("QUIT").startswith("+OK"))
            second.cmd("USER alice")
            self.assertTrue(second.cmd("PASS wonderland").startswith("+OK 1 "))
            mon = taken_over(s)
            self.assertEqual(mon, split[0])
            self.assertEqual(ids(mon)[0], (uid,) * 3)
            self.assertTrue(second.cmd("QUIT").startswith("+OK"))

    def test_chroot(self):
        jail = tempfile.mkdtemp(prefix="po-jail-")
        os.chmod(jail, 0o755)
        try:
            with self.server(mbox={"alice": mbox_from([MSG])},
                             extra_config="chroot %s\nuser po-sys\n" % jail) as s:
                c = s.connect()
                c.line()
                proto, mon = session_pids(s)
                self.assertEqual(os.readlink("/proc/%d/root" % proto), jail)
                self.assertEqual(ids(proto)[0], (self.sys_uid,) * 3)
                self.assertEqual(os.readlink("/proc/%d/root" % mon), "/")
                c.cmd("USER alice")
                # Served as uid 0 (root owns the mbox): stays split, so
                # RETR below is read inside the jail.
                self.assertTrue(c.cmd("PASS wonderland").startswith("+OK 1 "))
                c.send("RETR 1\r\n")
                self.assertTrue(c.line().startswith("+OK"))
                self.assertIn(b"Subject: hello", c.multiline())
                self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        finally:
            os.rmdir(jail)

    def test_bad_accounts_stop_the_start(self):
        for line, why in (("user no-such-account-here", rb"no system account"),
                          ("user root", rb"is root"),
                          ("mail_user root", rb"is root"),
                          ("chroot /no/such/dir", rb"not a directory")):
            s = self.server(extra_config=line + "\n")
            try:
                with self.assertRaises(RuntimeError) as ctx:
                    s.start()
                self.assertRegex(str(ctx.exception).encode(), why)
            finally:
                s.cleanup()

    def test_started_as_an_ordinary_user_nothing_is_split(self):
        uid, gid = self.mail_uid, self.mail_gid
        s = Server(mbox={"alice": mbox_from([MSG, MSG])})
        try:
            s.start(run_as=(uid, gid))
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=10)
            p.user("alice")
            p.pass_("wonderland")
            proto = wait_for(lambda: children(s.proc.pid))
            self.assertEqual(len(proto), 1)
            self.assertEqual(ids(proto[0])[0], (uid,) * 3)
            self.assertEqual(children(proto[0]), [], "no monitor without root")
            self.assertEqual(p.stat(), (2, 2 * len(MSG.replace(b"\n", b"\r\n"))))
            p.dele(1)
            p.quit()
            self.assertNotIn(b"privilege separation", s.read_log())
        finally:
            s.cleanup()


class Takeover(unittest.TestCase):
    """A POP3 login hands the session to its monitor, which serves it on
    alone as the mail's owner (src/privsep.h): what the session was must
    go on exactly as it would have, and what ends a session still ends
    this one."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("test_privileges needs root (as CI runs it)")
        cls.uid, cls.gid = account("po-mail")

    def server(self, msgs=(MSG,), extra=""):
        """Alice's mbox, served as po-mail (so a login is taken over)."""
        s = Server(mbox={"alice": mbox_from(list(msgs))},
                   extra_config="mail_user po-mail\n" + extra)
        os.chmod(s.dir, 0o755)
        chown_tree(s.mail, self.uid, self.gid)
        return s

    def test_pipelined_commands_cross_the_takeover(self):
        with self.server(msgs=(MSG, MSG)) as s:
            c = s.connect()
            c.line()
            # One packet: what follows PASS was already read by the
            # protocol process when it handed the session over.
            c.send("USER alice\r\nPASS wonderland\r\nSTAT\r\nLIST\r\n")
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK 2 messages"))
            size = len(MSG.replace(b"\n", b"\r\n"))
            self.assertEqual(c.line(), "+OK 2 %d" % (2 * size))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertEqual(c.multiline(), b"1 %d\r\n2 %d\r\n" % (size, size))
            self.assertEqual(ids(taken_over(s))[0], (self.uid,) * 3)
            self.assertTrue(c.cmd("NOOP").startswith("+OK"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_bare_cr_line_end_across_the_takeover(self):
        # PASS ends with a bare CR; its LF comes in the next packet, to
        # the process that took over, and must still be skipped.
        with self.server() as s:
            c = s.connect()
            c.line()
            c.send("USER alice\r\nPASS wonderland\r")
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK 1 messages"))
            taken_over(s)
            c.send("\nSTAT\r\n")
            self.assertTrue(c.line().startswith("+OK 1 "))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_sigterm_ends_every_session_and_leaves_nothing(self):
        s = self.server()
        s.start()
        try:
            c, r = login(s, "alice", "wonderland")
            self.assertTrue(r.startswith("+OK"), r)
            done = taken_over(s)
            # And one still split, before its login.
            d = s.connect()
            d.line()
            mons = wait_for(lambda: [m for m in children(s.proc.pid) if m != done])
            proto = wait_for(lambda: children(mons[0]))
            pids = [done, mons[0], proto[0]]
            s.stop()
            self.assertTrue(c.closed())
            self.assertTrue(d.closed())
            self.assertTrue(wait_for(lambda: not any(alive(p) for p in pids)),
                            [p for p in pids if alive(p)])
            self.assertRegex(s.read_log(), rb"end: user=alice .*how=stopped")
        finally:
            s.cleanup()

    def check_port_109_stopped(self, commands):
        """A port-109 session after its login stays split, its monitor the
        mail's owner and so unable to signal `user`'s protocol process:
        the daemon's SIGTERM must still end it as a stop, said to the
        client and logged as such, and delete nothing."""
        s = self.server()
        s.start()
        try:
            with open(s.mailbox_path("alice"), "rb") as f:
                before = f.read()
            c = s.connect(s.pop2_port)
            c.line()
            for cmd, want in commands:
                r = c.cmd(cmd)
                self.assertTrue(r.startswith(want), (cmd, r))
            proto, mon = session_pids(s)
            self.assertEqual(ids(mon)[0], (self.uid,) * 3)
            s.stop()
            self.assertRegex(c.line(), r"^- ?(ERR )?Server shutting down")
            self.assertTrue(c.closed())
            self.assertTrue(wait_for(lambda: not alive(proto) and not alive(mon)))
            log = s.read_log()
            self.assertRegex(log, rb"end: user=alice .*how=stopped")
            self.assertNotRegex(log, rb"how=disconnected")
            with open(s.mailbox_path("alice"), "rb") as f:
                self.assertEqual(f.read(), before)
        finally:
            s.cleanup()

    def test_sigterm_ends_a_pop2_session_as_stopped(self):
        self.check_port_109_stopped([("HELO alice wonderland", "#1"), ("READ", "=")])

    def test_sigterm_ends_a_pop1_session_as_stopped(self):
        self.check_port_109_stopped([("USER alice", "+OK"), ("PASS wonderland", "+OK"),
                                     ("RDEL alice", "#")])

    def test_idle_timeout_closes_a_taken_over_session(self):
        if not os.path.exists(FAKETIME):
            raise AssertionError("needs libfaketime (tests/deps.sh installs faketime)")
        s = self.server(extra="timeout_idle 600\ntimeout_login 3000\n")
        try:
            # Under AddressSanitizer (make check SANITIZE=...) its
            # runtime would refuse a library preloaded before it.
            asan = os.environ.get("ASAN_OPTIONS", "")
            s.start(env={"LD_PRELOAD": FAKETIME, "FAKETIME": "+0 x100",
                         "ASAN_OPTIONS": asan + (":" if asan else "")
                         + "verify_asan_link_order=0"})
            c, r = login(s, "alice", "wonderland")
            self.assertTrue(r.startswith("+OK"), r)
            mon = taken_over(s)
            self.assertTrue(c.closed(timeout=30))
            self.assertTrue(s.wait_log(rb"end: user=alice .*how=timeout"))
            self.assertTrue(wait_for(lambda: not alive(mon)))
        finally:
            s.cleanup()

    def test_max_sessions_counts_a_taken_over_session(self):
        with self.server(extra="max_sessions 1\n") as s:
            c, r = login(s, "alice", "wonderland")
            self.assertTrue(r.startswith("+OK"), r)
            taken_over(s)
            refused = s.connect()
            self.assertTrue(refused.line().startswith("-ERR [SYS/TEMP]"))
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            self.assertTrue(wait_for(lambda: not children(s.proc.pid)))
            again = s.connect()
            self.assertTrue(again.line().startswith("+OK"))

    def test_end_line_names_the_user_and_every_octet(self):
        with self.server() as s:
            c = s.connect()
            sent = received = 0
            greeting = c.line()
            received += len(greeting) + 2
            for cmd in ("USER alice", "PASS wonderland", "RETR 1", "QUIT"):
                c.send(cmd + "\r\n")
                sent += len(cmd) + 2
                line = c.line()
                received += len(line) + 2
                if cmd == "RETR 1":
                    received += len(c.multiline()) + 3  # and ".\r\n"
            self.assertTrue(c.closed())
            m = s.wait_log(rb"end: user=(\S+) retrieved=(\d+) .*in=(\d+) out=(\d+) how=quit")
            self.assertIsNotNone(m, s.read_log())
            self.assertEqual(m.group(1), b"alice")
            self.assertEqual(int(m.group(2)), 1)
            self.assertEqual((int(m.group(3)), int(m.group(4))), (sent, received))
            # One end: line for the session, from the process that served it.
            self.assertEqual(len(re.findall(rb"end: ", s.read_log())), 1)

    def test_trace_goes_on_after_the_takeover(self):
        folder = tempfile.mkdtemp(prefix="po-trace-")
        try:
            with self.server(extra="trace %s\n" % folder) as s:
                c = s.connect()
                c.line()
                c.send("USER alice\r\nPASS wonderland\r\nSTAT\r\n")
                c.line()
                c.line()
                self.assertTrue(c.line().startswith("+OK 1 "))
                self.assertTrue(c.cmd("QUIT").startswith("+OK"))
                self.assertTrue(c.closed())
                s.wait_log(rb"end: ")
            (name,) = glob.glob(os.path.join(folder, "*"))
            with open(name) as f:
                text = f.read()
            order = ["C: USER alice", "C: PASS ********", "-- AUTHORIZATION -> TRANSACTION",
                     "S: +OK 1 messages", "C: STAT", "S: +OK 1 ", "C: QUIT",
                     "-- end: quit"]
            at = 0
            for want in order:
                found = text.find(want, at)
                self.assertGreaterEqual(found, 0, "%r after %d in %s" % (want, at, text))
                at = found + len(want)
            self.assertNotIn("wonderland", text)
        finally:
            shutil.rmtree(folder)

    def test_xtnd_xmit_runs_as_the_mails_owner(self):
        tmp = tempfile.mkdtemp(prefix="po-xmit-")
        try:
            os.chmod(tmp, 0o755)
            out = os.path.join(tmp, "out")
            script = os.path.join(tmp, "whoami-sendmail")
            with open(script, "w") as f:
                f.write("#!/bin/sh\nid -u > %s.uid\ncat > %s\n" % (out, out))
            os.chmod(script, 0o755)
            os.chown(tmp, self.uid, self.gid)
            with self.server(extra="xtnd_xmit_command %s -t\n" % script) as s:
                c, r = login(s, "alice", "wonderland")
                self.assertTrue(r.startswith("+OK"), r)
                taken_over(s)
                self.assertTrue(c.cmd("XTND XMIT").startswith("+OK"))
                c.send("To: bob@example.org\r\n\r\nhi\r\n.\r\n")
                self.assertTrue(c.line().startswith("+OK"))
                with open(out + ".uid") as f:
                    self.assertEqual(int(f.read()), self.uid)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), b"To: bob@example.org\n\nhi\n")
                self.assertTrue(c.cmd("QUIT").startswith("+OK"))
        finally:
            shutil.rmtree(tmp)

    def test_port_109_stays_split(self):
        with self.server() as s:
            c = s.connect(s.pop2_port)
            c.line()
            self.assertTrue(c.cmd("HELO alice wonderland").startswith("#1"))
            proto, mon = session_pids(s)
            self.assertIsNotNone(proto)
            n = pwd.getpwnam("nobody")
            self.assertEqual(ids(proto)[0], (n.pw_uid,) * 3)
            self.assertEqual(ids(mon)[0], (self.uid,) * 3)
            self.assertTrue(c.cmd("QUIT").startswith("+"))


class InetdParent(unittest.TestCase):
    """Under --inetd the session inherits its parent's signal dispositions.
    An inetd (or a shell, or a supervisor) that set SIGCHLD to SIG_IGN
    makes the kernel reap children at once, so every waitpid() of the
    monitor (its protocol process, its credential checks and account
    look-ups) would fail with ECHILD: the session must not depend on
    what its parent left."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("test_privileges needs root (as CI runs it)")
        cls.uid, cls.gid = account("po-mail")

    def run_inetd(self, proto, script, sigchld):
        s = Server(mbox={"alice": mbox_from([MSG])},
                   extra_config="mail_user po-mail\n")
        try:
            os.chmod(s.dir, 0o755)
            chown_tree(s.mail, self.uid, self.gid)

            def parent_dispositions():
                signal.signal(signal.SIGCHLD, sigchld)
            p = subprocess.run([BINARY, "serve", "-c", s.config, "--inetd", proto],
                               input=script, capture_output=True, timeout=30,
                               preexec_fn=parent_dispositions)
            with open(s.mailbox_path("alice"), "rb") as f:
                left = f.read()
            return p, left
        finally:
            s.cleanup()

    def check_pop3(self, sigchld):
        p, left = self.run_inetd("pop3", b"USER alice\r\nPASS wonderland\r\n"
                                          b"RETR 1\r\nDELE 1\r\nQUIT\r\n", sigchld)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.split(b"\r\n")
        self.assertTrue(lines[1].startswith(b"+OK"), p.stdout)
        self.assertTrue(lines[2].startswith(b"+OK 1 messages"), p.stdout)
        self.assertIn(b"\r\nbody\r\n.\r\n+OK", p.stdout)
        self.assertRegex(p.stdout, rb"\+OK [^\r]*signing off[^\r]*\r\n$")
        self.assertEqual(left, b"")
        self.assertRegex(p.stderr, rb"end: user=alice retrieved=1 .*how=quit")
        self.assertNotRegex(p.stderr, rb"(?i)error|warn|ECHILD|No child")

    def check_pop2(self, sigchld):
        p, left = self.run_inetd("pop2", b"HELO alice wonderland\r\nREAD\r\nRETR\r\n"
                                          b"ACKD\r\nQUIT\r\n", sigchld)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, rb"\r\n#1[^\r]*\r\n=\d+[^\r]*\r\n")
        self.assertIn(b"\r\nbody\r\n", p.stdout)
        self.assertEqual(left, b"")
        self.assertRegex(p.stderr, rb"end: user=alice retrieved=1 .*deleted=1 .*how=quit")
        self.assertNotRegex(p.stderr, rb"(?i)error|warn|ECHILD|No child")

    def test_pop3_with_sigchld_ignored(self):
        self.check_pop3(signal.SIG_IGN)

    def test_pop2_with_sigchld_ignored(self):
        self.check_pop2(signal.SIG_IGN)

    def test_pop3_with_sigchld_default(self):
        self.check_pop3(signal.SIG_DFL)


if __name__ == "__main__":
    unittest.main()
