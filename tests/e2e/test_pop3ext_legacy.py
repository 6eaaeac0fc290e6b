"""RFC 1081 and Qpopper commands over a raw socket: LAST (the RFC 1081
example, RSET, what raises it, the switch), RPOP refused, XTND XMIT to a
fake sendmail (tests/data/fake-sendmail) and when not configured, XTND
XLST and EUIDL refused, TOP with 0 and with more lines than the body.
"""
import os
import pwd
import shutil
import tempfile
import unittest

from fixtures import PASSWORD, USER, Server, mbox_from, message, raw_login

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "data", "fake-sendmail")

MSGS = [message(b"m%d" % i, b"body %d\nline two\n" % i) for i in range(1, 5)]


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


class Last(unittest.TestCase):
    def test_rfc1081_example(self):
        # RFC 1081 LAST example, from a session that starts at 0 (no read
        # state persists): RETR and DELE raise it, RSET restores 0.
        with server() as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("STAT").startswith("+OK 4 "))
            self.assertEqual(c.cmd("LAST"), "+OK 0")
            self.assertTrue(c.cmd("RETR 3").startswith("+OK"))
            c.multiline()
            self.assertEqual(c.cmd("LAST"), "+OK 3")
            self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
            self.assertEqual(c.cmd("LAST"), "+OK 3")
            self.assertTrue(c.cmd("RSET").startswith("+OK"))
            self.assertEqual(c.cmd("LAST"), "+OK 0")

    def test_dele_raises_top_does_not(self):
        with server() as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("TOP 4 0").startswith("+OK"))
            c.multiline()
            self.assertEqual(c.cmd("LAST"), "+OK 0")
            self.assertTrue(c.cmd("DELE 4").startswith("+OK"))
            self.assertEqual(c.cmd("LAST"), "+OK 4")
            self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
            c.multiline()
            self.assertEqual(c.cmd("LAST"), "+OK 4")

    def test_not_before_login(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("LAST").startswith("-ERR"))

    def test_switched_off(self):
        with server(extra_config="last_command no\n") as s:
            c = raw_login(s)
            r = c.cmd("LAST")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.cmd("NOOP").startswith("+OK"))


class Rpop(unittest.TestCase):
    def test_refused_with_plain_err(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            r = c.cmd("RPOP alice")
            self.assertTrue(r.startswith("-ERR "), r)
            for word in ("lock", "wait", "[IN-USE]", "[SYS"):
                self.assertNotIn(word, r.lower() if word.islower() else r)
            # The USER is forgotten, as after a failed PASS.
            self.assertTrue(c.cmd("PASS wonderland").startswith("-ERR"))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))

    def test_refused_without_user(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("RPOP alice").startswith("-ERR"))


class XtndXmit(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="po-xmit-")
        self.out = os.path.join(self.tmp, "sent")
        self.fake = FAKE
        if os.geteuid() == 0:
            # Started as root, the command runs as the account the session
            # is served as when it comes: here the protocol process's,
            # nobody by default, since root owns these maildrops and the
            # session stays split (docs/privileges.md; a taken-over session
            # runs it as the mail's owner, test_privileges.py).  Either
            # may not be able to enter the checkout: it gets its own copy.
            nobody = pwd.getpwnam("nobody")
            self.bin = tempfile.mkdtemp(prefix="po-xmit-bin-")
            os.chmod(self.bin, 0o755)
            self.fake = os.path.join(self.bin, "fake-sendmail")
            shutil.copy(FAKE, self.fake)
            self.addCleanup(shutil.rmtree, self.bin)
            os.chmod(self.tmp, 0o755)
            os.chown(self.tmp, nobody.pw_uid, nobody.pw_gid)

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def config(self, status):
        return "xtnd_xmit_command %s %s %d -t -i\n" % (self.fake, self.out, status)

    def test_message_handed_to_the_command(self):
        with server(extra_config=self.config(0)) as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("XTND XMIT").startswith("+OK"))
            c.send("To: bob@example.org\r\nSubject: hi\r\n\r\n..dotted\r\n"
                   "plain\nbare lf\r\n.\r\n")
            self.assertTrue(c.line().startswith("+OK"))
            with open(self.out, "rb") as f:
                self.assertEqual(f.read(), b"To: bob@example.org\nSubject: hi\n\n"
                                 b".dotted\nplain\nbare lf\n")
            with open(self.out + ".args") as f:
                self.assertEqual(f.read(), "-t\n-i\n")
            # The session goes on.
            self.assertTrue(c.cmd("STAT").startswith("+OK 4 "))

    def test_failing_command_gets_err(self):
        with server(extra_config=self.config(1)) as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("xtnd xmit").startswith("+OK"))
            c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
            r = c.line()
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(os.path.exists(self.out))
            self.assertTrue(c.cmd("NOOP").startswith("+OK"))

    def test_missing_program_gets_err(self):
        cfg = "xtnd_xmit_command %s/no-such-program -t\n" % self.tmp
        with server(extra_config=cfg) as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("XTND XMIT").startswith("+OK"))
            c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
            self.assertTrue(c.line().startswith("-ERR"))

    def test_not_configured_sends_nothing(self):
        with server() as s:
            c = raw_login(s)
            r = c.cmd("XTND XMIT")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertIn("disabled", r)
            self.assertTrue(c.cmd("NOOP").startswith("+OK"))
            self.assertEqual(os.listdir(self.tmp), [])

    def test_not_before_login(self):
        with server(extra_config=self.config(0)) as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("XTND XMIT").startswith("-ERR"))
            self.assertFalse(os.path.exists(self.out))

    def test_bad_config_value_stops_the_server(self):
        srv = server(extra_config="xtnd_xmit_command sendmail -t\n")
        try:
            with self.assertRaises(RuntimeError) as cm:
                srv.start()
            self.assertIn(b"xtnd_xmit_command", str(cm.exception).encode())
        finally:
            srv.cleanup()


class Qpopper(unittest.TestCase):
    def test_xlst_and_euidl_refused_by_name(self):
        with server() as s:
            c = raw_login(s)
            r = c.cmd("XTND XLST From")
            self.assertTrue(r.startswith("-ERR") and "XLST" in r, r)
            r = c.cmd("EUIDL")
            self.assertTrue(r.startswith("-ERR") and "EUIDL" in r, r)
            r = c.cmd("XTND FOO")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.cmd("UIDL").startswith("+OK"))


class Top(unittest.TestCase):
    def test_zero_and_more_than_the_body(self):
        with server() as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("TOP 1 0").startswith("+OK"))
            header = MSGS[0].split(b"\n\n")[0].replace(b"\n", b"\r\n") + b"\r\n\r\n"
            self.assertEqual(c.multiline(), header)
            r = c.cmd("RETR 1")
            self.assertEqual(r, "+OK %d octets" % len(MSGS[0].replace(b"\n", b"\r\n")))
            whole = c.multiline()
            self.assertTrue(c.cmd("TOP 1 1000").startswith("+OK"))
            self.assertEqual(c.multiline(), whole)


if __name__ == "__main__":
    unittest.main()
