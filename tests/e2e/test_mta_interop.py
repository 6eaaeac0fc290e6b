"""The mbox locks interoperate with a real MTA's delivery agent: procmail
(from Debian) delivers into a maildrop while a POP3 session is open, and
procmail's own lockfile(1) dotlock keeps postoffice out while it is held."""
import os
import poplib
import subprocess
import tempfile
import time
import unittest

from harness import Server, mbox_from

USER, PASSWORD = "alice", "wonderland"
OLD = [b"Subject: old %d\n\nold body %d\n" % (i, i) for i in range(3)]
NEW = b"From: mta@example.org\nSubject: delivered by procmail\n\nnew body\n"


def procmail(mbox, message):
    with tempfile.NamedTemporaryFile("w", suffix=".rc") as rc:
        # An empty rcfile: procmail delivers to DEFAULT with its usual
        # locking (a dotlock plus a kernel lock on the mbox).
        p = subprocess.run(["procmail", "-f", "mta@example.org",
                            "DEFAULT=" + mbox, rc.name],
                           input=message, capture_output=True, timeout=60)
    return p.returncode


def login(s):
    p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    return p


class Procmail(unittest.TestCase):
    def test_delivery_during_a_session_survives_its_commit(self):
        with Server(mbox={USER: mbox_from(OLD)}) as s:
            mbox = s.mailbox_path(USER)
            p = login(s)
            self.assertEqual(p.stat()[0], 3)
            p.dele(1)
            # procmail appends while the session is open: the session does
            # not hold the MTA locks, so this must not block or fail.
            self.assertEqual(procmail(mbox, NEW), 0)
            self.assertEqual(p.stat()[0], 2, "the session's view is fixed at login")
            self.assertTrue(p.quit().startswith(b"+OK"))
            p = login(s)
            subjects = [b"\n".join(p.top(i, 0)[1]).split(b"Subject: ")[1].split(b"\n")[0]
                        for i in range(1, p.stat()[0] + 1)]
            p.quit()
            self.assertEqual(subjects, [b"old 1", b"old 2", b"delivered by procmail"])

    def test_postoffice_deliver_and_procmail_interleave(self):
        with Server(mbox={USER: mbox_from(OLD[:1])}) as s:
            mbox = s.mailbox_path(USER)
            for i in range(5):
                self.assertEqual(procmail(mbox, NEW), 0)
                self.assertEqual(s.deliver(USER, b"Subject: ours %d\n\nx\n" % i), 0)
            p = login(s)
            self.assertEqual(p.stat()[0], 11)
            for i in range(1, 12):
                self.assertTrue(p.retr(i)[0].startswith(b"+OK"))
            p.quit()


class Lockfile(unittest.TestCase):
    def test_a_held_dotlock_keeps_postoffice_out_until_released(self):
        with Server(mbox={USER: mbox_from(OLD)}) as s:
            mbox = s.mailbox_path(USER)
            lock = mbox + ".lock"
            self.assertEqual(subprocess.run(["lockfile", "-r0", lock]).returncode, 0)
            try:
                # Login must not read a maildrop the MTA may be writing.
                p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
                p.user(USER)
                with self.assertRaises(poplib.error_proto) as cm:
                    p.pass_(PASSWORD)
                self.assertIn(b"[SYS/TEMP]", cm.exception.args[0])
                for word in (b"lock", b"wait"):
                    self.assertNotIn(word, cm.exception.args[0].lower())
                p.quit()
                # deliver reports a temporary failure, so the MTA retries.
                self.assertEqual(s.deliver(USER, NEW), 75)
            finally:
                os.unlink(lock)
            p = login(s)
            self.assertEqual(p.stat()[0], 3)
            p.quit()
            self.assertEqual(s.deliver(USER, NEW), 0)
