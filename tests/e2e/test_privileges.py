"""Privilege separation (docs/privileges.md), on the real daemon.

These tests need root, as CI runs them: they start the daemon as root
and look at the uids of its processes in /proc, and create two system
accounts (po-mail, po-sys) the first time.  Without root they fail with
that reason rather than pass without checking anything.
"""
import os
import poplib
import pwd
import subprocess
import tempfile
import time
import unittest

from harness import Server, children, chown_tree, mbox_from

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
    """(protocol process, monitor) of the daemon's one session."""
    proto = wait_for(lambda: children(server.proc.pid))
    assert len(proto) == 1, proto
    mon = wait_for(lambda: children(proto[0]))
    return proto[0], (mon[0] if mon else None)


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
            # Its monitor is root until a login; it never holds the client.
            self.assertEqual(ids(mon)[0], (0, 0, 0))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            self.assertEqual(ids(proto)[0], (n.pw_uid,) * 3)
            fds = os.listdir("/proc/%d/fd" % mon)
            sockets = [os.readlink("/proc/%d/fd/%s" % (mon, fd)) for fd in fds]
            self.assertEqual(len([x for x in sockets if x.startswith("socket:")]), 1,
                             "the monitor holds only its channel")
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_mail_served_as_the_passwd_files_uid(self):
        uid, gid = self.mail_uid, self.mail_gid
        s = self.server(users={}, passwd_lines=["carol:{PLAIN}pw:%d:%d::/x::" % (uid, gid)],
                        mbox={"carol": mbox_from([MSG, MSG.replace(b"hello", b"two")])})
        chown_tree(s.mail, uid, gid)
        with s:
            c, r = login(s, "carol", "pw")
            self.assertTrue(r.startswith("+OK 2 messages"), r)
            proto, mon = session_pids(s)
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
            proto, mon = session_pids(s)
            self.assertEqual(ids(mon)[0], (uid,) * 3)
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
                proto, mon = session_pids(s)
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
            self.assertTrue(first.cmd("QUIT").startswith("+OK"))
            second.cmd("USER alice")
            self.assertTrue(second.cmd("PASS wonderland").startswith("+OK 1 "))
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


if __name__ == "__main__":
    unittest.main()
