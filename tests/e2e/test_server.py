"""The daemon itself: session limits, isolation of sessions, IPv6."""
import os
import poplib
import re
import signal
import socket
import time
import unittest

from harness import Server, mbox_from, wire_form

MSG = b"Subject: hello\n\nbody\n"


def greeted(s, port=None):
    c = s.connect(port)
    return c, c.line()


class Limits(unittest.TestCase):
    def test_per_host_limit_refuses_with_one_line_then_recovers(self):
        with Server(mbox={"alice": mbox_from([MSG])},
                    extra_config="max_sessions_per_host 2") as s:
            a, ga = greeted(s)
            b, gb = greeted(s)
            self.assertTrue(ga.startswith("+OK") and gb.startswith("+OK"))
            c, gc = greeted(s)
            self.assertEqual(gc, "-ERR [SYS/TEMP] Too many sessions from your "
                                 "address; try again later")
            self.assertTrue(c.closed())
            a.cmd("QUIT")
            a.close()
            # The slot comes back once the session process has been reaped.
            for _ in range(50):
                d, gd = greeted(s)
                if gd.startswith("+OK"):
                    break
                d.close()
                time.sleep(0.1)
            self.assertTrue(gd.startswith("+OK"), gd)
            self.assertIn(b"refused 127.0.0.1", s.read_log())

    def test_total_limit_on_port_109_uses_its_error_form(self):
        with Server(mbox={"alice": mbox_from([MSG])},
                    extra_config="max_sessions 1") as s:
            a, ga = greeted(s, s.pop2_port)
            self.assertTrue(ga.startswith("+ POP2"), ga)
            b, gb = greeted(s, s.pop3_port)
            self.assertEqual(gb, "-ERR [SYS/TEMP] Too many sessions on this "
                                 "server; try again later")
            c, gc = greeted(s, s.pop2_port)
            self.assertEqual(gc, "- Too many sessions on this server; try "
                                 "again later")

    def test_maildrop_limits_show_the_oldest_and_keep_the_rest(self):
        msgs = [b"Subject: %d\n\nbody %d\n" % (i, i) for i in range(5)]
        with Server(mbox={"alice": mbox_from(msgs)},
                    extra_config="max_messages 2\n") as s:
            p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=10)
            p.user("alice")
            p.pass_("wonderland")
            self.assertEqual(p.stat()[0], 2)
            self.assertIn(b"Subject: 0", p.retr(1)[1])
            with self.assertRaises(poplib.error_proto):
                p.list(3)
            p.dele(1)
            p.dele(2)
            p.quit()
            self.assertTrue(s.wait_log(rb"login alice, 2 messages \(3 more beyond"))
            # POP2 sees the next two, from the same maildrop.
            c = s.connect(s.pop2_port)
            c.line()
            self.assertTrue(c.cmd("HELO alice wonderland").startswith("#2 "))
            self.assertTrue(c.cmd("READ 1").startswith("=%d " % len(wire_form(msgs[2]))))
            c.cmd("QUIT")
            with open(s.mailbox_path("alice"), "rb") as f:
                self.assertEqual(f.read(), mbox_from(msgs[2:]))

    def test_bad_limit_values_stop_the_server(self):
        for line in ("max_sessions 0", "max_sessions_per_host -1",
                     "max_sessions lots", "max_messages -1",
                     "max_maildrop_octets 1e9"):
            srv = Server(extra_config=line)
            try:
                with self.assertRaises(RuntimeError) as cm:
                    srv.start()
                self.assertIn(b"postoffice.conf:", str(cm.exception).encode())
            finally:
                srv.cleanup()


class Isolation(unittest.TestCase):
    def test_a_crashing_session_does_not_touch_another(self):
        with Server(mbox={"alice": mbox_from([MSG]),
                          "bob": mbox_from([MSG, MSG])},
                    users={"alice": "a", "bob": "b"}) as s:
            a = s.connect()
            a.line()
            b = s.connect()
            b.line()
            b.cmd("USER bob")
            self.assertTrue(b.cmd("PASS b").startswith("+OK"))
            time.sleep(0.2)
            pids = [int(p) for p in re.findall(rb"postoffice\[(\d+)\] pop3 [^:]+:\d+: connect",
                                                 s.read_log())]
            self.assertEqual(len(pids), 2)
            os.kill(pids[0], signal.SIGKILL)   # alice's session dies
            self.assertTrue(a.closed())
            self.assertEqual(b.cmd("STAT"), "+OK 2 " + str(2 * (len(MSG) + 3)))
            self.assertTrue(b.cmd("QUIT").startswith("+OK"))
            time.sleep(0.2)
            self.assertIn(b"killed by signal %d" % signal.SIGKILL, s.read_log())
            # The daemon still serves new clients.
            c = s.connect()
            self.assertTrue(c.line().startswith("+OK"))


class Addresses(unittest.TestCase):
    def test_ipv4_and_ipv6_listeners_at_once(self):
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 0))
            probe.close()
        except OSError as e:
            self.fail("this machine has no IPv6 loopback: %s" % e)
        with Server(mbox={"alice": mbox_from([MSG])},
                    extra_config="listen pop3 [::1]:0") as s:
            m = None
            for _ in range(50):
                m = re.search(rb"listening pop3 \[::1\]:(\d+)\n", s.read_log())
                if m:
                    break
                time.sleep(0.1)
            self.assertIsNotNone(m)
            c6 = socket.create_connection(("::1", int(m.group(1))), timeout=5)
            self.assertTrue(c6.recv(100).startswith(b"+OK POP3"))
            c4 = s.connect()
            self.assertTrue(c4.line().startswith("+OK POP3"))
