"""Logging to syslog: config errors, and real datagrams on a socket that
stands in for the syslog daemon's /dev/log."""
import os
import re
import socket
import unittest

from harness import Server, mbox_from


class SyslogConfig(unittest.TestCase):
    def test_bad_values_name_the_file_and_line(self):
        for line, why in (("syslog_facility kern", b"mail, daemon or local0 to local7"),
                          ("syslog_facility local8", b"mail, daemon or local0 to local7"),
                          ("log journal", b"syslog or stderr"),
                          ("syslog_socket dev/log", b"absolute path")):
            srv = Server(extra_config=line)
            try:
                with self.assertRaises(RuntimeError) as cm:
                    srv.start()
                msg = str(cm.exception).encode()
                # The harness config has 7 lines before the extra one.
                self.assertRegex(msg, rb"postoffice\.conf:8: ", line)
                self.assertIn(why, msg, line)
            finally:
                srv.cleanup()


class SyslogDelivery(unittest.TestCase):
    def setUp(self):
        self.srv = None

    def start(self, facility_line, with_socket=True):
        srv = Server(mbox={"alice": mbox_from([b"Subject: x\n\nbody\n"])})
        self.path = os.path.join(srv.dir, "log.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        if with_socket:
            self.sock.bind(self.path)
        with open(srv.config, "a") as f:
            f.write("log syslog\nsyslog_socket %s\n%s\n" % (self.path, facility_line))
        self.srv = srv
        self.addCleanup(srv.cleanup)
        return srv

    def datagrams(self, until, timeout=5):
        self.sock.settimeout(timeout)
        got = []
        while not any(until in d for d in got):
            got.append(self.sock.recv(4096))
        return got

    def start_syslog(self, srv):
        # The harness reads the ports from stderr; with syslog they arrive
        # as datagrams instead, so read them there.
        import subprocess
        from harness import BINARY
        srv.proc = subprocess.Popen([BINARY, "serve", "-c", srv.config],
                                    stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        got = self.datagrams(b"postoffice ready")
        ports = dict(re.findall(rb"listening (pop3|pop2) [^ ]*:(\d+)", b"\n".join(got)))
        srv.pop3_port = int(ports[b"pop3"])
        srv.pop2_port = int(ports[b"pop2"])
        return got

    def test_lines_arrive_as_rfc3164_datagrams_with_the_facility(self):
        srv = self.start("syslog_facility local3")
        got = self.start_syslog(srv)
        # local3 (19) * 8 + info (6) = 158
        self.assertRegex(got[0], rb"^<158>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d "
                                 rb"postoffice\[\d+\]: listening pop3 127\.0\.0\.1:\d+$")
        c = srv.connect()
        self.assertTrue(c.line().startswith("+OK"))
        c.cmd("USER alice")
        c.cmd("PASS wonderland")
        c.cmd("QUIT")
        got = self.datagrams(b"end: user=alice")
        end = [d for d in got if b"end: user=alice" in d][0]
        self.assertRegex(end, rb"^<158>.* postoffice\[\d+\]: pop3 127\.0\.0\.1:\d+: end: "
                              rb"user=alice retrieved=0")
        self.assertEqual(srv.stop(), 0)
        # Nothing went to stderr while the socket answered.
        self.assertEqual(srv.read_log(), b"")

    def test_default_facility_is_mail_and_warnings_are_warnings(self):
        srv = self.start("max_sessions_per_host 1")
        self.start_syslog(srv)
        a = srv.connect()
        self.assertTrue(a.line().startswith("+OK"))
        b = srv.connect()
        self.assertTrue(b.line().startswith("-ERR [SYS/TEMP]"))
        got = self.datagrams(b"refused 127.0.0.1")
        # mail (2) * 8 + info (6) = 22; + warning (4) = 20
        self.assertTrue(got[0].startswith(b"<22>"), got[0])
        refused = [d for d in got if b"refused 127.0.0.1" in d][0]
        self.assertTrue(refused.startswith(b"<20>"), refused)

    def test_no_syslog_daemon_falls_back_to_stderr(self):
        srv = self.start("syslog_facility daemon", with_socket=False)
        srv.start()  # reads the ports from stderr: they must be there
        self.assertIn(b"syslog socket %s" % self.path.encode(), srv.log)
        self.assertIn(b"postoffice ready", srv.read_log())
